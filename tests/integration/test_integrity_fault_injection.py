"""Fault injection: a privileged attacker drops the guards and tampers with a healthy demo Bucket.

Each tampering is applied to a fresh copy of the same healthy, checkpointed database; the audit-integrity
check must report it at exactly its place (sequence number, artifact version or payload) — and nothing
else: the places it reports are the tampered ones plus the artifact versions whose entry the tampering
took away. Untouched copies report nothing. SQLite for every kind; PostgreSQL for a subset.
"""

from __future__ import annotations

import random
import shutil
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from bucket_governance.checks.integrity import IntegrityOptions, IntegrityResult, Signer, run_integrity_check
from bucket_governance.db import make_engine, upgrade_to_head
from bucket_governance.db.guards import drop_guard_statements
from bucket_governance.demo import generate_demo
from bucket_governance.ledger.canonical import LedgerEntry, chain_hash
from bucket_governance.ledger.checkpoint import generate_signing_key, load_signing_key
from bucket_governance.policy import LoadedPolicy

pytestmark = pytest.mark.integration

END_US = 1_800_000_000_000_000
HOUR_US = 3_600_000_000
KEY_NAME = "bucket-governance"


@dataclass(frozen=True)
class Healthy:
    path: Path
    signer: Signer
    head: int
    checkpoint_size: int


def _check(
    engine: Engine, policy: LoadedPolicy, signer: Signer, *, full: bool = True, hour: int = 1
) -> IntegrityResult:
    return run_integrity_check(
        engine,
        policy,
        window_start_us=END_US + hour * HOUR_US,
        window_end_us=END_US + (hour + 1) * HOUR_US,
        signer=signer,
        options=IntegrityOptions(full=full, rehash_period_runs=4),
    )


@pytest.fixture(scope="module")
def healthy(tmp_path_factory: pytest.TempPathFactory, policy: LoadedPolicy) -> Healthy:
    folder = tmp_path_factory.mktemp("healthy")
    generate_signing_key(folder / "signing.key", KEY_NAME)
    signer = Signer(load_signing_key(folder / "signing.key"), KEY_NAME)
    engine = make_engine(f"sqlite:///{folder / 'bucket.db'}")
    upgrade_to_head(engine)
    result = generate_demo(engine, policy, seed=11, days=3, scale=0.1, end_us=END_US)
    first = _check(engine, policy, signer, full=False, hour=0)
    engine.dispose()  # closes the WAL into the file, so a plain copy is a consistent database
    assert first.ok and first.checkpoint["signed"], first.summary()
    return Healthy(folder / "bucket.db", signer, result.ledger_entries, first.checkpoint["tree_size"])


@pytest.fixture
def copy(healthy: Healthy, tmp_path: Path) -> Iterator[Path]:
    target = tmp_path / "copy.db"
    shutil.copy(healthy.path, target)
    yield target


# -- the attacker: raw SQLite, guards dropped, foreign keys off (the default of a bare connection) -----------


def _attack(path: Path, statements: Callable[[sqlite3.Connection], None]) -> None:
    db = sqlite3.connect(path)
    for statement in drop_guard_statements("sqlite"):
        db.execute(statement)
    statements(db)
    db.commit()
    db.close()


def _row(db: sqlite3.Connection, seq: int) -> dict[str, object]:
    db.row_factory = sqlite3.Row
    row = db.execute("SELECT * FROM ledger_entries WHERE seq = ?", (seq,)).fetchone()
    db.row_factory = None
    return dict(row)


def _artifacts_at(path: Path, seqs: list[int]) -> set[str]:
    db = sqlite3.connect(path)
    marks = ",".join("?" * len(seqs))
    rows = db.execute(f"SELECT artifact_id, version FROM artifact_versions WHERE ledger_seq IN ({marks})", seqs)
    found = {f"artifact:{a}@{v}" for a, v in rows}
    db.close()
    return found


def _seqs(path: Path, where: str) -> list[int]:
    db = sqlite3.connect(path)
    seqs = [int(s) for (s,) in db.execute(f"SELECT seq FROM ledger_entries WHERE {where} ORDER BY seq")]
    db.close()
    return seqs


# Each tampering returns the places the check must name (beyond the artifacts whose entry it took away).


def change_field(path: Path, rng: random.Random, healthy: Healthy) -> tuple[set[str], list[int]]:
    seq = rng.randint(1, healthy.head)
    _attack(path, lambda db: db.execute("UPDATE ledger_entries SET actor_id = 'mallory' WHERE seq = ?", (seq,)))
    return {f"seq:{seq}"}, []


def delete_entry(path: Path, rng: random.Random, healthy: Healthy) -> tuple[set[str], list[int]]:
    seq = rng.randint(2, healthy.head - 1)
    lost = _artifacts_at(path, [seq])
    _attack(path, lambda db: db.execute("DELETE FROM ledger_entries WHERE seq = ?", (seq,)))
    return {f"seq:{seq}"} | lost, []


def swap_entries(path: Path, rng: random.Random, healthy: Healthy) -> tuple[set[str], list[int]]:
    a, b = sorted(rng.sample(range(1, healthy.head + 1), 2))
    lost = _artifacts_at(path, [a, b])

    def swap(db: sqlite3.Connection) -> None:
        row_a, row_b = _row(db, a), _row(db, b)
        columns = [c for c in row_a if c != "seq"]
        for seq, values in ((a, {**row_a, "prev_hash": "x", "entry_hash": "y"}), (b, row_a), (a, row_b)):
            assignments = ", ".join(f"{c} = ?" for c in columns)
            db.execute(f"UPDATE ledger_entries SET {assignments} WHERE seq = ?", [values[c] for c in columns] + [seq])

    _attack(path, swap)
    return {f"seq:{a}", f"seq:{b}"} | lost, []


def forge_entry(path: Path, rng: random.Random, healthy: Healthy) -> tuple[set[str], list[int]]:
    """A forged CREATE chained correctly onto the head, for an artifact version that does not exist."""
    template = rng.choice(_seqs(path, "operation = 'CREATE' AND decision = 'ALLOW'"))
    forged_id = f"forged-{rng.randrange(10**6)}"

    def forge(db: sqlite3.Connection) -> None:
        head, row = _row(db, healthy.head), _row(db, template)
        entry = LedgerEntry(
            seq=healthy.head + 1,
            recorded_at_us=int(head["recorded_at_us"]) + 1_000,  # type: ignore[call-overload]
            operation="CREATE",
            decision="ALLOW",
            reasons=(),
            actor_id=row["actor_id"],  # type: ignore[arg-type]
            integration_id=row["integration_id"],  # type: ignore[arg-type]
            product_id=row["product_id"],  # type: ignore[arg-type]
            artifact_id=forged_id,
            version=1,
            content_hash=row["content_hash"],  # type: ignore[arg-type]
            policy_fingerprint=row["policy_fingerprint"],  # type: ignore[arg-type]
            details={},
        )
        canonical, reasons, details = entry.canonical_parts()
        values = {**entry.__dict__, "reasons": reasons, "details": details, "prev_hash": head["entry_hash"]}
        values["entry_hash"] = chain_hash(str(head["entry_hash"]), canonical)
        names = ", ".join(values)
        db.execute(
            f"INSERT INTO ledger_entries ({names}) VALUES ({', '.join('?' * len(values))})", list(values.values())
        )

    _attack(path, forge)
    return {f"artifact:{forged_id}@1"}, []


def truncate_tail(path: Path, rng: random.Random, healthy: Healthy) -> tuple[set[str], list[int]]:
    first = rng.randint(healthy.checkpoint_size - 20, healthy.checkpoint_size)
    lost = _artifacts_at(path, list(range(first, healthy.head + 1)))
    _attack(path, lambda db: db.execute("DELETE FROM ledger_entries WHERE seq >= ?", (first,)))
    return {f"seq:{first}"} | lost, []


def change_payload(path: Path, rng: random.Random, healthy: Healthy) -> tuple[set[str], list[int]]:
    db = sqlite3.connect(path)
    target = rng.choice([h for (h,) in db.execute("SELECT content_hash FROM payloads ORDER BY content_hash")])
    db.close()
    _attack(path, lambda db: db.execute("UPDATE payloads SET data = data || x'00' WHERE content_hash = ?", (target,)))
    return {f"payload:{target}"}, []


def version_without_entry(path: Path, rng: random.Random, healthy: Healthy) -> tuple[set[str], list[int]]:
    """An artifact version inserted around the gate, pointing at an entry that records something else."""
    unused = _seqs(path, "seq NOT IN (SELECT ledger_seq FROM artifact_versions)")
    seq = rng.choice(unused)
    new_id = f"smuggled-{rng.randrange(10**6)}"

    def smuggle(db: sqlite3.Connection) -> None:
        db.execute(
            "INSERT INTO artifact_versions SELECT ?, 1, product_id, artifact_class, owner_id, created_by, "
            "integration_id, created_at_us, claimed_at_us, content_hash, size_bytes, reference_url, metadata, "
            "provenance, schema_version, ? FROM artifact_versions LIMIT 1",
            (new_id, seq),
        )

    _attack(path, smuggle)
    return {f"artifact:{new_id}@1"}, []


def backdate_entry(path: Path, rng: random.Random, healthy: Healthy) -> tuple[set[str], list[int]]:
    seq = rng.randint(2, healthy.head)
    _attack(
        path,
        lambda db: db.execute(
            "UPDATE ledger_entries SET recorded_at_us = recorded_at_us - 7200000000 WHERE seq = ?", (seq,)
        ),
    )
    return {f"seq:{seq}"}, []


def garble_time(path: Path, rng: random.Random, healthy: Healthy) -> tuple[set[str], list[int]]:
    """SQLite keeps any value in any column: a time that is no number is reported, not a crash."""
    seq = rng.randint(2, healthy.head)
    _attack(path, lambda db: db.execute("UPDATE ledger_entries SET recorded_at_us = 'yesterday' WHERE seq = ?", (seq,)))
    return {f"seq:{seq}"}, []


TAMPERINGS = {
    f.__name__: f
    for f in (
        change_field,
        delete_entry,
        swap_entries,
        forge_entry,
        truncate_tail,
        change_payload,
        version_without_entry,
        backdate_entry,
        garble_time,
    )
}
EXPECTED_RULES = {
    "change_field": {"T8.selective_omission"},
    "delete_entry": {"T8.log_deletion"},
    "forge_entry": {"T8.selective_omission"},
    "truncate_tail": {"T8.log_deletion"},
    "change_payload": {"T5.direct_db_access"},
    "version_without_entry": {"T5.direct_db_access", "T8.selective_omission"},
    "backdate_entry": {"T8.timestamp_manipulation", "T8.selective_omission"},
    "garble_time": {"T8.selective_omission"},
}


@pytest.mark.parametrize("trial", range(3))
@pytest.mark.parametrize("name", sorted(TAMPERINGS))
def test_each_tampering_is_found_exactly_where_it_was_made(
    name: str, trial: int, healthy: Healthy, copy: Path, policy: LoadedPolicy
) -> None:
    rng = random.Random(f"{name}-{trial}")
    expected, _ = TAMPERINGS[name](copy, rng, healthy)
    engine = make_engine(f"sqlite:///{copy}")

    result = _check(engine, policy, healthy.signer)

    engine.dispose()
    assert {p.subject for p in result.problems} == expected, [p.as_dict() for p in result.problems]
    assert EXPECTED_RULES.get(name, set()) <= {p.rule_id for p in result.problems}
    assert result.checkpoint["signed"] is False  # nothing is signed over a tampered ledger


def test_untouched_copies_report_nothing_and_sign_a_consistent_checkpoint(
    healthy: Healthy, copy: Path, policy: LoadedPolicy
) -> None:
    engine = make_engine(f"sqlite:///{copy}")

    full = _check(engine, policy, healthy.signer, hour=1)
    incremental = _check(engine, policy, healthy.signer, full=False, hour=2)

    engine.dispose()
    assert (full.ok, incremental.ok) == (True, True), (full.summary(), incremental.summary())
    assert full.checkpoint["signed"] and full.checkpoint["previous_size"] == healthy.checkpoint_size


def test_incremental_runs_find_truncation_at_once_and_old_edits_within_the_rehash_period(
    healthy: Healthy, copy: Path, policy: LoadedPolicy
) -> None:
    seq = healthy.head // 3  # long verified: only the rotating re-check can see it
    _attack(copy, lambda db: db.execute("UPDATE ledger_entries SET details = '{}' WHERE seq = ?", (seq,)))
    engine = make_engine(f"sqlite:///{copy}")

    runs = [_check(engine, policy, healthy.signer, full=False, hour=h) for h in range(1, 7)]
    _attack(copy, lambda db: db.execute("DELETE FROM ledger_entries WHERE seq > ?", (healthy.head - 5,)))
    after_truncation = _check(engine, policy, healthy.signer, full=False, hour=7)

    engine.dispose()
    found_in = [i for i, r in enumerate(runs) if f"seq:{seq}" in {p.subject for p in r.problems}]
    assert found_in and found_in[0] <= 4  # rehash_period_runs=4: covered within 4 + 1 runs
    shrank = [p for p in after_truncation.problems if p.kind == "tree_shrank"]
    assert [(p.rule_id, p.subject) for p in shrank] == [("T8.log_deletion", f"seq:{healthy.head - 4}")]


# -- PostgreSQL: a subset, all tamperings in one database, each at its own place ---------------------------


@pytest.mark.postgres
def test_postgresql_tamperings_are_each_found_at_their_place(pg_url: str, policy: LoadedPolicy, tmp_path: Path) -> None:
    generate_signing_key(tmp_path / "signing.key", KEY_NAME)
    signer = Signer(load_signing_key(tmp_path / "signing.key"), KEY_NAME)
    engine = make_engine(pg_url)
    upgrade_to_head(engine)
    generate_demo(engine, policy, seed=5, days=2, scale=0.1, end_us=END_US)
    assert _check(engine, policy, signer, hour=0).ok
    with engine.begin() as conn:
        for statement in drop_guard_statements("postgresql"):
            conn.exec_driver_sql(statement)
        expected = _pg_tamper(conn)

    result = _check(engine, policy, signer, hour=1)

    engine.dispose()
    assert {p.subject for p in result.problems} == expected, [p.as_dict() for p in result.problems]


def _pg_tamper(conn: object) -> set[str]:
    run = conn.execute  # type: ignore[attr-defined]
    seqs = [
        int(s)
        for s in run(
            text(
                "SELECT seq FROM ledger_entries WHERE seq NOT IN (SELECT ledger_seq FROM artifact_versions) ORDER BY seq"
            )
        ).scalars()
    ]
    edited, backdated, pointed = seqs[3], seqs[len(seqs) // 2], seqs[-3]
    payload = run(text("SELECT content_hash FROM payloads ORDER BY content_hash LIMIT 1")).scalar_one()
    run(text("UPDATE ledger_entries SET actor_id = 'mallory' WHERE seq = :s"), {"s": edited})
    run(text("UPDATE ledger_entries SET recorded_at_us = recorded_at_us - 7200000000 WHERE seq = :s"), {"s": backdated})
    run(text("UPDATE payloads SET data = data || '\\x00'::bytea WHERE content_hash = :h"), {"h": payload})
    run(
        text(
            "INSERT INTO artifact_versions SELECT 'smuggled-1', 1, product_id, artifact_class, owner_id, created_by, "
            "integration_id, created_at_us, claimed_at_us, content_hash, size_bytes, reference_url, metadata, "
            "provenance, schema_version, :s FROM artifact_versions LIMIT 1"
        ),
        {"s": pointed},
    )
    return {f"seq:{edited}", f"seq:{backdated}", f"payload:{payload}", "artifact:smuggled-1@1"}
