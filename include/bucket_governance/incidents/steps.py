"""The steps of a playbook run, each one library call (the DAG's operators and the CLI call these).

validate → open (or attach) → preserve evidence → contain → escalate → human decision → recover → close.
Every step appends to the incident's timeline; every gate change and every decision is a ledger entry.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, select

from bucket_governance.db.tables import gate_controls
from bucket_governance.errors import GovernanceError, InvalidInputError, RequestDeniedError
from bucket_governance.incidents import actions, containment, records
from bucket_governance.incidents.forms import validate_form
from bucket_governance.incidents.inputs import Form
from bucket_governance.incidents.registry import PLAYBOOKS, Playbook, get_playbook
from bucket_governance.policy import LoadedPolicy

PLAYBOOK_ACTOR = "governance.playbook"  # the automation's own name in timelines and the ledger
AIRFLOW_USER = "airflow-user:"  # how a decision answered in Airflow names its user (see operators/playbooks.py)


class AuthorityRefusedError(GovernanceError):
    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__("authority_refused", message)


def validate(policy: LoadedPolicy, playbook_id: str, submitted: dict[str, Any]) -> Form:
    """The whole form checked before anything is done: schema, unknown keys, and names the policy must know."""
    playbook = get_playbook(playbook_id)
    if not isinstance(submitted, dict):
        raise InvalidInputError("form_invalid", f"{playbook.playbook_id} trigger form must be a JSON object")
    form = validate_form(playbook, submitted)
    containment.check_references(policy, playbook.playbook_id, form)
    return form


def start(engine: Engine, policy: LoadedPolicy, playbook_id: str, submitted: dict[str, Any]) -> dict[str, Any]:
    form = validate(policy, playbook_id, submitted)
    playbook = get_playbook(playbook_id)
    incident_id, attached = records.open_incident(engine, playbook, form, actor=form.triggered_by)
    return {"incident_id": incident_id, "attached": attached, "playbook": playbook.playbook_id,
            "subject": playbook.subject(form)}  # fmt: skip


def _loaded(engine: Engine, incident_id: str) -> tuple[Playbook, Form, dict[str, Any]]:
    with engine.connect() as conn:
        incident = records.get_incident(conn, incident_id)
    playbook = PLAYBOOKS[incident["playbook"]]
    return playbook, playbook.form.model_validate(incident["inputs"]), incident


def contain(engine: Engine, policy: LoadedPolicy, incident_id: str) -> list[dict[str, Any]]:
    """Apply the playbook's automatic containment; each control is a ledger entry, effective on the next request."""
    playbook, form, _ = _loaded(engine, incident_id)
    if playbook.playbook_id == "F6":
        _verify_authority(engine, policy, incident_id, form)
    if playbook.playbook_id == "F3":
        seq = actions.record_action(engine, policy, "request_recorded", actor=PLAYBOOK_ACTOR,
                                    product_id=form.product_id,  # type: ignore[attr-defined]
                                    details={"incident_id": incident_id, "form": form.model_dump(mode="json")})  # fmt: skip
        records.add_event(engine, incident_id, "contained", actor=PLAYBOOK_ACTOR, seq=seq, status="contained",
                          detail={"actions": [], "note": "none; request recorded"})  # fmt: skip
        return []
    reason = f"{playbook.playbook_id} {playbook.title} ({incident_id})"
    results = [
        actions.place_control(engine, policy, spec, actor=PLAYBOOK_ACTOR, reason=reason, incident_id=incident_id)
        for spec in containment.plan(engine, policy, playbook.playbook_id, form)
    ]
    done = [r.as_dict() for r in results]
    records.add_event(engine, incident_id, "contained", actor=PLAYBOOK_ACTOR, detail={"actions": done},
                      seq=results[0].seq if results else None, status="contained")  # fmt: skip
    return done


def _verify_authority(engine: Engine, policy: LoadedPolicy, incident_id: str, form: Any) -> None:
    refusal = containment.auditor_authority(policy, form)
    seq = actions.record_action(engine, policy, "verify_authority", actor=PLAYBOOK_ACTOR, product_id=None,
                                details={"incident_id": incident_id, "auditor_id": form.auditor_id,
                                         "scope": list(form.scope), "refusal": refusal})  # fmt: skip
    if refusal is None:
        records.add_event(engine, incident_id, "authority_verified", actor=PLAYBOOK_ACTOR, seq=seq)
        return
    records.add_event(engine, incident_id, "closed", actor=PLAYBOOK_ACTOR, seq=seq, status="closed",
                      outcome="authority_refused", detail={"refusal": refusal})  # fmt: skip
    raise AuthorityRefusedError(f"F6 stopped: {refusal}; nothing will be disclosed ({incident_id} closed)")


def escalate(engine: Engine, incident_id: str, *, channels: list[str]) -> dict[str, Any]:
    """Record the escalation (role, deadline, where it was sent); the notifier does the sending."""
    playbook, _form, incident = _loaded(engine, incident_id)
    message = (
        f"[{playbook.playbook_id}] {playbook.title}: {incident['subject']} — incident {incident_id}; "
        f"escalated to {playbook.escalation_role} ({playbook.escalation_text}); decide: {playbook.decision.question}"
    )
    detail = {"role": playbook.escalation_role, "due_us": incident["escalation_due_us"], "channels": channels,
              "message": message}  # fmt: skip
    records.add_event(engine, incident_id, "escalated", actor=PLAYBOOK_ACTOR, detail=detail,
                      status="awaiting_decision", escalated_at_us=records.now_us())  # fmt: skip
    return detail


def record_decision(
    engine: Engine, policy: LoadedPolicy, incident_id: str, option: str, *, by: str, extra: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The human decision, as a ledger entry and on the incident (the recovery step acts on it)."""
    playbook, _, _incident = _loaded(engine, incident_id)
    if option not in playbook.decision.options:
        raise InvalidInputError(
            "decision_invalid", f"{option!r} is not an option of {playbook.playbook_id}: {playbook.decision.options}"
        )
    decision = {"option": option, "by": by, "at_us": records.now_us(), "extra": extra or {},
                "recovery": playbook.decision.recovery[option], "outcome": playbook.decision.outcome[option]}  # fmt: skip
    seq = actions.record_action(engine, policy, "playbook_decision", actor=by[:64], product_id=None,
                                details={"incident_id": incident_id, "option": option, "extra": extra or {}})  # fmt: skip
    records.add_event(engine, incident_id, "decided", actor=by, detail=decision, seq=seq, status="recovering",
                      decision=json.dumps(decision, sort_keys=True))  # fmt: skip
    return decision


def recover(engine: Engine, policy: LoadedPolicy, incident_id: str, *, actor: str) -> list[dict[str, Any]]:
    """Apply the recovery the decision chose: lift this incident's controls, keep them, or record the outcome."""
    _playbook, form, incident = _loaded(engine, incident_id)
    decision = incident["decision"]
    if decision is None:
        raise InvalidInputError("decision_missing", f"{incident_id} has no human decision yet: nothing to recover")
    kind = decision["recovery"]
    done: list[dict[str, Any]] = []
    if kind == "approve_policy":
        done.append(_approve_policy(engine, policy, form))
    if kind == "approve_baseline":  # a refused approval raises: the quarantine stays
        done.append(_approve_baseline(engine, policy, form, decision["by"], incident_id))
    if kind == "lift_when_reverted":
        done.append(_revert_check(engine, policy, incident_id))
    _refuse_if_refused(engine, incident_id, done, actor=actor)
    if kind in ("lift", "approve_policy", "approve_baseline", "lift_when_reverted"):
        done += [r.as_dict() for r in _lift_all(engine, policy, incident_id, actor)]
    if kind == "record":
        seq = actions.record_action(engine, policy, "recovery_recorded", actor=PLAYBOOK_ACTOR, product_id=None,
                                    details={"incident_id": incident_id, "outcome": decision["outcome"]})  # fmt: skip
        done.append({"action": "recovery_recorded", "outcome": decision["outcome"], "seq": seq})
    records.add_event(engine, incident_id, "recovered", actor=actor, detail={"recovery": kind, "actions": done})
    return done


def _approve_policy(engine: Engine, policy: LoadedPolicy, form: Any) -> dict[str, Any]:
    from bucket_governance.bucket.policy_approval import approve_policy

    if policy.fingerprint != form.proposed_fingerprint:
        return {"action": "approve_policy", "refusal": "policy_not_in_force",
                "message": "the proposed fingerprint is not the policy in force; deploy it, then approve again"}  # fmt: skip
    outcome = approve_policy(engine, policy, form.approver_id, basis="F4 playbook decision")
    return {"action": "approve_policy", **outcome.as_dict()}


def _refuse_if_refused(engine: Engine, incident_id: str, done: list[dict[str, Any]], *, actor: str) -> None:
    """A refused recovery step keeps the containment in place and fails the step (Airflow: clear the task to
    retry once the cause is fixed); the refusal is on the incident's timeline."""
    refused = next((step for step in done if "refusal" in step), None)
    if refused is None:
        return
    records.add_event(engine, incident_id, "recovery_refused", actor=actor, detail=refused)
    raise RequestDeniedError(str(refused["refusal"]), str(refused["message"]))


def _revert_check(engine: Engine, policy: LoadedPolicy, incident_id: str) -> dict[str, Any]:
    """F4 "Revert": the pin is lifted only once the policy in force is the one the pin enforces (the newest
    approval, else the fingerprint pinned when the playbook ran); until then the gate keeps refusing writes
    under the relaxed policy."""
    from bucket_governance.bucket.policy_approval import last_approval

    with engine.connect() as conn:
        approved = last_approval(conn)
        pinned = approved.fingerprint if approved else _pinned_by(conn, incident_id)
    if pinned == policy.fingerprint:
        return {"action": "revert_confirmed", "fingerprint": policy.fingerprint}
    return {"action": "revert_confirmed", "refusal": "policy_not_reverted",
            "message": f"the policy in force ({policy.fingerprint}) is not the approved one ({pinned}): "
                       "the pin stays until it is reverted"}  # fmt: skip


def _pinned_by(conn: Connection, incident_id: str) -> str | None:
    pins = [row for row in _placed_by(conn, incident_id) if row.kind == "pin_policy"]
    return str(json.loads(pins[-1].parameters).get("fingerprint")) if pins else None


def _placed_by(conn: Connection, incident_id: str, *, active_only: bool = False) -> list[Any]:
    """The gate controls an incident placed (containment writes its id into their parameters), oldest first."""
    g = gate_controls.c
    query = select(g.kind, g.subject, g.parameters).where(g.parameters.contains(f'"incident_id": "{incident_id}"'))
    if active_only:
        query = query.where(g.lifted_at_us.is_(None))
    return list(conn.execute(query.order_by(g.control_id)))


def _approve_baseline(engine: Engine, policy: LoadedPolicy, form: Any, by: str, incident_id: str) -> dict[str, Any]:
    """F10 "Approve as new baseline": the drifting artifacts' versions profiled into a proposed baseline,
    approved as the human who decided — an owner of the product (an Airflow user answers as its user name,
    which must be the owner's actor id). Without named artifacts, the newest proposal (made with
    `bucket-gov drift baseline`) is approved."""
    from bucket_governance.checks.drift.baselines import approve_baseline, propose_baseline

    scope = {"product_id": form.product_id, "artifact_class": form.artifact_class}
    window, version = _drift_window(engine, form), None
    if window is not None:
        proposal = propose_baseline(engine, policy, **scope, window_start_us=window[0], window_end_us=window[1],
                                    proposed_by=f"{PLAYBOOK_ACTOR}:{incident_id}")  # fmt: skip
        version = proposal.version
    approver = by.removeprefix(AIRFLOW_USER)[:64]
    baseline = approve_baseline(engine, policy, **scope, actor_id=approver, version=version)
    return {"action": "approve_baseline", "baseline_id": baseline.baseline_id, "approved_by": approver,
            "seq": baseline.approval_seq, "profiled": window}  # fmt: skip


def _drift_window(engine: Engine, form: Any) -> tuple[int, int] | None:
    """The tightest window holding every version of the drifting artifacts (None when none are named)."""
    from sqlalchemy import func

    from bucket_governance.db.tables import artifact_versions

    av = artifact_versions.c
    query = select(func.min(av.created_at_us), func.max(av.created_at_us)).where(
        av.artifact_id.in_(form.artifact_ids), av.product_id == form.product_id,
        av.artifact_class == form.artifact_class,
    )  # fmt: skip
    with engine.connect() as conn:
        first, last = conn.execute(query).one()
    return None if first is None else (int(first), int(last) + 1)


def _lift_all(engine: Engine, policy: LoadedPolicy, incident_id: str, actor: str) -> list[actions.ActionResult]:
    with engine.connect() as conn:
        rows = _placed_by(conn, incident_id, active_only=True)
    lifted = []
    for row in rows:
        spec = actions.ControlSpec(row.kind, row.subject, _product_of_subject(policy, row.subject))
        result = actions.lift_control(engine, policy, spec, actor=actor[:64], reason=f"recovery of {incident_id}",
                                      incident_id=incident_id)  # fmt: skip
        if result is not None:
            lifted.append(result)
    return lifted


def _product_of_subject(policy: LoadedPolicy, subject: str) -> str | None:
    if subject in policy.products:
        return subject
    actor = policy.actors.get(subject)
    return actor.product if actor is not None else None


def close(engine: Engine, incident_id: str, *, actor: str) -> dict[str, Any]:
    with engine.connect() as conn:
        incident = records.get_incident(conn, incident_id)
    if incident["status"] == "closed":
        return incident
    outcome = (incident["decision"] or {}).get("outcome", "closed_without_decision")
    records.add_event(engine, incident_id, "closed", actor=actor, status="closed", outcome=outcome,
                      detail={"outcome": outcome})  # fmt: skip
    with engine.connect() as conn:
        return records.get_incident(conn, incident_id)


def evidence_scope(playbook: Playbook, form: Any) -> Any:
    from bucket_governance.incidents.evidence import Scope

    def values(*names: str) -> tuple[str, ...]:
        found: list[str] = []
        for name in names:
            value = getattr(form, name, None)
            found += value if isinstance(value, list) else [value] if value else []
        return tuple(dict.fromkeys(found))

    wanted = set(playbook.evidence_scope)
    return Scope(
        actors=values("actor_id") if "actors" in wanted else (),
        artifacts=values("artifact_ids") if "artifacts" in wanted else (),
        products=values("product_id", "product_ids", "scope") if "products" in wanted else (),
        ledger_verification="ledger_verification" in wanted,
    )


def preserve_evidence(
    engine: Engine, policy: LoadedPolicy, incident_id: str, evidence_root: Path, signer: Any
) -> dict[str, Any]:
    """Write the incident's evidence bundle under ``evidence_root/<incident_id>`` and anchor its root hash."""
    from bucket_governance.incidents.evidence import build_bundle

    playbook, form, incident = _loaded(engine, incident_id)
    out_dir = evidence_root / incident_id
    if incident["evidence_root"]:  # a retried task: the bundle exists and is anchored already
        return {"dir": incident["evidence_dir"], "root_hash": incident["evidence_root"], "reused": True}
    if out_dir.exists():
        shutil.rmtree(out_dir)  # a half-written bundle of a failed attempt, never anchored
    manifest = build_bundle(engine, evidence_scope(playbook, form), out_dir, signer, incident=incident)
    seq = actions.record_action(engine, policy, "evidence_preserved", actor=PLAYBOOK_ACTOR, product_id=None,
                                details={"incident_id": incident_id, "root_hash": manifest["root_hash"],
                                         "files": len(manifest["files"]), "checkpoint_id": manifest["checkpoint_id"]})  # fmt: skip
    detail = {"dir": str(out_dir), "root_hash": manifest["root_hash"], "files": len(manifest["files"]),
              "checkpoint_id": manifest["checkpoint_id"], "tree_size": manifest["tree_size"]}  # fmt: skip
    records.add_event(engine, incident_id, "evidence_preserved", actor=PLAYBOOK_ACTOR, detail=detail, seq=seq,
                      evidence_dir=str(out_dir), evidence_root=manifest["root_hash"])  # fmt: skip
    return detail


def load_evidence_signer(key_path: Path) -> Any:
    """The checkpoint signer for bundles; a missing key is bad setup, said plainly."""
    from bucket_governance.cli.commands_bucket import CHECKPOINT_KEY_NAME
    from bucket_governance.incidents.evidence import Signer
    from bucket_governance.ledger.checkpoint import load_signing_key

    if not key_path.exists():
        raise InvalidInputError(
            "signing_key_missing", f"evidence needs the checkpoint signing key at {key_path}: run `bucket-gov init`"
        )
    return Signer(load_signing_key(key_path), CHECKPOINT_KEY_NAME)
