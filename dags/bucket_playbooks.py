"""
### Failure playbooks F1…F10 (triggered by people or by the governance pipelines)

One DAG per playbook of SPEC §3, generated from the playbook registry (`bucket_governance.incidents.registry`).
Each run:

1. **validate_form** — the trigger form is checked against the playbook's model (required fields, enums,
   formats, unknown keys); bad input fails here, naming the field, and nothing is written.
2. **open_incident** — opens the incident, or attaches to the open one of the same playbook + subject (then
   every later step skips).
3. **preserve_evidence** — evidence bundle (manifest of SHA-256 hashes, inclusion proofs against a signed
   checkpoint; `bucket-gov evidence verify DIR` checks it offline).
4. **contain** — gate controls (freeze, quarantine, halt, legal hold, throttle, policy pin), each a ledger
   entry, effective on the next request.
5. **escalate** — to the playbook's role and deadline: task log, governance database, and a webhook when the
   `bucket_governance_escalation` Connection exists.
6. **decide** — the human decision (Airflow human-in-the-loop; Required Actions in the UI).
7. **recover** — what the decision chose; **close** — outcome and timeline (`bucket-gov incident show ID`).

Database: Airflow Connection `bucket_governance_db` (`extra.url`), else `BUCKET_GOV_DB_URL`.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from airflow.sdk import DAG, Param

from bucket_governance.incidents.forms import field_schemas
from bucket_governance.incidents.registry import PLAYBOOKS, Playbook
from bucket_governance_airflow.dag_defaults import governance_default_args
from bucket_governance_airflow.operators.playbooks import (
    OPEN_TASK,
    OpenIncidentOperator,
    PlaybookApprovalOperator,
    PlaybookBranchOperator,
    PlaybookFormOperator,
    PlaybookStepOperator,
)

INCIDENT = "{{ ti.xcom_pull(task_ids='open_incident')['incident_id'] }}"


def _slug(option: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", option.lower()).strip("_")


def _params(playbook: Playbook) -> dict[str, Param]:
    params = {}
    for name, schema in field_schemas(playbook).items():
        spec = dict(schema)
        default = spec.pop("default", None) if "default" in spec else ...
        params[name] = Param(default, **spec) if default is not ... else Param(**spec)
    return params


def _decision(playbook: Playbook, recover_ids: dict[str, str]) -> PlaybookApprovalOperator | PlaybookBranchOperator:
    decision = playbook.decision
    common = {
        "task_id": "decide",
        "subject": f"{playbook.playbook_id} {playbook.title}: {decision.question}",
        "body": f"Incident {INCIDENT} — `bucket-gov incident show {INCIDENT}`. Escalated to {playbook.escalation_text}.",
    }
    if decision.operator == "approval":
        return PlaybookApprovalOperator(**common)
    return PlaybookBranchOperator(options=list(decision.options), options_mapping=recover_ids, **common)


def _build(playbook: Playbook) -> DAG:
    with DAG(
        dag_id=playbook.dag_id,
        doc_md=f"## {playbook.playbook_id} {playbook.title}\n\nContainment: {playbook.containment_text}. "
        f"Escalation: {playbook.escalation_text}. Human step: {playbook.recovery_text}.\n\n{__doc__}",
        schedule=None,
        start_date=datetime(2026, 1, 1, tzinfo=UTC),
        catchup=False,
        default_args=governance_default_args(retry_delay=timedelta(seconds=30)),
        tags=["bucket-governance", "playbook", f"playbook-{playbook.playbook_id.lower()}"],
        params=_params(playbook),
    ) as dag:
        validate = PlaybookFormOperator(task_id="validate_form", playbook=playbook.playbook_id)
        opened = OpenIncidentOperator(task_id=OPEN_TASK, playbook=playbook.playbook_id)
        evidence = PlaybookStepOperator(task_id="preserve_evidence", step="evidence")
        contain = PlaybookStepOperator(task_id="contain", step="contain")
        escalate = PlaybookStepOperator(task_id="escalate", step="escalate")
        options = playbook.decision.options if playbook.decision.operator == "branch" else ("Approve",)
        recover_ids = {o: f"recover_{_slug(o)}" if len(options) > 1 else "recover" for o in options}
        decide = _decision(playbook, recover_ids if len(options) > 1 else {})
        close = PlaybookStepOperator(task_id="close", step="close", trigger_rule="none_failed")
        validate >> opened >> evidence >> contain >> escalate >> decide
        for task_id in dict.fromkeys(recover_ids.values()):
            decide >> PlaybookStepOperator(task_id=task_id, step="recover") >> close
    return dag


for _playbook in PLAYBOOKS.values():
    globals()[_playbook.dag_id] = _build(_playbook)
