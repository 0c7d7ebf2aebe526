"""F10 "Approve as new baseline" approves the drifted schema as the product's next baseline.

Drift found by the real drift check (Great Expectations) → F10 with the autostart form → the owner answers
"Approve as new baseline" → the drifting artifacts' versions become the current baseline (a ledger entry
naming the owner), the quarantine is lifted, and the next drift run over the new schema is clean. Near
miss: a decider who is not an owner of the product is refused; the quarantine and the old baseline stay.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine

from bucket_governance.bucket.requests import CreateRequest
from bucket_governance.bucket.store import BucketStore
from bucket_governance.checks.drift.baselines import approve_baseline, current_baseline, propose_baseline
from bucket_governance.checks.drift.pipeline import run_drift_check
from bucket_governance.errors import RequestDeniedError
from bucket_governance.incidents import actions, steps
from bucket_governance.incidents.autostart_sources import pipeline_starts
from bucket_governance.policy import LoadedPolicy

pytestmark = pytest.mark.integration
HOUR_US = 3_600_000_000
T = 1_780_000_000_000_000
APPROVE = "Approve as new baseline"


def lesson(engine: Engine, policy: LoadedPolicy, at_us: int, artifact_id: str, revision: Any) -> None:
    BucketStore(engine, policy, clock=lambda: at_us).create(
        CreateRequest(actor_id="gurukul.engineer", integration_id="gurukul.gateway", product_id="gurukul",
                      artifact_class="ContentArtifact", artifact_id=artifact_id, payload=b'{"body": "x"}',
                      metadata={"title": artifact_id, "revision": revision},
                      provenance={"source": "editor", "intent": "publish", "parents": []})
    ).raise_if_denied()  # fmt: skip


def drift(engine: Engine, policy: LoadedPolicy, start_us: int) -> dict[str, Any]:
    (result,) = run_drift_check(engine, policy, window_start_us=start_us, window_end_us=start_us + HOUR_US,
                                products=["gurukul"])  # fmt: skip
    return result.summary()


def drifted_incident(engine: Engine, policy: LoadedPolicy) -> str:
    """Baseline v1 (integer revisions), then a string revision → T3 finding → F10 opened and contained."""
    for n in range(3):
        lesson(engine, policy, T - 2 * HOUR_US + n, f"lesson-{n}", n + 1)
    scope = {"product_id": "gurukul", "artifact_class": "ContentArtifact"}
    propose_baseline(engine, policy, **scope, window_start_us=T - 2 * HOUR_US, window_end_us=T - HOUR_US,
                     proposed_by="test")  # fmt: skip
    approve_baseline(engine, policy, **scope, actor_id="gurukul.owner")
    lesson(engine, policy, T - HOUR_US // 2, "lesson-9", "second")
    summary = drift(engine, policy, T - HOUR_US)
    (start,) = pipeline_starts(engine, policy, "schema_drift", summary, (T - HOUR_US, T))
    incident_id = str(steps.start(engine, policy, "F10", start["conf"])["incident_id"])
    steps.contain(engine, policy, incident_id)
    return incident_id


def baseline_version(engine: Engine) -> tuple[int, str | None]:
    with engine.connect() as conn:
        baseline = current_baseline(conn, "gurukul", "ContentArtifact")
    assert baseline is not None
    return baseline.version, baseline.approved_by


def quarantined(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return [c["subject"] for c in actions.active_controls(conn) if c["kind"] == "quarantine"]


def test_approving_the_drift_makes_it_the_baseline_and_the_next_run_is_clean(
    engine: Engine, policy: LoadedPolicy
) -> None:
    incident_id = drifted_incident(engine, policy)

    steps.record_decision(engine, policy, incident_id, APPROVE, by="airflow-user:gurukul.owner")
    recovered = steps.recover(engine, policy, incident_id, actor="airflow:bucket_playbook_f10")
    lesson(engine, policy, T + HOUR_US // 2, "lesson-10", "third")
    next_run = drift(engine, policy, T)

    assert recovered[0]["action"] == "approve_baseline" and recovered[0]["approved_by"] == "gurukul.owner"
    assert baseline_version(engine) == (2, "gurukul.owner")
    assert quarantined(engine) == []
    assert next_run["status"] == "clean" and next_run["finding_ids"] == []


def test_a_decider_who_is_not_an_owner_is_refused_and_the_quarantine_stays(
    engine: Engine, policy: LoadedPolicy
) -> None:
    incident_id = drifted_incident(engine, policy)

    steps.record_decision(engine, policy, incident_id, APPROVE, by="airflow-user:tester")
    with pytest.raises(RequestDeniedError) as refused:
        steps.recover(engine, policy, incident_id, actor="airflow:bucket_playbook_f10")

    assert refused.value.code == "approval_refused"
    assert baseline_version(engine) == (1, "gurukul.owner")
    assert quarantined(engine) == ["lesson-9"]
