"""Legal ownership incidents (T9): a removal disputed by a non-owner, an owner nobody can answer for, and a
retention that ends while a legal hold stands.

All three go through the governed store and are refused by the gate; none adds a metadata field, so the
schema-drift pipeline sees nothing new. The legal hold is placed the way ADR 0004 records controls: a
``gate_controls`` row plus its ``GOVERNANCE_ACTION`` ledger entry (until the F7 playbook places holds itself).
"""

from __future__ import annotations

import json

from sqlalchemy import Engine, insert

from bucket_governance.bucket.requests import AccessRequest, CreateRequest
from bucket_governance.db.engine import lock_ledger
from bucket_governance.db.tables import gate_controls
from bucket_governance.demo.injection_context import InjectionContext, InjectionTarget
from bucket_governance.demo.injections import _latest_or_setup, injection
from bucket_governance.ledger.chain import EntryDraft, append_entries, ledger_head
from bucket_governance.policy import LoadedPolicy, Operation

UNKNOWN_OWNER = "gurukul.curriculum-board"  # not an actor of the policy: nobody can answer for the lesson
STATED_RETENTION_DAYS = 30


def place_legal_hold(
    engine: Engine, policy: LoadedPolicy, *, subject: str, product_id: str, actor_id: str, at_us: int, reason: str
) -> int:
    """Place a legal hold on an artifact or product: the ledger entry and the control row, in one transaction."""
    details = {"action": "place_control", "kind": "legal_hold", "subject": subject, "reason": reason}
    draft = EntryDraft(
        operation=Operation.GOVERNANCE_ACTION.value,
        decision="ALLOW",
        reasons=(),
        actor_id=actor_id,
        integration_id=None,
        product_id=product_id,
        policy_fingerprint=policy.fingerprint,
        artifact_id=subject if subject != product_id else None,
        details=details,
    )
    with engine.begin() as conn:
        lock_ledger(conn)
        (entry,) = append_entries(conn, [draft], [at_us], head=ledger_head(conn))
        conn.execute(
            insert(gate_controls).values(
                kind="legal_hold",
                subject=subject,
                reason=reason,
                placed_by=actor_id,
                placed_at_us=at_us,
                placed_seq=entry.seq,
            )
        )
    return entry.seq


@injection(
    "non_owner_erasure",
    rule_id="T9.deletion_dispute",
    description="a gurukul engineer asks to erase a lesson owned by gurukul.owner, claiming authorship",
    day_fraction=0.22,
    hour_utc=5,
    expected_reasons=("erasure_refused", "not_artifact_owner"),
)
def _non_owner_erasure(ctx: InjectionContext) -> InjectionTarget:
    lesson = _latest_or_setup(ctx, "gurukul", kind="lesson")
    ctx.submit(
        AccessRequest(
            operation=Operation.ERASURE,
            actor_id="gurukul.engineer",
            integration_id="gurukul.gateway",
            product_id="gurukul",
            artifact_id=lesson,
            details={"basis": "I wrote this lesson; remove it under my authorship rights"},
        )
    )
    return InjectionTarget("gurukul", "gurukul.engineer", "actor")


@injection(
    "unknown_owner_write",
    rule_id="T9.ambiguous_owner",
    description=f"a lesson import names {UNKNOWN_OWNER!r}, an owner id no actor of the policy carries; refused",
    day_fraction=0.37,
    hour_utc=21,
    expected_reasons=("owner_not_of_product",),
)
def _unknown_owner_write(ctx: InjectionContext) -> InjectionTarget:
    artifact_id = "gurukul-import-00000001"
    ctx.create(
        CreateRequest(
            actor_id="gurukul.engineer",
            integration_id="gurukul.gateway",
            product_id="gurukul",
            artifact_class="ContentArtifact",
            owner_id=UNKNOWN_OWNER,
            artifact_id=artifact_id,
            payload=json.dumps({"title": "imported lesson", "body": "…"}, sort_keys=True).encode(),
            metadata={},
            provenance={"source": "gurukul.import", "intent": "import the board's curriculum", "parents": []},
            claimed_at_us=ctx.last_time_us,
        )
    )
    return InjectionTarget("gurukul", artifact_id, "artifact")


@injection(
    "held_decision_retention_delete",
    rule_id="T9.conflicting_retention",
    description=(
        "legal places a hold on an enforcement decision; its owner then asks to delete it because its "
        f"{STATED_RETENTION_DAYS}-day retention ended — the retention ends while the hold stands"
    ),
    day_fraction=0.56,
    hour_utc=12,
    expected_reasons=("delete_refused", "legal_hold"),
)
def _held_decision_retention_delete(ctx: InjectionContext) -> InjectionTarget:
    decision = _latest_or_setup(ctx, "enforcement")
    at_us = ctx.record_direct(artifact_ids=(decision,))
    seq = place_legal_hold(
        ctx.engine,
        ctx.policy,
        subject=decision,
        product_id="enforcement",
        actor_id="enforcement.owner",
        at_us=at_us,
        reason="litigation notice about this decision",
    )
    ctx.setup_seqs.append(seq)
    ctx.submit(
        AccessRequest(
            operation=Operation.DELETE,
            actor_id="enforcement.owner",
            integration_id="enforcement.gateway",
            product_id="enforcement",
            artifact_id=decision,
            details={"basis": "retention period ended", "retention_days": STATED_RETENTION_DAYS},
        )
    )
    return InjectionTarget("enforcement", decision, "artifact")
