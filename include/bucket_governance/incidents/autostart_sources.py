"""Which results of each pipeline start a playbook: the pipeline-specific half of automatic starts.

``pipeline_starts`` is what the Airflow planning task calls after a pipeline run: it picks the results
that call for a playbook and hands them to ``incidents.autostart`` (forms, de-duplication). Only open
findings start anything — an acknowledged, suppressed or resolved one has a human on it already.

* ``threat_scan``: the run's CRITICAL open findings (the summary's ``critical_findings``).
* ``schema_drift``: the run's open T3 findings → F10 for the drifting product.
* ``audit_integrity``: the open T8 / ``T5.direct_db_access`` findings recorded by the run of the window →
  F7 (one legal case per run) / F1. Read from the database: a tampered run fails its task, so there is
  no summary to read.
* ``capacity_projection``: each product of the summary's ``f8_candidates`` (a CRITICAL limit) → F8.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, select

from bucket_governance.db.tables import findings
from bucket_governance.errors import InvalidInputError
from bucket_governance.incidents.autostart import Candidate, finding_candidates, plan_candidates
from bucket_governance.incidents.registry import PLAYBOOKS
from bucket_governance.policy import LoadedPolicy
from bucket_governance.results.findings import finding_dict
from bucket_governance.results.runs import run_id_for

SOURCES = ("threat_scan", "schema_drift", "audit_integrity", "capacity_projection")
INTEGRITY_RULES = ("T8.%", "T5.direct_db_access")


def _open_findings(engine: Engine, *conditions: Any) -> list[dict[str, Any]]:
    query = select(findings).where(findings.c.status == "open", *conditions).order_by(findings.c.finding_id)
    with engine.connect() as conn:
        return [finding_dict(r) for r in conn.execute(query)]


def _integrity_findings(engine: Engine, window: tuple[int, int]) -> list[dict[str, Any]]:
    from bucket_governance.checks.integrity import PIPELINE

    run_id = run_id_for(PIPELINE, *window)
    rule = findings.c.rule_id
    return _open_findings(engine, findings.c.last_run_id == run_id, rule.like("T8.%") | (rule == INTEGRITY_RULES[1]))


def capacity_candidates(summary: dict[str, Any]) -> list[Candidate]:
    """F8 for each product with a CRITICAL limit; the run + product is the origin (no finding exists)."""
    run_id = str(summary["run_id"])
    return [
        Candidate(
            PLAYBOOKS["F8"],
            {
                "triggered_by": "capacity_projection",
                "product_id": product,
                "level": "critical",
                "source": f"capacity projection run {run_id}: {product} CRITICAL",
            },
            f"capacity.{run_id}.{product}",
            origin_field="source",
        )
        for product in summary.get("f8_candidates") or ()
    ]


def pipeline_starts(
    engine: Engine, policy: LoadedPolicy, source: str, summary: dict[str, Any] | None, window: tuple[int, int]
) -> list[dict[str, Any]]:
    """The playbook runs ``source``'s run over ``window`` (its summary, when it has one) calls for."""
    summary = summary or {}
    if source == "capacity_projection":
        return plan_candidates(engine, capacity_candidates(summary) if summary else [])
    if source == "threat_scan":
        wanted = findings.c.finding_id.in_(summary.get("critical_findings") or [])
        chosen = _open_findings(engine, wanted, findings.c.severity == "CRITICAL")
    elif source == "schema_drift":
        chosen = _open_findings(engine, findings.c.finding_id.in_(summary.get("finding_ids") or []),
                                findings.c.threat_id == "T3")  # fmt: skip
    elif source == "audit_integrity":
        chosen = _integrity_findings(engine, window)
    else:
        raise InvalidInputError("autostart_source_unknown", f"no automatic starts for {source!r}: use one of {SOURCES}")
    return plan_candidates(engine, finding_candidates(engine, policy, chosen, source))
