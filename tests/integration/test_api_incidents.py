"""Incident routes over real HTTP: a caller sees the incidents of its own products only; others get 403."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine
from tests.api_helpers import client, serve

from bucket_governance.db import make_engine, upgrade_to_head
from bucket_governance.incidents.steps import start
from bucket_governance.policy import LoadedPolicy
from bucket_governance_api.app import create_app

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def incidents_api(
    tmp_path_factory: pytest.TempPathFactory, policy: LoadedPolicy
) -> Iterator[tuple[str, dict[str, str]]]:
    engine: Engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('api-incidents') / 'bucket.db'}")
    upgrade_to_head(engine)
    f8 = start(engine, policy, "F8", {"product_id": "ai_assistant", "source": "capacity projection"})
    f9 = start(engine, policy, "F9", {"product_id": "gurukul"})
    with serve(create_app(engine=engine, policy=policy)) as url:
        yield url, {"F8": f8["incident_id"], "F9": f9["incident_id"]}
    engine.dispose()


def test_a_product_lists_and_reads_its_own_incidents_only(incidents_api: tuple[str, dict[str, str]]) -> None:
    url, ids = incidents_api
    with client(url, "ai_assistant.gateway", "ai_assistant.engineer") as assistant:
        listed = assistant.get("/incidents").json()["incidents"]
        own = assistant.get(f"/incidents/{ids['F8']}")
        other = assistant.get(f"/incidents/{ids['F9']}")

    assert [i["incident_id"] for i in listed] == [ids["F8"]]
    assert own.status_code == 200 and own.json()["playbook"] == "F8"
    assert [e["step"] for e in own.json()["timeline"]][:1] == ["opened"]
    assert other.status_code == 403 and other.json()["error"]["code"] == "cross_product_access"


def test_an_auditor_sees_the_products_in_scope(incidents_api: tuple[str, dict[str, str]]) -> None:
    url, ids = incidents_api
    with client(url, "gurukul.gateway", "auditor.global") as auditor:
        listed = {i["incident_id"] for i in auditor.get("/incidents").json()["incidents"]}

    assert listed == set(ids.values())
