"""The app factory: one FastAPI app serving SPEC §4, standalone (`bucket-gov serve`) or inside Airflow.

``create_app()`` reads the settings (database URL, policy folder) from the environment; tests and the
benchmark pass an engine and a policy of their own. Building the app opens no connection.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import FastAPI

from bucket_governance.policy import LoadedPolicy, load_policy
from bucket_governance.settings import Settings, get_settings
from bucket_governance_api.context import ApiContext, api_engine
from bucket_governance_api.errors import install_error_handlers
from bucket_governance_api.routers import artifacts, audit, findings, health, incidents, ledger, scale, threats

if TYPE_CHECKING:
    from sqlalchemy import Engine

DESCRIPTION = """The governed Bucket over HTTP: artifact writes and reads through the governance gate, the
audit trail, threat catalogue and scans, scale limits, signed checkpoints and inclusion proofs, findings.

Every route needs `Authorization: Bearer <bgt_ actor token>` (or an integration token plus
`X-Bucket-Actor: <actor id>`); a caller sees and writes only its own product. Errors are
`{"error": {"code", "message"}}` with a stable code."""


def create_app(
    settings: Settings | None = None, engine: Engine | None = None, policy: LoadedPolicy | None = None
) -> FastAPI:
    settings = settings or get_settings()
    context = ApiContext(
        settings=settings,
        engine=engine if engine is not None else api_engine(settings.resolved_db_url()),
        policy=policy if policy is not None else load_policy(settings.policy_dir),
    )
    app = FastAPI(title="Bucket governance API", version="1", description=DESCRIPTION)
    app.state.bucket_context = context
    install_error_handlers(app)
    for module in (artifacts, ledger, audit, threats, scale, findings, incidents, health):
        app.include_router(module.router)
    return app
