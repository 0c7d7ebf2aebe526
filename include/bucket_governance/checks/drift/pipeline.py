"""The schema-drift check over a window: what `bucket-gov drift` and the DAG's mapped task call.

Per product (one idempotent governance run each, pipeline ``schema_drift:<product>``): for each of its
artifact classes, the window's metadata is validated with Great Expectations against the current baseline,
failed expectations are classified into located changes, the result replaces the run's ``drift_results``
rows, every change becomes a T3 finding, and the Data Docs of the product's GX project are rebuilt.
Baselines are only read here — drift never re-baselines.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, delete, insert, select

from bucket_governance.checks.drift.baselines import Baseline, current_baseline
from bucket_governance.checks.drift.classify import Change, classify
from bucket_governance.checks.drift.frame import MetadataWindow, build_frame, load_windows
from bucket_governance.checks.threats.registry import THREATS
from bucket_governance.db.tables_drift import drift_results
from bucket_governance.errors import InvalidInputError
from bucket_governance.policy import LoadedPolicy
from bucket_governance.results.findings import FindingDraft, upsert_findings
from bucket_governance.results.runs import finish_run, start_run

log = logging.getLogger(__name__)
PIPELINE = "schema_drift"
RULE_VERSION = 1


def pipeline_for(product_id: str) -> str:
    return f"{PIPELINE}:{product_id}"


@dataclass
class ClassResult:
    artifact_class: str
    status: str  # clean | drift | no_baseline | no_data
    rows_validated: int = 0
    baseline_id: str | None = None
    changes: list[Change] = field(default_factory=list)
    expectations_total: int = 0
    expectations_failed: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "artifact_class": self.artifact_class,
            "status": self.status,
            "rows_validated": self.rows_validated,
            "baseline_id": self.baseline_id,
            "expectations_total": self.expectations_total,
            "expectations_failed": self.expectations_failed,
            "changes": [c.as_dict() for c in self.changes],
        }


@dataclass
class ProductResult:
    product_id: str
    run_id: str
    window_start_us: int
    window_end_us: int
    classes: list[ClassResult] = field(default_factory=list)
    finding_ids: list[str] = field(default_factory=list)
    data_docs: str | None = None

    @property
    def drifted(self) -> bool:
        return any(c.changes for c in self.classes)

    def summary(self) -> dict[str, Any]:
        """Small and JSON-able: the run row's summary and the DAG task's return value."""
        return {
            "product_id": self.product_id,
            "run_id": self.run_id,
            "status": "findings" if self.drifted else "clean",
            "window_start_us": self.window_start_us,
            "window_end_us": self.window_end_us,
            "classes": {c.artifact_class: c.status for c in self.classes},
            "rows_validated": sum(c.rows_validated for c in self.classes),
            "changes": [
                {"artifact_class": c.artifact_class, "field": ch.field, "change": ch.change, "class": ch.classification}
                for c in self.classes
                for ch in c.changes
            ],
            "finding_ids": self.finding_ids,
            "data_docs": self.data_docs,
        }


def run_drift_check(
    engine: Engine,
    policy: LoadedPolicy,
    *,
    window_start_us: int,
    window_end_us: int,
    products: Iterable[str] | None = None,
    docs_dir: Path | None = None,
) -> list[ProductResult]:
    """Validate each product's window against its current baselines; ``docs_dir/<product>`` holds its GX project."""
    wanted = list(products) if products is not None else [p.id for p in policy.policy.products]
    unknown = [p for p in wanted if p not in policy.products]
    if unknown:
        raise InvalidInputError("product_unknown", f"no product {', '.join(map(repr, unknown))} in the policy")
    return [
        check_product(engine, policy, p, window_start_us, window_end_us, None if docs_dir is None else docs_dir / p)
        for p in wanted
    ]


def check_product(
    engine: Engine, policy: LoadedPolicy, product_id: str, start_us: int, end_us: int, project_dir: Path | None
) -> ProductResult:
    run_id = start_run(engine, pipeline_for(product_id), start_us, end_us)
    result = ProductResult(product_id, run_id, start_us, end_us)
    try:
        _validate_product(engine, policy, result, project_dir)
    except Exception:
        finish_run(engine, run_id, "failed", {"product_id": product_id, "run_id": run_id})
        raise
    finish_run(engine, run_id, "findings" if result.drifted else "clean", result.summary())
    log.info("schema drift %s run %s: %s", product_id, run_id, result.summary()["classes"])
    return result


def _validate_product(engine: Engine, policy: LoadedPolicy, result: ProductResult, project_dir: Path | None) -> None:
    classes = policy.products[result.product_id].artifact_classes
    with engine.connect() as conn:
        windows = load_windows(conn, result.product_id, classes, result.window_start_us, result.window_end_us)
        baselines = {c: current_baseline(conn, result.product_id, c) for c in classes}
    context = None
    for artifact_class in classes:
        baseline, window = baselines[artifact_class], windows[artifact_class]
        if baseline is None or not len(window):
            result.classes.append(ClassResult(artifact_class, "no_baseline" if baseline is None else "no_data"))
            continue
        if context is None:
            from bucket_governance.checks.drift.suite import gx_context

            context = gx_context(project_dir)
        result.classes.append(_validate_class(context, baseline, window))
    if context is not None and project_dir is not None:
        from bucket_governance.checks.drift.suite import build_data_docs

        result.data_docs = build_data_docs(context)
    _record(engine, result)


def _validate_class(context: Any, baseline: Baseline, window: MetadataWindow) -> ClassResult:
    from bucket_governance.checks.drift.suite import validate_frame

    stats = window.stats()
    frame = build_frame(window.rows, {f.name: f.type for f in baseline.fields}, stats)
    validation = validate_frame(context, baseline, frame)
    changes = classify(baseline, window, validation)
    return ClassResult(
        artifact_class=window.artifact_class,
        status="drift" if changes else "clean",
        rows_validated=len(window),
        baseline_id=baseline.baseline_id,
        changes=changes,
        expectations_total=len(validation.outcomes),
        expectations_failed=len(validation.failed),
    )


def _record(engine: Engine, result: ProductResult) -> None:
    """Replace the run's result rows and upsert its findings, in one transaction (a re-run lands on the same rows)."""
    now = time.time_ns() // 1000
    with engine.begin() as conn:
        conn.execute(delete(drift_results).where(drift_results.c.run_id == result.run_id))
        rows = [_result_row(result, c, now) for c in result.classes]
        if rows:
            conn.execute(insert(drift_results), rows)
        drafts = [
            finding_draft(result.product_id, c.artifact_class, c.baseline_id or "", ch)
            for c in result.classes
            for ch in c.changes
        ]
        upserts = upsert_findings(conn, drafts, run_id=result.run_id, now_us=now)
    result.finding_ids = sorted(set(upserts.created + upserts.updated + upserts.suppressed_matches))


def _result_row(result: ProductResult, c: ClassResult, now: int) -> dict[str, Any]:
    return {
        "run_id": result.run_id,
        "product_id": result.product_id,
        "artifact_class": c.artifact_class,
        "window_start_us": result.window_start_us,
        "window_end_us": result.window_end_us,
        "baseline_id": c.baseline_id,
        "status": c.status,
        "rows_validated": c.rows_validated,
        "failing_fields": json.dumps(sorted({ch.field for ch in c.changes})),
        "changes": json.dumps([ch.as_dict() for ch in c.changes], sort_keys=True, default=str),
        "expectations_total": c.expectations_total,
        "expectations_failed": c.expectations_failed,
        "data_docs": result.data_docs,
        "evaluated_at_us": now,
    }


def change_subject(product_id: str, artifact_class: str, field_name: str) -> str:
    return f"{product_id}/{artifact_class}:{field_name}"


def finding_draft(product_id: str, artifact_class: str, baseline_id: str, change: Change) -> FindingDraft:
    """The T3 finding of a change; keyed by baseline, so the same drift against one baseline is one finding.

    The T3 threat rules build the same fingerprint from ``drift_results`` (``checks/threats/rules/t3.py``).
    """
    evidence = {**change.as_dict(), "artifact_class": artifact_class, "baseline_id": baseline_id}
    return FindingDraft(
        rule_id=change.rule_id,
        rule_version=RULE_VERSION,
        threat_id="T3",
        severity=THREATS["T3"].severity,
        product_id=product_id,
        subject=change_subject(product_id, artifact_class, change.field),
        window_key=f"baseline:{baseline_id}",
        first_seen_us=change.first_seen_us,
        last_seen_us=change.last_seen_us,
        evidence=evidence,
        playbook=THREATS["T3"].playbook,
        occurrence_keys=change.occurrence_keys,
        count=change.count,
    )


def drift_results_in(conn: Connection, start_us: int, end_us: int) -> list[dict[str, Any]]:
    """Result rows of drift runs whose window overlaps [start, end), with their changes decoded."""
    query = select(drift_results).where(
        drift_results.c.window_start_us < end_us, drift_results.c.window_end_us > start_us
    )
    rows = []
    for row in conn.execute(query.order_by(drift_results.c.window_start_us, drift_results.c.product_id)):
        doc = dict(row._mapping)
        doc["changes"] = json.loads(doc["changes"])
        doc["failing_fields"] = json.loads(doc["failing_fields"])
        rows.append(doc)
    return rows


def policy_product_ids() -> list[str]:
    """The products of the policy in force: what the drift DAG maps over (read at run time, not parse time)."""
    from bucket_governance.policy import load_policy
    from bucket_governance.settings import get_settings

    return [p.id for p in load_policy(get_settings().policy_dir).policy.products]


def check_product_window(
    engine: Engine, product_id: str, *, window_start_us: int, window_end_us: int
) -> dict[str, Any]:
    """One product's drift check with the policy and Data Docs location from settings; its small summary."""
    from bucket_governance.policy import load_policy
    from bucket_governance.settings import get_settings

    settings = get_settings()
    (result,) = run_drift_check(
        engine,
        load_policy(settings.policy_dir),
        window_start_us=window_start_us,
        window_end_us=window_end_us,
        products=[product_id],
        docs_dir=settings.var_dir / "gx",
    )
    return result.summary()
