"""Engine factory and the few dialect differences (SQLite vs PostgreSQL) the rest of the code relies on."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url

from bucket_governance.errors import InvalidInputError

# Any constant works; it only has to be the same for every writer of one database.
LEDGER_ADVISORY_LOCK_KEY = 0x42554B4C  # "BUKL"


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine whose transactions are safe for the ledger on both dialects."""
    try:
        parsed = make_url(url)
    except Exception:
        raise InvalidInputError(
            "db_url_invalid", f"{url!r} is not a database URL (e.g. sqlite:///var/bucket.db)"
        ) from None
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url, parsed.database, **kwargs)
    if parsed.get_backend_name() == "postgresql":
        return create_engine(url, pool_pre_ping=True, **kwargs)
    raise InvalidInputError(
        "db_url_invalid", f"unsupported database {parsed.get_backend_name()!r}: use sqlite or postgresql"
    )


def _sqlite_engine(url: str, database: str | None, **kwargs: Any) -> Engine:
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": 60}, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control from the sqlite3 module so BEGIN IMMEDIATE below is what runs.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=60000")
        cursor.execute("PRAGMA cache_size=-65536")  # 64 MiB (default 2 MiB): index pages of a large Bucket stay hot
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # IMMEDIATE takes the write lock up front: writers serialize instead of failing on upgrade.
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


_ADVISORY_LOCK = text("SELECT pg_advisory_xact_lock(:key)")  # built once: every governed write takes it


def lock_ledger(conn: Connection) -> None:
    """Serialize ledger appends for the rest of the transaction (SQLite already holds its write lock)."""
    if conn.dialect.name == "postgresql":
        conn.execute(_ADVISORY_LOCK, {"key": LEDGER_ADVISORY_LOCK_KEY})
