"""Automatic starts are de-duplicated by incident: one run per playbook + subject while its incident is open.

Findings of later pipeline runs for the same subject attach to the open incident (``finding_attached``)
instead of triggering a second run; every finding of a group is remembered, so none of them starts a new
run after the incident closed — while a genuinely new finding then does.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from bucket_governance.db.tables_incidents import incidents
from bucket_governance.incidents import steps
from bucket_governance.incidents.autostart_sources import pipeline_starts
from bucket_governance.incidents.records import get_incident
from bucket_governance.policy import LoadedPolicy
from bucket_governance.results.findings import FindingDraft, finding_id_for, upsert_findings

pytestmark = pytest.mark.integration
T0 = 1_780_000_000_000_000
WINDOW = (T0, T0 + 900_000_000)


def critical(engine: Engine, rule: str, window_key: str, subject: str = "gurukul.executor") -> str:
    """A CRITICAL T2 finding about ``subject`` (→ F1), stored like the threat scan stores it."""
    draft = FindingDraft(rule_id=rule, rule_version=1, threat_id="T2", severity="CRITICAL", product_id="gurukul",
                         subject=subject, window_key=window_key, first_seen_us=T0, last_seen_us=T0,
                         evidence={"note": "crafted"}, playbook="F1")  # fmt: skip
    with engine.begin() as conn:
        upsert_findings(conn, [draft], run_id=None, now_us=T0)
    return finding_id_for(draft.fingerprint)


def scan(engine: Engine, policy: LoadedPolicy, *finding_ids: str) -> list[dict[str, Any]]:
    return pipeline_starts(engine, policy, "threat_scan", {"critical_findings": list(finding_ids)}, WINDOW)


def incident_count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(incidents)).scalar_one())


def test_a_later_batch_attaches_to_the_open_incident_instead_of_starting_again(
    engine: Engine, policy: LoadedPolicy
) -> None:
    first_id = critical(engine, "T2.forged_owner", "w1")
    second_id = critical(engine, "T2.backdated_timestamp", "w2")

    (start,) = scan(engine, policy, first_id)
    incident_id = steps.start(engine, policy, "F1", start["conf"])["incident_id"]  # the run's open step
    later = scan(engine, policy, second_id)
    rerun = scan(engine, policy, second_id)

    with engine.connect() as conn:
        incident = get_incident(conn, incident_id)
    assert later == [] and rerun == [] and incident_count(engine) == 1
    assert incident["finding_ids"] == [first_id, second_id]
    attached = [e for e in incident["timeline"] if e["step"] == "finding_attached"]
    assert [e["detail"] for e in attached] == [{"finding_ids": [second_id]}]  # the rerun attached nothing more
    assert attached[0]["actor"] == "threat_scan"


def test_every_finding_of_a_group_is_remembered_after_the_incident_closes(engine: Engine, policy: LoadedPolicy) -> None:
    grouped = [critical(engine, "T2.forged_owner", "w1"), critical(engine, "T2.invalid_integration", "w1")]
    other_subject = critical(engine, "T2.forged_owner", "w1", subject="workflow.executor")

    starts = scan(engine, policy, *grouped, other_subject)
    by_actor = {s["conf"]["actor_id"]: s for s in starts}
    incident_id = steps.start(engine, policy, "F1", by_actor["gurukul.executor"]["conf"])["incident_id"]
    steps.record_decision(engine, policy, incident_id, "Keep frozen", by="gurukul.owner")
    steps.close(engine, incident_id, actor="gurukul.owner")
    after_close = scan(engine, policy, grouped[1])
    new_finding = scan(engine, policy, critical(engine, "T2.backdated_timestamp", "w3"))

    assert sorted(by_actor) == ["gurukul.executor", "workflow.executor"]
    assert by_actor["gurukul.executor"]["conf"]["finding_ids"] == grouped
    assert after_close == []  # the second finding of the group is remembered, not only the first
    assert [s["conf"]["actor_id"] for s in new_finding] == ["gurukul.executor"]  # near miss: a new finding starts


def test_an_f4_form_names_who_relaxed_the_policy_from_the_ledger(engine: Engine, policy: LoadedPolicy) -> None:
    """T5.emergency_hotfix → F4: requested_by and the approver come from the first request decided under the
    unapproved fingerprint, so the prefilled form passes validation (an 'unknown' approver would not)."""
    from tests.unit.test_gate_controls import relaxed

    from bucket_governance.bucket.requests import CreateRequest
    from bucket_governance.bucket.store import BucketStore
    from bucket_governance.incidents.autostart import form_for

    loose = relaxed(policy)
    outcome = BucketStore(engine, loose).create(
        CreateRequest(actor_id="workflow.service", integration_id="workflow.gateway", product_id="workflow",
                      artifact_class="ExecutionTrace", payload=b"{}")
    )  # fmt: skip
    finding = {"finding_id": "F-hotfix", "playbook": "F4", "subject": loose.fingerprint, "product_id": None,
               "rule_id": "T5.emergency_hotfix", "evidence": {"first_seq": outcome.seq}}  # fmt: skip
    unseen = {**finding, "subject": "b" * 64}

    with engine.connect() as conn:
        form, none = form_for(conn, policy, finding), form_for(conn, policy, unseen)

    assert form is not None and none is None
    assert (form["requested_by"], form["approver_id"]) == ("workflow.service", "workflow.owner")
    assert steps.validate(policy, "F4", form).proposed_fingerprint == loose.fingerprint  # type: ignore[attr-defined]
