"""Every playbook DAG end to end under `dag.test()`, the human step answered programmatically.

The answer goes through Airflow's own path: a helper thread waits until the HITL task is parked in
``awaiting_input``, writes the response on its HITL detail and resumes it exactly as the REST API handler
does (``handle_event_submit``); a task that is not answered in time is failed, so no test can hang.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import Engine, func, select
from tests.airflow_helpers import IGNORE_STARLETTE_HTTPX, load_dag, task_states, use_bucket_connection
from tests.unit.test_gate_controls import relaxed

from bucket_governance.bucket.requests import CreateRequest
from bucket_governance.bucket.store import BucketStore, now_us
from bucket_governance.db import make_engine, upgrade_to_head
from bucket_governance.db.tables import gate_controls, ledger_entries
from bucket_governance.db.tables_incidents import incidents
from bucket_governance.incidents.evidence_verify import verify_evidence
from bucket_governance.incidents.records import get_incident, list_incidents
from bucket_governance.ledger.checkpoint import generate_signing_key
from bucket_governance.policy import LoadedPolicy

if TYPE_CHECKING:
    from airflow.sdk import DAG

pytestmark = [pytest.mark.integration, IGNORE_STARLETTE_HTTPX]
ANSWER_TIMEOUT_S = 60


class HitlAnswerer(threading.Thread):
    """Answer the ``decide`` task of ``dag_id`` with ``option`` once it waits for input."""

    def __init__(self, dag_id: str, option: str, user: str = "tester", probe: Callable[[], None] | None = None) -> None:
        super().__init__(daemon=True)
        self.dag_id, self.option, self.user, self.answered = dag_id, option, user, False
        self.probe = probe  # called once while the run waits for its decision: containment stands
        self.error: BaseException | None = None
        self.done = threading.Event()  # set once dag.test() has returned

    def run(self) -> None:
        # Keep answering every waiting `decide` of this DAG until the run under test is over: answering only the
        # first one seen could pick a stale task instance and leave the real run blocked (dag.test() would hang).
        deadline = time.monotonic() + ANSWER_TIMEOUT_S
        try:
            while not self.done.is_set() and time.monotonic() < deadline:
                if self._answer():
                    self.answered = True
                time.sleep(0.2)
        except BaseException as exc:  # reported by run_playbook; the run must still end
            self.error = exc
        if not self.done.is_set():
            self._fail_waiting()

    def _waiting(self, session: Any) -> Any:
        from airflow.models.taskinstance import TaskInstance
        from airflow.utils.state import TaskInstanceState
        from sqlalchemy.orm import joinedload

        return session.scalars(
            select(TaskInstance)
            .options(joinedload(TaskInstance.hitl_detail))
            .where(
                TaskInstance.dag_id == self.dag_id,
                TaskInstance.task_id == "decide",
                TaskInstance.state == TaskInstanceState.AWAITING_INPUT,
            )
        ).first()

    def _answer(self) -> bool:
        from airflow._shared.timezones import timezone
        from airflow.models.hitl import HITLUser
        from airflow.models.trigger import handle_event_submit
        from airflow.triggers.base import TriggerEvent
        from airflow.utils.session import create_session

        with create_session() as session:
            ti = self._waiting(session)
            if ti is None or ti.hitl_detail is None:
                return False
            if self.probe is not None:
                self.probe, probe = None, self.probe
                probe()
            detail = ti.hitl_detail
            detail.responded_by = HITLUser(id=self.user, name=self.user)
            detail.responded_at = timezone.utcnow()
            detail.chosen_options = [self.option]
            detail.params_input = {}
            session.add(detail)
            handle_event_submit(TriggerEvent(detail.as_resume_event_payload()), task_instance=ti, session=session)
        return True

    def _fail_waiting(self) -> None:
        from airflow.utils.session import create_session
        from airflow.utils.state import TaskInstanceState

        with create_session() as session:
            while (ti := self._waiting(session)) is not None:
                ti.state = TaskInstanceState.FAILED
                session.flush()


def run_playbook(
    dag: DAG, conf: dict[str, Any], option: str | None, user: str = "tester", probe: Callable[[], None] | None = None
) -> Any:
    answerer = HitlAnswerer(dag.dag_id, option, user, probe) if option else None
    if answerer:
        answerer.start()
    try:
        dag_run = dag.test(run_conf=conf)
    finally:
        if answerer:
            answerer.done.set()
    if answerer:
        answerer.join(timeout=ANSWER_TIMEOUT_S + 5)
        assert answerer.error is None, f"answering the HITL task failed: {answerer.error!r}"
    return dag_run


@pytest.fixture(scope="module")
def dags(airflow_db: Path) -> dict[str, DAG]:
    from airflow.dag_processing.dagbag import DagBag
    from tests.airflow_helpers import DAGS_FOLDER

    bag = DagBag(dag_folder=DAGS_FOLDER / "bucket_playbooks.py")
    assert not bag.import_errors, bag.import_errors
    return {dag_id.removeprefix("bucket_playbook_").upper(): dag for dag_id, dag in bag.dags.items()}


@pytest.fixture
def bucket(sqlite_url: str, policy: LoadedPolicy, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(sqlite_url)
    upgrade_to_head(engine)
    use_bucket_connection(monkeypatch, sqlite_url)
    monkeypatch.setenv("BUCKET_GOV_VAR_DIR", str(tmp_path / "var"))
    from bucket_governance.settings import get_settings

    get_settings.cache_clear()
    generate_signing_key(tmp_path / "var" / "keys" / "checkpoint-signing.key", "bucket-governance")
    yield engine
    get_settings.cache_clear()
    engine.dispose()


def write(
    engine: Engine, policy: LoadedPolicy, product: str, actor: str | None = None, at_us: int | None = None
) -> Any:
    classes = {"gurukul": "ContentArtifact", "workflow": "ExecutionTrace", "enforcement": "DecisionArtifact"}
    return BucketStore(engine, policy, clock=now_us if at_us is None else lambda: at_us).create(
        CreateRequest(actor_id=actor or f"{product}.service", integration_id=f"{product}.gateway",
                      product_id=product, artifact_class=classes[product], payload=b"{}")
    )  # fmt: skip


def only_incident(engine: Engine) -> dict[str, Any]:
    with engine.connect() as conn:
        (row,) = list_incidents(conn)
        return get_incident(conn, row["incident_id"])


def active_controls(engine: Engine) -> int:
    with engine.connect() as conn:
        query = select(func.count()).select_from(gate_controls).where(gate_controls.c.lifted_at_us.is_(None))
        return int(conn.execute(query).scalar_one())


def test_f8_halts_only_the_product_then_resumes_on_the_human_decision(
    dags: dict[str, DAG], bucket: Engine, policy: LoadedPolicy
) -> None:
    dag_run = run_playbook(dags["F8"], {"product_id": "gurukul"}, "Raise quota")

    incident = only_incident(bucket)
    assert dag_run.state == "success", task_states(dag_run)
    assert task_states(dag_run)[("recover_retention_clean_up", -1)] == "skipped"
    assert incident["outcome"] == "resumed_after_quota_raise"
    steps = [e["step"] for e in incident["timeline"]]
    assert steps == ["opened", "evidence_preserved", "contained", "escalated", "decided", "recovered", "closed"]
    assert incident["timeline"][4]["actor"] == "airflow-user:tester"
    assert verify_evidence(Path(incident["evidence_dir"])).ok
    assert write(bucket, policy, "gurukul").decision.allowed and active_controls(bucket) == 0


def test_containment_blocks_the_next_write_while_other_products_keep_writing(
    dags: dict[str, DAG], bucket: Engine, policy: LoadedPolicy
) -> None:
    """F1 answered "Keep frozen": the executor stays frozen and its write quarantined; others write on."""
    written = write(bucket, policy, "gurukul", actor="gurukul.executor")

    dag_run = run_playbook(dags["F1"], {"actor_id": "gurukul.executor"}, "Keep frozen")

    incident = only_incident(bucket)
    assert dag_run.state == "success", task_states(dag_run)
    assert task_states(dag_run)[("recover_unfreeze", -1)] == "skipped"
    assert incident["outcome"] == "kept_frozen" and active_controls(bucket) == 2
    assert write(bucket, policy, "gurukul", actor="gurukul.executor").decision.code == "actor_frozen"
    assert write(bucket, policy, "gurukul").decision.allowed
    assert write(bucket, policy, "workflow").decision.allowed
    again = BucketStore(bucket, policy).create(
        CreateRequest(actor_id="gurukul.service", integration_id="gurukul.gateway", product_id="gurukul",
                      artifact_class="ContentArtifact", artifact_id=written.artifact_id, expected_version=1,
                      payload=b"{}")
    )  # fmt: skip
    assert again.decision.code == "artifact_quarantined"


def test_f9_throttles_the_next_write_while_other_products_write_then_recovery_resumes(
    dags: dict[str, DAG], bucket: Engine, policy: LoadedPolicy
) -> None:
    seen: list[tuple[str, ...]] = []

    def probe() -> None:  # one fixed server time: all three writes fall in the same throttle interval
        at = now_us()
        seen.append(tuple(write(bucket, policy, p, at_us=at).decision.code for p in ("gurukul", "gurukul", "workflow")))

    dag_run = run_playbook(dags["F9"], {"product_id": "gurukul", "writes_per_second": 1}, "Approve", probe=probe)

    assert dag_run.state == "success", task_states(dag_run)
    assert seen == [("allowed", "throttled", "allowed")]
    at = now_us()
    assert write(bucket, policy, "gurukul", at_us=at).decision.allowed
    assert write(bucket, policy, "gurukul", at_us=at).decision.allowed and active_controls(bucket) == 0


def test_f4_refuses_writes_under_the_relaxed_policy_until_the_decision(
    dags: dict[str, DAG], bucket: Engine, policy: LoadedPolicy
) -> None:
    loose = relaxed(policy)
    seen: list[tuple[str, str]] = []
    conf = {"proposed_fingerprint": loose.fingerprint, "requested_by": "gurukul-core", "approver_id": "gurukul.owner"}

    def probe() -> None:
        seen.append((write(bucket, loose, "gurukul").decision.code, write(bucket, policy, "gurukul").decision.code))

    dag_run = run_playbook(dags["F4"], conf, "Revert", probe=probe)

    assert dag_run.state == "success", task_states(dag_run)
    assert seen == [("policy_pinned", "allowed")]
    assert write(bucket, loose, "gurukul").decision.allowed and active_controls(bucket) == 0


def test_a_rejected_legal_hold_stays(dags: dict[str, DAG], bucket: Engine, policy: LoadedPolicy) -> None:
    artifact = write(bucket, policy, "enforcement").artifact_id

    dag_run = run_playbook(dags["F7"], {"case_id": "case-1", "artifact_ids": [artifact]}, "Reject")

    assert dag_run.state == "success", task_states(dag_run)
    assert task_states(dag_run)[("recover", -1)] == "skipped"
    assert only_incident(bucket)["outcome"] == "hold_kept" and active_controls(bucket) == 1


@pytest.mark.parametrize(
    ("playbook", "conf", "option", "outcome"),
    [
        ("F1", {"actor_id": "gurukul.executor"}, "Unfreeze", "unfrozen"),
        ("F2", {"actor_id": "gurukul.agent", "requested_operation": "SCHEMA_CHANGE"}, "Approve", "freeze_lifted"),
        ("F3", {"product_id": "gurukul", "requested_change": "raise metadata limit", "justification": "launch",
                "deadline": "2026-12-01T00:00:00Z"}, "Reject with alternative", "rejected_with_alternative"),
        ("F4", {"proposed_fingerprint": "a" * 64, "requested_by": "gurukul-core", "approver_id": "gurukul.owner"},
         "Revert", "revert_required"),
        ("F5", {"case_id": "prov-1", "artifact_ids": ["ART"], "requester": "auditor.global"}, "Approve",
         "provenance_bundle_delivered"),
        ("F6", {"auditor_id": "auditor.enforcement", "scope": ["enforcement"]}, "Approve", "report_delivered"),
        ("F7", {"case_id": "case-2", "artifact_ids": ["ART"]}, "Approve", "hold_lifted"),
        ("F9", {"product_id": "gurukul"}, "Approve", "resumed"),
        ("F10", {"product_id": "gurukul", "artifact_class": "ContentArtifact", "artifact_ids": ["ART"]},
         "Approve as new baseline", "new_baseline_approved"),
    ],
)  # fmt: skip
def test_every_playbook_runs_end_to_end_and_recovery_lifts_its_controls(
    dags: dict[str, DAG], bucket: Engine, policy: LoadedPolicy, playbook: str, conf: dict[str, Any], option: str,
    outcome: str,
) -> None:  # fmt: skip
    written = write(bucket, policy, "gurukul", actor="gurukul.executor")
    conf = json.loads(json.dumps(conf).replace('"ART"', json.dumps(written.artifact_id)))

    user = "gurukul.owner" if playbook == "F10" else "tester"  # F10 approves the baseline as its decider

    dag_run = run_playbook(dags[playbook], conf, option, user)

    incident = only_incident(bucket)
    assert dag_run.state == "success", task_states(dag_run)
    assert incident["status"] == "closed" and incident["outcome"] == outcome
    assert verify_evidence(Path(incident["evidence_dir"])).ok
    assert active_controls(bucket) == 0
    if playbook == "F10":
        (recovered,) = [e["detail"] for e in incident["timeline"] if e["step"] == "recovered"]
        assert recovered["actions"][0]["approved_by"] == "gurukul.owner"


def test_bad_input_fails_first_and_changes_nothing(dags: dict[str, DAG], bucket: Engine) -> None:
    with bucket.connect() as conn:
        before = conn.execute(select(func.count()).select_from(ledger_entries)).scalar_one()

    dag_run = run_playbook(dags["F8"], {"product_id": "gurukul", "halt_everything": True}, None)

    states = task_states(dag_run)
    assert dag_run.state == "failed"
    assert states[("validate_form", -1)] == "failed"
    assert states[("open_incident", -1)] == "upstream_failed"
    with bucket.connect() as conn:
        assert conn.execute(select(func.count()).select_from(incidents)).scalar_one() == 0
        assert conn.execute(select(func.count()).select_from(ledger_entries)).scalar_one() == before


def test_a_critical_finding_starts_its_playbook_once_with_a_prefilled_form(
    dags: dict[str, DAG], bucket: Engine, policy: LoadedPolicy
) -> None:
    """A write through an unapproved integration (critical T2) → F1 with the writer's actor, exactly once."""
    from datetime import UTC, datetime

    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session

    in_window_us = int(datetime(2026, 3, 1, 12, 5, tzinfo=UTC).timestamp()) * 1_000_000
    BucketStore(bucket, policy, clock=lambda: in_window_us).create(
        CreateRequest(actor_id="workflow.service", integration_id="workflow.legacy-sync", product_id="workflow",
                      artifact_class="ExecutionTrace", payload=b"{}")
    )  # fmt: skip
    scan = load_dag("bucket_threat_scan")

    first = scan.test(logical_date=datetime(2026, 3, 1, 12, 15, tzinfo=UTC))
    with create_session() as session:
        (started,) = session.scalars(
            select(DagRun).where(DagRun.dag_id == "bucket_playbook_f1", DagRun.run_id.startswith("autostart__"))
        ).all()
        conf = dict(started.conf)
    run_playbook(dags["F1"], conf, "Unfreeze")
    again = scan.test(logical_date=datetime(2026, 3, 1, 12, 15, tzinfo=UTC))

    assert first.state == "success" and again.state == "success"
    assert conf["actor_id"] == "workflow.service" and conf["triggered_by"] == "threat_scan"
    assert started.run_id == f"autostart__{conf['finding_id']}"
    assert task_states(again).get(("start_playbooks", 0)) is None  # nothing planned: the finding already started
    with bucket.connect() as conn:
        assert conn.execute(select(func.count()).select_from(incidents)).scalar_one() == 1
