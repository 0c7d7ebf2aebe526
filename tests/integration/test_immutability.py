"""Guarantee 1 — immutability is enforced by the database itself, not only by the API.

Each attack is plain SQL, the door a privileged script or a compromised service would use. For every
attack on every append-only table we check that the database refuses it *and* that the table's data is
exactly what it was before (an error alone could hide a partial write). A control test then drops the
guards (``drop_guard_statements``, what an attacker with DDL rights runs) and shows the same statement
now goes through — so the refusals above come from the guard triggers, not from something incidental.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from bucket_governance.bucket.requests import CreateRequest
from bucket_governance.bucket.store import BucketStore
from bucket_governance.db.guards import drop_guard_statements
from bucket_governance.policy import LoadedPolicy

pytestmark = pytest.mark.integration

IMMUTABLE = ("ledger_entries", "artifact_versions", "payloads")
PRIMARY_KEYS = {
    "ledger_entries": ("seq",),
    "artifact_versions": ("artifact_id", "version"),
    "payloads": ("content_hash",),
}
# The one column each attack tries to change, and the forged value.
TAMPERED = {
    "ledger_entries": ("actor_id", "mallory"),
    "artifact_versions": ("owner_id", "mallory"),
    "payloads": ("data", b"tampered bytes"),
}


@dataclass(frozen=True)
class Target:
    """One existing row of one guarded table: its full contents and its primary key."""

    table: str
    row: dict[str, Any]

    @property
    def key(self) -> dict[str, Any]:
        return {col: self.row[col] for col in PRIMARY_KEYS[self.table]}

    @property
    def where(self) -> str:
        return " AND ".join(f"{col} = :{col}" for col in self.key)

    def forged_row(self) -> dict[str, Any]:
        column, value = TAMPERED[self.table]
        return {**self.row, column: value}


def _insert_sql(verb: str, table: str, columns: list[str], suffix: str = "") -> str:
    names = ", ".join(columns)
    values = ", ".join(f":{c}" for c in columns)
    return f"{verb} INTO {table} ({names}) VALUES ({values}){suffix}"


# -- the attacks: each returns (SQL, parameters) against one target row --------------------------------------

Attack = Callable[[Target], tuple[str, dict[str, Any]]]


def update(t: Target) -> tuple[str, dict[str, Any]]:
    column, value = TAMPERED[t.table]
    return f"UPDATE {t.table} SET {column} = :forged WHERE {t.where}", {**t.key, "forged": value}


def delete(t: Target) -> tuple[str, dict[str, Any]]:
    return f"DELETE FROM {t.table} WHERE {t.where}", t.key


def truncate(t: Target) -> tuple[str, dict[str, Any]]:
    # CASCADE: the attacker also empties the tables that reference this one (ledger <- artifact_versions).
    return f"TRUNCATE {t.table} CASCADE", {}


def upsert(t: Target) -> tuple[str, dict[str, Any]]:
    column, _ = TAMPERED[t.table]
    keys = ", ".join(PRIMARY_KEYS[t.table])
    forged = t.forged_row()
    suffix = f" ON CONFLICT ({keys}) DO UPDATE SET {column} = excluded.{column}"
    return _insert_sql("INSERT", t.table, list(forged), suffix), forged


def insert_or_replace(t: Target) -> tuple[str, dict[str, Any]]:
    forged = t.forged_row()
    return _insert_sql("INSERT OR REPLACE", t.table, list(forged)), forged


def replace_into(t: Target) -> tuple[str, dict[str, Any]]:
    forged = t.forged_row()
    return _insert_sql("REPLACE", t.table, list(forged)), forged


def replace_on_secondary_key(t: Target) -> tuple[str, dict[str, Any]]:
    """A new primary key that collides on a UNIQUE column: REPLACE would silently delete the target row."""
    forged = dict(t.row)
    if t.table == "ledger_entries":  # same prev_hash, new seq and entry_hash
        forged.update(seq=t.row["seq"] + 1000, entry_hash="f" * 64)
    else:  # artifact_versions: same ledger_seq, new version
        forged.update(version=t.row["version"] + 1000)
    return _insert_sql("INSERT OR REPLACE", t.table, list(forged)), forged


def duplicate_insert(t: Target) -> tuple[str, dict[str, Any]]:
    forged = t.forged_row()
    return _insert_sql("INSERT", t.table, list(forged)), forged


BOTH = ("sqlite", "postgresql")
ATTACKS: list[tuple[str, Attack, tuple[str, ...], tuple[str, ...]]] = [
    # (name, attack, dialects, tables)
    ("update", update, BOTH, IMMUTABLE),
    ("delete", delete, BOTH, IMMUTABLE),
    ("upsert", upsert, BOTH, IMMUTABLE),
    ("truncate", truncate, ("postgresql",), IMMUTABLE),
    ("insert_or_replace", insert_or_replace, ("sqlite",), IMMUTABLE),
    ("replace_into", replace_into, ("sqlite",), IMMUTABLE),
    ("replace_on_secondary_key", replace_on_secondary_key, ("sqlite",), ("ledger_entries", "artifact_versions")),
]
# Each case names its dialect (indirect ``db_url``), so a statement one dialect lacks is not even collected.
ATTACK_CASES = [
    pytest.param(
        dialect,
        attack,
        table,
        id=f"{dialect}-{name}-{table}",
        marks=[pytest.mark.postgres] if dialect == "postgresql" else [],
    )
    for name, attack, dialects, tables in ATTACKS
    for dialect in dialects
    for table in tables
]


# -- fixtures and helpers -----------------------------------------------------------------------------------


def _gurukul(payload: bytes, **kwargs: Any) -> CreateRequest:
    return CreateRequest(
        actor_id="gurukul.engineer",
        integration_id="gurukul.gateway",
        product_id="gurukul",
        artifact_class="ContentArtifact",
        payload=payload,
        metadata={"title": "lesson"},
        **kwargs,
    )


@pytest.fixture
def targets(engine: Engine, policy: LoadedPolicy) -> dict[str, Target]:
    """Seed two versions and one denied request; pick a row per table that an attacker would want gone.

    The ledger target is the denied request's entry (no artifact version references it): erasing the trace
    of a refused request is the typical motive, and without a referencing row only the guard stands in the way.
    """
    store = BucketStore(engine, policy)
    first = store.create(_gurukul(b"alpha")).raise_if_denied()
    store.create(_gurukul(b"beta", artifact_id=first.artifact_id, expected_version=1)).raise_if_denied()
    denied = store.create(_gurukul(b"gamma", artifact_id=first.artifact_id, expected_version=1))
    assert not denied.allowed
    with engine.connect() as conn:
        return {
            "ledger_entries": _target(conn, "ledger_entries", "seq = :k", {"k": denied.seq}),
            "artifact_versions": _target(conn, "artifact_versions", "ledger_seq = :k", {"k": first.seq}),
            "payloads": _target(conn, "payloads", "data = :k", {"k": b"alpha"}),
        }


def _target(conn: Connection, table: str, where: str, params: dict[str, Any]) -> Target:
    row = conn.execute(text(f"SELECT * FROM {table} WHERE {where}"), params).mappings().one()
    return Target(table, {k: bytes(v) if isinstance(v, memoryview) else v for k, v in row.items()})


def _contents(engine: Engine, table: str) -> list[tuple[Any, ...]]:
    order = ", ".join(PRIMARY_KEYS[table])
    with engine.connect() as conn:
        rows = conn.execute(text(f"SELECT * FROM {table} ORDER BY {order}")).all()
    return [tuple(bytes(v) if isinstance(v, memoryview) else v for v in row) for row in rows]


def _all_contents(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    return {table: _contents(engine, table) for table in IMMUTABLE}


def _run(engine: Engine, sql: str, params: dict[str, Any]) -> None:
    with engine.begin() as conn:
        conn.execute(text(sql), params)


def _drop_guards(engine: Engine) -> None:
    with engine.begin() as conn:
        for statement in drop_guard_statements(engine.dialect.name):
            conn.exec_driver_sql(statement)


# -- the database refuses; nothing changes ------------------------------------------------------------------


@pytest.mark.parametrize(("db_url", "attack", "table"), ATTACK_CASES, indirect=["db_url"])
def test_mutation_is_refused_and_leaves_every_row_unchanged(
    engine: Engine, targets: dict[str, Target], attack: Attack, table: str
) -> None:
    before = _all_contents(engine)
    sql, params = attack(targets[table])

    with pytest.raises(DBAPIError, match=f"append-only table: {table}"):
        _run(engine, sql, params)

    assert _all_contents(engine) == before


@pytest.mark.parametrize("table", IMMUTABLE)
def test_duplicate_key_insert_fails_and_leaves_the_row_unchanged(
    engine: Engine, targets: dict[str, Target], table: str
) -> None:
    before = _all_contents(engine)
    sql, params = duplicate_insert(targets[table])

    with pytest.raises(IntegrityError):
        _run(engine, sql, params)

    assert _all_contents(engine) == before


@pytest.mark.parametrize("table", IMMUTABLE)
def test_duplicate_key_insert_fails_even_without_guards(engine: Engine, targets: dict[str, Target], table: str) -> None:
    """The primary key alone already refuses a plain duplicate: the guards add UPDATE/DELETE/REPLACE."""
    _drop_guards(engine)
    before = _all_contents(engine)
    sql, params = duplicate_insert(targets[table])

    with pytest.raises(IntegrityError):
        _run(engine, sql, params)

    assert _all_contents(engine) == before


@pytest.mark.parametrize("table", IMMUTABLE)
def test_api_store_still_appends_under_the_guards(engine: Engine, policy: LoadedPolicy, table: str) -> None:
    """The guards refuse rewrites, not appends: a governed CREATE adds exactly one row per table."""
    store = BucketStore(engine, policy)
    before = _contents(engine, table)

    store.create(_gurukul(b"delta")).raise_if_denied()

    after = _contents(engine, table)
    assert len(after) == len(before) + 1
    assert set(before) <= set(after)


# -- control: with the guards dropped the same statements succeed -------------------------------------------


@pytest.mark.parametrize(("db_url", "attack", "table"), ATTACK_CASES, indirect=["db_url"])
def test_same_mutation_succeeds_once_guards_are_dropped(
    engine: Engine, targets: dict[str, Target], attack: Attack, table: str
) -> None:
    _drop_guards(engine)
    before = _contents(engine, table)
    sql, params = attack(targets[table])

    _run(engine, sql, params)

    assert _contents(engine, table) != before


def test_drop_guards_then_update_changes_the_ledger_row(engine: Engine, targets: dict[str, Target]) -> None:
    """The attacker's path spelled out: drop the triggers, rewrite who made the request."""
    target = targets["ledger_entries"]
    sql, params = update(target)
    with pytest.raises(DBAPIError, match="append-only table: ledger_entries"):
        _run(engine, sql, params)

    _drop_guards(engine)
    _run(engine, sql, params)

    with engine.connect() as conn:
        actor = conn.execute(text("SELECT actor_id FROM ledger_entries WHERE seq = :seq"), target.key).scalar()
    assert actor == "mallory"


@pytest.mark.postgres
def test_replication_role_does_not_switch_the_postgresql_guards_off(pg_url: str, policy: LoadedPolicy) -> None:
    """`SET session_replication_role = replica` skips ordinary triggers; ours are ENABLE ALWAYS."""
    from bucket_governance.db import make_engine, upgrade_to_head

    engine = make_engine(pg_url)
    upgrade_to_head(engine)
    BucketStore(engine, policy).create(_gurukul(b"kept")).raise_if_denied()
    try:
        with pytest.raises(DBAPIError, match="append-only table"), engine.begin() as conn:
            conn.execute(text("SET LOCAL session_replication_role = replica"))
            conn.execute(text("UPDATE ledger_entries SET actor_id = 'mallory'"))
        with engine.connect() as conn:
            assert conn.execute(text("SELECT actor_id FROM ledger_entries")).scalar() == "gurukul.engineer"
    finally:
        engine.dispose()
