"""Registers the Bucket governance API in Airflow's API server under /bucket-governance. Nothing else.

Airflow does not authenticate plugin routes: the app authenticates every route itself (bearer token and
X-Bucket-Actor). The database and policy come from the BUCKET_GOV_* environment of the API server.
"""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from bucket_governance_api import create_app

URL_PREFIX = "/bucket-governance"


class BucketGovernancePlugin(AirflowPlugin):
    name = "bucket_governance"
    fastapi_apps = [{"app": create_app(), "url_prefix": URL_PREFIX, "name": "Bucket governance API"}]  # noqa: RUF012
