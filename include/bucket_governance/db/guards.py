"""Database-side append-only guards, one function per dialect; used by the migrations.

The API is not the only door to the database, so immutability is enforced by the database itself.
On SQLite, ``INSERT OR REPLACE`` deletes the conflicting row without firing DELETE triggers (unless
``recursive_triggers`` is on, which a caller controls), so a BEFORE INSERT trigger refuses any insert
whose key already exists.
"""

from __future__ import annotations

from bucket_governance.db.tables import IMMUTABLE_TABLES

REFUSAL = "append-only table: {table} rows can never be updated, deleted or replaced"


def sqlite_guard_statements(tables: dict[str, tuple[str, ...]] = IMMUTABLE_TABLES) -> list[str]:
    statements: list[str] = []
    for table, keys in tables.items():
        message = REFUSAL.format(table=table)
        for action in ("UPDATE", "DELETE"):
            statements.append(
                f"CREATE TRIGGER IF NOT EXISTS {table}_no_{action.lower()} BEFORE {action} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{message}'); END"
            )
        for i, key in enumerate(keys):
            match = " AND ".join(f"{col.strip()} = NEW.{col.strip()}" for col in key.split(","))
            statements.append(
                f"CREATE TRIGGER IF NOT EXISTS {table}_no_replace_{i} BEFORE INSERT ON {table} "
                f"WHEN EXISTS (SELECT 1 FROM {table} WHERE {match}) "
                f"BEGIN SELECT RAISE(ABORT, '{message}'); END"
            )
    return statements


def postgresql_guard_statements(tables: dict[str, tuple[str, ...]] = IMMUTABLE_TABLES) -> list[str]:
    statements = [
        "CREATE OR REPLACE FUNCTION bucket_refuse_mutation() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN RAISE EXCEPTION 'append-only table: % rows can never be updated, deleted or replaced', "
        "TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege'; END $$"
    ]
    for table in tables:
        statements += [
            f"DROP TRIGGER IF EXISTS {table}_no_mutation ON {table}",
            f"CREATE TRIGGER {table}_no_mutation BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION bucket_refuse_mutation()",
            f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}",
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION bucket_refuse_mutation()",
            # ALWAYS: ordinary triggers are skipped under `SET session_replication_role = replica`.
            f"ALTER TABLE {table} ENABLE ALWAYS TRIGGER {table}_no_mutation",
            f"ALTER TABLE {table} ENABLE ALWAYS TRIGGER {table}_no_truncate",
        ]
    return statements


def guard_statements(dialect: str, tables: dict[str, tuple[str, ...]] = IMMUTABLE_TABLES) -> list[str]:
    """``tables`` lets a feature migration guard its own append-only tables (e.g. ``LEDGER_IMMUTABLE_TABLES``)."""
    if dialect == "sqlite":
        return sqlite_guard_statements(tables)
    if dialect == "postgresql":
        return postgresql_guard_statements(tables)
    raise ValueError(f"unsupported database dialect {dialect!r}: use sqlite or postgresql")


def drop_guard_statements(dialect: str, tables: dict[str, tuple[str, ...]] = IMMUTABLE_TABLES) -> list[str]:
    """What a privileged attacker (or a fault-injection test) runs to get the guards out of the way."""
    if dialect == "sqlite":
        names = [s.split()[5] for s in sqlite_guard_statements(tables)]
        return [f"DROP TRIGGER IF EXISTS {name}" for name in names]
    return [
        f"DROP TRIGGER IF EXISTS {table}_{kind} ON {table}"
        for table in tables
        for kind in ("no_mutation", "no_truncate")
    ]
