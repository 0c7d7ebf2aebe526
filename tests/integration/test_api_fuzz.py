"""Fuzzing: schemathesis generates requests from the app's own OpenAPI and sends them over real HTTP.

Every response must be a non-5xx, with a documented status, content type and body schema. The number of
cases is bounded (``MAX_EXAMPLES`` per operation) so the suite stays fast; the callers are real demo
integrations, so the cases reach the routes' logic instead of stopping at authentication.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from tests.api_helpers import headers, serve
from tests.conftest import POLICY_DIR
from tests.integration.test_api_http import with_rates

from bucket_governance.db import make_engine, upgrade_to_head
from bucket_governance.policy import LoadedPolicy, load_policy
from bucket_governance_api import create_app

pytestmark = pytest.mark.integration
MAX_EXAMPLES = 12
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
# One caller per kind that can reach data: an engineer (reads and writes), an auditor (reads), an AI (writes).
CALLERS = [
    headers("gurukul.gateway", "gurukul.engineer"),
    headers("enforcement.gateway", "auditor.enforcement"),
    headers("workflow.gateway", "workflow.agent"),
]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, policy: LoadedPolicy) -> Iterator[str]:
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('fuzz') / Path('bucket.db')}")
    upgrade_to_head(engine)
    with serve(create_app(engine=engine, policy=with_rates(policy, 100_000, 100_000))) as url:
        yield url
    engine.dispose()


# The schema the app publishes; building the app opens no connection, so this costs nothing at import.
schema = schemathesis.openapi.from_dict(
    create_app(engine=make_engine("sqlite://"), policy=load_policy(POLICY_DIR)).openapi()
)


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_no_server_errors_and_responses_match_the_schema(case: schemathesis.Case, served: str) -> None:
    caller = CALLERS[zlib.crc32(f"{case.method} {case.path}".encode()) % len(CALLERS)]  # stable per operation
    case.call_and_validate(base_url=served, headers=caller, checks=CHECKS)
