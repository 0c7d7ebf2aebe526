"""Provenance incidents (T10): a decision without its "why", a parent that never existed, and provenance that
states its own (client) time far from the server's.

The gate does not check provenance, so all three are allowed and stored. Each copies the metadata of its
product's newest stored version, so the schema-drift pipeline sees nothing new; only provenance differs.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from bucket_governance.bucket.requests import CreateRequest
from bucket_governance.db.tables import artifact_versions
from bucket_governance.demo.injection_context import InjectionContext, InjectionTarget
from bucket_governance.demo.injections import injection

DAY_US = 86_400 * 1_000_000
PHANTOM_PARENT = {"artifact_id": "gurukul-00000000", "version": 1}  # ids start at 00000001: never written
CLAIMED_SHIFT_US = 3 * DAY_US  # the provenance says the run started three days before the server saw it


def _newest(ctx: InjectionContext, product_id: str) -> tuple[str, dict[str, Any]]:
    """The class and metadata of the product's newest stored version (the template of a normal write)."""
    av = artifact_versions.c
    query = (
        select(av.artifact_class, av.metadata)
        .where(av.product_id == product_id)
        .order_by(av.created_at_us.desc(), av.artifact_id.desc())
        .limit(1)
    )
    with ctx.engine.connect() as conn:
        row = conn.execute(query).first()
    if row is None:
        return ctx.policy.products[product_id].artifact_classes[0], {}
    return str(row.artifact_class), dict(json.loads(row.metadata))


def _write(ctx: InjectionContext, product_id: str, actor: str, artifact_id: str, provenance: dict[str, Any]) -> None:
    artifact_class, metadata = _newest(ctx, product_id)
    ctx.create(
        CreateRequest(
            actor_id=f"{product_id}.{actor}",
            integration_id=f"{product_id}.gateway",
            product_id=product_id,
            artifact_class=artifact_class,
            owner_id=f"{product_id}.owner",
            artifact_id=artifact_id,
            payload=json.dumps({"injected": artifact_id}, sort_keys=True).encode(),
            metadata=metadata,
            provenance=provenance,
            claimed_at_us=ctx.last_time_us,
        )
    ).raise_if_denied()


@injection(
    "decision_without_intent",
    rule_id="T10.missing_why",
    description="the enforcement service stores a decision whose provenance gives no intent (the 'why')",
    day_fraction=0.27,
    hour_utc=17,
    expected_decision="ALLOW",
)
def _decision_without_intent(ctx: InjectionContext) -> InjectionTarget:
    artifact_id = "enforcement-bulk-00000001"
    _write(ctx, "enforcement", "service", artifact_id, {"source": "enforcement.bulk-import", "parents": []})
    return InjectionTarget("enforcement", artifact_id, "artifact")


@injection(
    "phantom_parent",
    rule_id="T10.unverified_metadata",
    description="a gurukul agent stores content derived from a lesson that was never written",
    day_fraction=0.41,
    hour_utc=7,
    expected_decision="ALLOW",
)
def _phantom_parent(ctx: InjectionContext) -> InjectionTarget:
    artifact_id = "gurukul-derived-00000001"
    provenance = {"source": "gurukul.authoring", "intent": "derive practice from a lesson", "parents": [PHANTOM_PARENT]}
    _write(ctx, "gurukul", "agent", artifact_id, provenance)
    return InjectionTarget("gurukul", artifact_id, "artifact")


@injection(
    "provenance_clock_claim",
    rule_id="T10.timestamp_trust",
    description="a workflow trace whose provenance states it started three days before the server recorded it",
    day_fraction=0.83,
    hour_utc=23,
    expected_decision="ALLOW",
)
def _provenance_clock_claim(ctx: InjectionContext) -> InjectionTarget:
    artifact_id = "workflow-replayed-00000001"
    started = (ctx.last_time_us) - CLAIMED_SHIFT_US
    provenance = {
        "source": "workflow.runner",
        "intent": "replay a run from an offline runner",
        "parents": [],
        "started_at_us": started,
    }
    _write(ctx, "workflow", "service", artifact_id, provenance)
    return InjectionTarget("workflow", artifact_id, "artifact")
