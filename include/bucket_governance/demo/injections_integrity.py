"""Demo injections that go around the gate: tampering only the audit-integrity pipeline can see.

* ``smuggled_artifact_version`` — an artifact version inserted straight into the database, pointing at
  a ledger entry that records something else (a READ): T5.direct_db_access (and T8.selective_omission).
* ``backdated_ledger_entry`` — with the append-only guards dropped for a moment (as a privileged attacker
  would), one ledger entry's time is moved two hours back, then the guards are put back:
  T8.timestamp_manipulation at that sequence number (its hash no longer matches either).
"""

from __future__ import annotations

from sqlalchemy import insert, select, text, update

from bucket_governance.bucket.requests import AccessRequest
from bucket_governance.db.guards import drop_guard_statements, guard_statements
from bucket_governance.db.tables import artifact_versions, ledger_entries
from bucket_governance.demo.injection_context import InjectionContext, InjectionTarget
from bucket_governance.demo.injections import injection
from bucket_governance.policy import Operation

TWO_HOURS_US = 2 * 3_600_000_000


def _read(ctx: InjectionContext, product_id: str) -> int:
    """One allowed READ of the product's newest clean artifact; returns its ledger seq."""
    records = ctx.clean_artifacts(product_id)
    artifact_id = records[-1].artifact_id if records else None
    outcome = ctx.submit(
        AccessRequest(Operation.READ, f"{product_id}.engineer", f"{product_id}.gateway", product_id, artifact_id)
    )
    return outcome.seq


@injection(
    "smuggled_artifact_version",
    rule_id="T5.direct_db_access",
    description="a gurukul artifact version is inserted straight into the database, with no CREATE entry of its own",
    day_fraction=0.86,
    hour_utc=10,
    expected_decision="ALLOW",
    # SPEC §2 names a version without its ledger entry under both rules.
    also_fires=("T8.selective_omission",),
)
def _smuggled_artifact_version(ctx: InjectionContext) -> InjectionTarget:
    seq = _read(ctx, "gurukul")  # the entry the smuggled row will point at: it records a READ
    artifact_id = "gurukul-smuggled-00000001"
    with ctx.engine.begin() as conn:
        template = conn.execute(
            select(artifact_versions).where(artifact_versions.c.product_id == "gurukul").limit(1)
        ).first()
        if template is None:
            raise RuntimeError("smuggled_artifact_version needs one gurukul artifact to copy")
        row = {**template._asdict(), "artifact_id": artifact_id, "version": 1, "ledger_seq": seq}
        row["created_at_us"] = ctx.times_us[-1]
        row["claimed_at_us"] = None  # a copied claim would look backdated (T2): this incident is T5/T8 only
        conn.execute(insert(artifact_versions).values(row))
    ctx.artifact_ids.append(artifact_id)
    return InjectionTarget("gurukul", f"artifact:{artifact_id}@1", "artifact")


@injection(
    "backdated_ledger_entry",
    rule_id="T8.timestamp_manipulation",
    description="a privileged attacker drops the guards and moves one workflow ledger entry two hours back",
    day_fraction=0.09,
    hour_utc=19,
    expected_decision="ALLOW",
    # Moving the time changes the entry's bytes: its stored hash no longer matches (SPEC §2 T8.selective_omission).
    also_fires=("T8.selective_omission",),
)
def _backdated_ledger_entry(ctx: InjectionContext) -> InjectionTarget:
    seq = _read(ctx, "workflow")
    dialect = ctx.engine.dialect.name
    with ctx.engine.begin() as conn:
        for statement in drop_guard_statements(dialect):
            conn.execute(text(statement))
        conn.execute(
            update(ledger_entries)
            .where(ledger_entries.c.seq == seq)
            .values(recorded_at_us=ledger_entries.c.recorded_at_us - TWO_HOURS_US)
        )
        for statement in guard_statements(dialect):
            conn.execute(text(statement))
    return InjectionTarget("workflow", f"seq:{seq}", "product")
