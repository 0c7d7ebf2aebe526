"""The playbook registry F1…F10 — SPEC §3's table as data: form, containment, evidence, escalation, decision.

Everything that runs a playbook (the library steps, the DAGs, the CLI, the generated docs) reads this
registry, so the table in docs/playbooks.md cannot drift from what runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Literal

from pydantic import BaseModel

from bucket_governance.incidents import inputs
from bucket_governance.incidents.inputs import Form

APPROVE, REJECT = "Approve", "Reject"  # the ApprovalOperator's fixed options
# What a recovery option does: lift the incident's controls, keep them, or record an outcome only.
# approve_policy (F4) / approve_baseline (F10) approve as the human who decided, then lift (a refused approval
# lifts nothing); lift_when_reverted (F4) lifts the pin only once the policy in force is the approved one again.
Recovery = Literal["lift", "keep", "record", "approve_policy", "approve_baseline", "lift_when_reverted"]


@dataclass(frozen=True)
class Decision:
    """The human step: an ApprovalOperator (Approve/Reject) or a HITLBranchOperator with named options."""

    operator: Literal["approval", "branch"]
    question: str
    options: tuple[str, ...]
    recovery: dict[str, Recovery]  # option -> what the recovery step does
    outcome: dict[str, str]  # option -> the incident's outcome when closed


@dataclass(frozen=True)
class Playbook:
    playbook_id: str
    title: str
    form: type[Form]
    triggers: str
    containment: tuple[str, ...]  # control kinds placed (gate_controls.kind), in order
    containment_text: str
    evidence_scope: tuple[str, ...]  # actors | artifacts | products | findings | ledger_verification
    escalation_role: str
    escalation_deadline: timedelta | None
    escalation_text: str
    decision: Decision
    recovery_text: str
    subject_field: str  # the form field naming the incident's subject
    tags: tuple[str, ...] = field(default=())

    def subject(self, form: BaseModel) -> str:
        return str(getattr(form, self.subject_field))

    @property
    def dag_id(self) -> str:
        return f"bucket_playbook_{self.playbook_id.lower()}"


def _approval(question: str, on_approve: Recovery, approved: str, rejected: str) -> Decision:
    return Decision(
        "approval",
        question,
        (APPROVE, REJECT),
        {APPROVE: on_approve, REJECT: "keep"},
        {APPROVE: approved, REJECT: rejected},
    )


def _branch(question: str, options: dict[str, tuple[Recovery, str]]) -> Decision:
    return Decision(
        "branch",
        question,
        tuple(options),
        {k: v[0] for k, v in options.items()},
        {k: v[1] for k, v in options.items()},
    )


_MIN = timedelta(minutes=1)
PLAYBOOKS: dict[str, Playbook] = {
    p.playbook_id: p
    for p in (
        Playbook(
            "F1", "Executor writes invalid data", inputs.F1Form, "T5/T2/T7 rules, or manual",
            ("freeze_actor", "quarantine"), "freeze the actor; quarantine what it wrote",
            ("actors", "artifacts", "findings"), "strategic_advisor", 5 * _MIN, "strategic advisor, < 5 min",
            _branch("Review the frozen actor and its quarantined writes", {
                "Unfreeze": ("lift", "unfrozen"), "Keep frozen": ("keep", "kept_frozen")}),
            "review → unfreeze or keep frozen", "actor_id",
        ),
        Playbook(
            "F2", "AI demands schema change / escalates", inputs.F2Form, "T6 rules, or manual",
            ("freeze_actor",), "cooling-off freeze of the AI actor",
            ("actors", "findings"), "strategic_advisor", 5 * _MIN, "strategic advisor, < 5 min",
            _approval("Lift the cooling-off freeze of the AI actor?", "lift", "freeze_lifted", "kept_frozen"),
            "review → lift freeze", "actor_id",
        ),
        Playbook(
            "F3", "Product urgency vs constitution", inputs.F3Form,
            "manual (product, requested change, justification, deadline)",
            (), "none; request recorded",
            ("products", "findings"), "owner", timedelta(hours=24), "owner, decision within 24 h",
            _branch("Approve the requested change as a proposal, or reject it with an alternative", {
                "Approve": ("record", "change_proposal_recorded"),
                "Reject with alternative": ("record", "rejected_with_alternative")}),
            "approve → change proposal recorded (never auto-applied) / reject with alternative", "product_id",
        ),
        Playbook(
            "F4", "Team tries to relax boundaries", inputs.F4Form, "T5.emergency_hotfix, or manual",
            ("pin_policy",), "gate keeps enforcing the last approved policy",
            ("findings",), "strategic_advisor", timedelta(hours=48), "strategic advisor, 48 h",
            _branch("Approve the new policy fingerprint, or have it reverted", {
                "Approve new policy": ("approve_policy", "policy_approved"), "Revert": ("lift_when_reverted", "revert_required")}),
            "approve the new policy fingerprint / revert", "proposed_fingerprint",
        ),
        Playbook(
            "F5", "Provenance questioned", inputs.F5Form, "manual (artifacts, requester, case)",
            ("legal_hold",), "legal hold on the artifacts",
            ("artifacts", "findings"), "legal_counsel", timedelta(days=30), "legal counsel, 30 days",
            _approval("Was the provenance proof bundle delivered? Approve lifts the legal hold.", "lift",
                      "provenance_bundle_delivered", "hold_kept"),
            "provenance proof bundle delivered", "case_id",
        ),
        Playbook(
            "F6", "Auditor demands explanation", inputs.F6Form, "manual (auditor, scope)",
            (), "verify the auditor's authority first",
            ("products", "findings", "ledger_verification"), "audit_team", timedelta(days=14), "audit team, 1–2 weeks",
            _approval("Release the chain-of-custody report and integrity verification to the auditor?", "record",
                      "report_delivered", "report_withheld"),
            "chain-of-custody report + integrity verification", "auditor_id",
        ),
        Playbook(
            "F7", "Legal investigation begins", inputs.F7Form, "manual (case, scope), or T8/T9",
            ("legal_hold",), "legal hold; evidence bundle preserved",
            ("artifacts", "products", "findings", "ledger_verification"), "owner+legal", timedelta(hours=1),
            "owner + legal, < 1 h",
            _approval("Lift the legal hold? (a hold is lifted only by approval)", "lift", "hold_lifted", "hold_kept"),
            "hold lifted only by approval", "case_id",
        ),
        Playbook(
            "F8", "Storage exhaustion emergency", inputs.F8Form, "capacity critical, T1, or manual",
            ("halt_product",), "halt writes of the offending product only (others continue)",
            ("products", "findings"), "ops", timedelta(0), "ops: warning 6 h, critical immediate",
            _branch("Raise the quota or clean up by retention, then resume the product's writes", {
                "Raise quota": ("lift", "resumed_after_quota_raise"),
                "Retention clean-up": ("lift", "resumed_after_cleanup")}),
            "raise quota / retention clean-up → resume", "product_id",
        ),
        Playbook(
            "F9", "Concurrent write cascade failure", inputs.F9Form, "T4 surge, or manual",
            ("throttle",), "throttle writes on the affected artifacts/product",
            ("artifacts", "products", "findings"), "ops", timedelta(0), "ops, immediate",
            _approval("Is the cause fixed? Approve resumes normal writes.", "lift", "resumed", "kept_throttled"),
            "resume after the cause is fixed", "product_id",
        ),
        Playbook(
            "F10", "Schema drift detected", inputs.F10Form, "drift pipeline, or manual",
            ("quarantine",), "quarantine drifting artifacts / reject the new schema at the gate",
            ("artifacts", "products", "findings"), "owner", None, "owner",
            _branch("Approve the drifted schema as a new versioned baseline, or keep rejecting it", {
                "Approve as new baseline": ("approve_baseline", "new_baseline_approved"),
                "Keep rejecting": ("keep", "kept_rejecting")}),
            "approve as new versioned baseline / keep rejecting", "product_id",
        ),
    )
}  # fmt: skip


def get_playbook(playbook_id: str) -> Playbook:
    from bucket_governance.errors import InvalidInputError

    playbook = PLAYBOOKS.get(playbook_id.upper())
    if playbook is None:
        raise InvalidInputError(
            "playbook_unknown", f"there is no playbook {playbook_id!r}: use one of {', '.join(PLAYBOOKS)}"
        )
    return playbook


def effective_deadline(playbook: Playbook, form: BaseModel) -> timedelta | None:
    """F8's deadline depends on the level: critical is immediate, a warning gives ops 6 hours."""
    if playbook.playbook_id == "F8" and getattr(form, "level", None) == inputs.Level.WARNING:
        return timedelta(hours=6)
    return playbook.escalation_deadline
