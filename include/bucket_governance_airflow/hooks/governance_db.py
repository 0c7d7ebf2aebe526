"""The governance database as an Airflow Connection (``bucket_governance_db``).

The Connection's ``extra["url"]`` is a full SQLAlchemy URL (the simplest form, and the only one that can
name a SQLite file); otherwise the URL is built from host/schema/login/password/port with the conn_type
as the dialect. Without the Connection the hook falls back to ``BUCKET_GOV_DB_URL`` / the embedded SQLite
file, exactly like the CLI, so a laptop demo needs no Airflow setup.

SQLAlchemy and the library's db layer are imported inside methods: DAG files import this module, and
DAG parsing must stay cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseHook
from airflow.sdk.exceptions import AirflowException, AirflowNotFoundException

if TYPE_CHECKING:
    from airflow.sdk import Connection
    from sqlalchemy import Engine

DEFAULT_CONN_ID = "bucket_governance_db"

# Airflow's conn_type names → SQLAlchemy dialects (with the driver the project installs).
_DIALECTS = {
    "postgres": "postgresql+psycopg",
    "postgresql": "postgresql+psycopg",
    "sqlite": "sqlite",
}


def url_from_connection(conn: Connection) -> str:
    """The SQLAlchemy URL a Connection describes (see the module docstring for the two forms)."""
    url = conn.extra_dejson.get("url")
    if url:
        return str(url)
    dialect = _DIALECTS.get(conn.conn_type or "")
    if dialect is None:
        raise AirflowException(
            f"Connection {conn.conn_id!r} has no extra 'url' and its conn_type {conn.conn_type!r} is not a "
            f'database this project supports: set extra {{"url": "postgresql+psycopg://..."}} or use '
            f"conn_type postgres"
        )
    from sqlalchemy.engine import URL

    built = URL.create(
        drivername=dialect,
        username=conn.login or None,
        password=conn.password or None,
        host=conn.host or None,
        port=conn.port or None,
        database=conn.schema or None,
    )
    return built.render_as_string(hide_password=False)


class BucketGovernanceHook(BaseHook):
    """Engine factory for the governance database; the engine is created on first use, not at construction."""

    conn_name_attr = "conn_id"
    default_conn_name = DEFAULT_CONN_ID
    conn_type = "generic"
    hook_name = "Bucket governance database"

    def __init__(self, conn_id: str = DEFAULT_CONN_ID, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.conn_id = conn_id
        self._engine: Engine | None = None

    def get_url(self) -> str:
        try:
            conn = self.get_connection(self.conn_id)
        except AirflowNotFoundException:
            from bucket_governance.settings import get_settings

            self.log.info(
                "Connection %s is not defined; using BUCKET_GOV_DB_URL or the embedded database", self.conn_id
            )
            return get_settings().resolved_db_url()
        return url_from_connection(conn)

    def get_engine(self) -> Engine:
        if self._engine is None:
            from bucket_governance.db import make_engine

            self._engine = make_engine(self.get_url())
            # Only the backend is logged: the URL may carry a password.
            self.log.info("Governance database engine for %s: %s", self.conn_id, self._engine.dialect.name)
        return self._engine

    def get_conn(self) -> Engine:
        """BaseHook's generic accessor; the governance library works with an engine, not a DB-API connection."""
        return self.get_engine()

    def dispose(self) -> None:
        """Close pooled connections (a task process should not leave SQLite handles or PG sessions open)."""
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None
