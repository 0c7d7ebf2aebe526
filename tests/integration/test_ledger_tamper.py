"""Audit-trail tampering is detected: ``verify_chain`` names the first damaged sequence number and its kind.

The guards are dropped first (``drop_guard_statements``), as a privileged attacker would; then one ledger
row is edited, deleted, swapped or forged directly in SQL. The last tests hold the command-line contract
(SPEC §5): ``bucket-gov --db URL verify-ledger`` exits 1 and names the sequence, ``--json`` gives
``first_bad_seq``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text

from bucket_governance.bucket.requests import AccessRequest, CreateRequest
from bucket_governance.bucket.store import BucketStore
from bucket_governance.db.guards import drop_guard_statements
from bucket_governance.ledger.canonical import canonical_json, chain_hash
from bucket_governance.ledger.chain import entry_from_row
from bucket_governance.ledger.verify import ChainReport, verify_chain
from bucket_governance.policy import LoadedPolicy, Operation

pytestmark = pytest.mark.integration

CLI = Path(sys.executable).with_name("bucket-gov")
ENTRIES = 8  # the seeded history below
DENIED_CONFLICT_SEQ = 3
READ_SEQ = 4  # entries 3, 4, 6, 7 have no artifact version referencing them


def _create(payload: bytes, **kwargs: Any) -> CreateRequest:
    return CreateRequest(
        actor_id="gurukul.engineer",
        integration_id="gurukul.gateway",
        product_id="gurukul",
        artifact_class="ContentArtifact",
        payload=payload,
        metadata={"title": payload.decode()},
        **kwargs,
    )


def _access(operation: Operation, artifact_id: str) -> AccessRequest:
    return AccessRequest(
        operation=operation,
        actor_id="gurukul.engineer",
        integration_id="gurukul.gateway",
        product_id="gurukul",
        artifact_id=artifact_id,
    )


@pytest.fixture
def ledger(engine: Engine, policy: LoadedPolicy) -> Engine:
    """Eight entries — creates, a version conflict, reads, a refused UPDATE — then the guards dropped."""
    store = BucketStore(engine, policy)
    a = store.create(_create(b"a1")).raise_if_denied()  # seq 1
    store.create(_create(b"a2", artifact_id=a.artifact_id, expected_version=1)).raise_if_denied()  # 2
    assert not store.create(_create(b"a3", artifact_id=a.artifact_id, expected_version=1)).allowed  # 3
    store.read(_access(Operation.READ, str(a.artifact_id)))[0].raise_if_denied()  # 4
    b = store.create(_create(b"b1")).raise_if_denied()  # 5
    assert not store.submit(_access(Operation.UPDATE, str(a.artifact_id))).allowed  # 6
    store.read(_access(Operation.READ, str(b.artifact_id)))[0].raise_if_denied()  # 7
    store.create(_create(b"c1")).raise_if_denied()  # 8
    with engine.begin() as conn:
        assert verify_chain(conn).ok
        for statement in drop_guard_statements(engine.dialect.name):
            conn.exec_driver_sql(statement)
    return engine


def _verify(engine: Engine) -> ChainReport:
    with engine.connect() as conn:
        return verify_chain(conn)


def _problems(report: ChainReport) -> list[tuple[int, str]]:
    return [(p.seq, p.kind) for p in report.problems]


def _row(engine: Engine, seq: int) -> dict[str, Any]:
    with engine.connect() as conn:
        return dict(conn.execute(text("SELECT * FROM ledger_entries WHERE seq = :s"), {"s": seq}).mappings().one())


def _set(engine: Engine, seq: int, **values: Any) -> None:
    assignments = ", ".join(f"{column} = :{column}" for column in values)
    with engine.begin() as conn:
        conn.execute(text(f"UPDATE ledger_entries SET {assignments} WHERE seq = :seq"), {**values, "seq": seq})


def _delete(engine: Engine, *seqs: int) -> None:
    with engine.begin() as conn:
        for seq in seqs:
            conn.execute(text("DELETE FROM ledger_entries WHERE seq = :s"), {"s": seq})


def _insert(engine: Engine, *rows: dict[str, Any]) -> None:
    columns = list(rows[0])
    sql = f"INSERT INTO ledger_entries ({', '.join(columns)}) VALUES ({', '.join(':' + c for c in columns)})"
    with engine.begin() as conn:
        conn.execute(text(sql), list(rows))


class _Row:
    """Attribute access over a dict, the shape ``entry_from_row`` reads."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update(values)


def _larger_size(details: str) -> str:
    document = json.loads(details)
    document["size_bytes"] += 1_000_000
    return canonical_json(document)


# -- one damaged place, named precisely ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seq", "column", "forge"),
    [
        pytest.param(1, "actor_id", lambda _: "mallory", id="actor_id-of-first-entry"),
        pytest.param(5, "details", _larger_size, id="details-size_bytes"),
        pytest.param(DENIED_CONFLICT_SEQ, "decision", lambda _: "ALLOW", id="denial-rewritten-as-allow"),
        pytest.param(6, "reasons", lambda _: "[]", id="reasons-emptied"),
        pytest.param(ENTRIES, "recorded_at_us", lambda t: t - 3_600_000_000, id="time-of-last-entry"),
        pytest.param(4, "artifact_id", lambda _: "gurukul-someone-else", id="artifact_id"),
    ],
)
def test_edited_field_is_a_hash_mismatch_at_that_seq(ledger: Engine, seq: int, column: str, forge: Any) -> None:
    original = _row(ledger, seq)[column]

    _set(ledger, seq, **{column: forge(original)})

    report = _verify(ledger)
    assert report.first_bad_seq == seq
    assert _problems(report) == [(seq, "hash_mismatch")]
    assert report.entries_checked == ENTRIES


def test_deleted_entry_is_a_sequence_gap_at_the_next_seq(ledger: Engine) -> None:
    _delete(ledger, READ_SEQ)

    report = _verify(ledger)

    assert report.first_bad_seq == READ_SEQ + 1
    assert _problems(report) == [(READ_SEQ + 1, "sequence_gap"), (READ_SEQ + 1, "chain_break")]


def test_swapped_entries_break_the_chain_at_the_first_of_them(ledger: Engine) -> None:
    """Entries 3 and 4 trade places: each keeps its seq number but carries the other's contents."""
    third, fourth = _row(ledger, 3), _row(ledger, 4)
    _delete(ledger, 3, 4)

    _insert(ledger, {**fourth, "seq": 3}, {**third, "seq": 4})

    report = _verify(ledger)
    assert report.first_bad_seq == 3
    assert (3, "chain_break") in _problems(report)
    assert {seq for seq, _ in _problems(report)} == {3, 4, 5}


def test_edit_with_recomputed_hash_breaks_the_link_to_the_next_entry(ledger: Engine) -> None:
    """The attacker rewrites a refusal as allowed and even fixes that entry's hash: entry k+1 still points at the old one."""
    seq = DENIED_CONFLICT_SEQ
    forged = {**_row(ledger, seq), "decision": "ALLOW", "reasons": "[]"}
    forged_hash = chain_hash(forged["prev_hash"], entry_from_row(_Row(forged)).canonical_bytes())

    _set(ledger, seq, decision="ALLOW", reasons="[]", entry_hash=forged_hash)

    report = _verify(ledger)
    assert report.first_bad_seq == seq + 1
    assert _problems(report) == [(seq + 1, "chain_break")]


def test_forged_entry_appended_with_a_made_up_hash_is_a_hash_mismatch(ledger: Engine) -> None:
    head = _row(ledger, ENTRIES)
    forged = {**head, "seq": ENTRIES + 1, "prev_hash": head["entry_hash"], "entry_hash": "ab" * 32}

    _insert(ledger, forged)

    report = _verify(ledger)
    assert report.first_bad_seq == ENTRIES + 1
    assert _problems(report) == [(ENTRIES + 1, "hash_mismatch")]


@pytest.mark.parametrize("details", ["not json", '{"size_bytes": 1.5}'], ids=["not-json", "float"])
def test_entry_that_cannot_be_re_encoded_is_unreadable(ledger: Engine, details: str) -> None:
    _set(ledger, 5, details=details)

    report = _verify(ledger)

    assert report.first_bad_seq == 5
    assert _problems(report) == [(5, "unreadable_entry")]


def test_every_damaged_place_is_listed_and_the_first_one_named(ledger: Engine) -> None:
    _set(ledger, 2, actor_id="mallory")
    _set(ledger, 7, product_id="workflow")

    report = _verify(ledger)

    assert report.first_bad_seq == 2
    assert _problems(report) == [(2, "hash_mismatch"), (7, "hash_mismatch")]


# -- the command-line contract ------------------------------------------------------------------------------

TAMPERED_SEQ = 5


def _db_arg(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def _cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "BUCKET_GOV_DB_URL"}
    return subprocess.run(
        [str(CLI), *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False
    )


def test_cli_verify_ledger_exits_1_and_names_the_seq(ledger: Engine, tmp_path: Path) -> None:
    _set(ledger, TAMPERED_SEQ, actor_id="mallory")

    result = _cli(tmp_path, "--db", _db_arg(ledger), "verify-ledger")

    assert result.returncode == 1, result.stderr
    assert re.search(rf"\b{TAMPERED_SEQ}\b", result.stdout + result.stderr)
    assert "Traceback" not in result.stderr


def test_cli_verify_ledger_json_gives_first_bad_seq(ledger: Engine, tmp_path: Path) -> None:
    _set(ledger, TAMPERED_SEQ, actor_id="mallory")

    result = _cli(tmp_path, "--db", _db_arg(ledger), "--json", "verify-ledger")

    assert result.returncode == 1, result.stderr
    assert json.loads(result.stdout)["first_bad_seq"] == TAMPERED_SEQ


def test_cli_verify_ledger_exits_0_on_an_intact_ledger(ledger: Engine, tmp_path: Path) -> None:
    result = _cli(tmp_path, "--db", _db_arg(ledger), "--json", "verify-ledger")

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["first_bad_seq"] is None
