"""Alembic environment: run against the connection handed over by ``bucket_governance.db.migrate``."""

from __future__ import annotations

from alembic import context

from bucket_governance.db.tables import metadata

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # `alembic` command line (autogenerate during development)
    from bucket_governance.db.engine import make_engine

    engine = make_engine(config.get_main_option("sqlalchemy.url") or "sqlite:///var/alembic-dev.db")
    connection = engine.connect()

context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
