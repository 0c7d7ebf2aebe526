"""Run the detection rules over a window and upsert their findings: what `bucket-gov scan` and the DAG call."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine

from bucket_governance.checks.threats.context import Hit, NotEvaluated, RuleContext, RuleOutcome
from bucket_governance.checks.threats.registry import Rule, select_rules
from bucket_governance.policy import LoadedPolicy
from bucket_governance.results.findings import FindingDraft, UpsertSummary, reopen_expired_suppressions, upsert_findings

log = logging.getLogger(__name__)
PIPELINE = "threat_scan"


@dataclass
class ScanResult:
    window_start_us: int
    window_end_us: int
    outcomes: list[RuleOutcome] = field(default_factory=list)
    upserts: UpsertSummary = field(default_factory=UpsertSummary)
    finding_ids: list[str] = field(default_factory=list)

    @property
    def hit_count(self) -> int:
        return sum(len(o.hits) for o in self.outcomes)

    def summary(self) -> dict[str, Any]:
        """Small and JSON-able: what a DAG task returns through XCom (never the raw hits)."""
        return {
            "window_start_us": self.window_start_us,
            "window_end_us": self.window_end_us,
            "rules_evaluated": sum(o.status == "evaluated" for o in self.outcomes),
            "rules_not_evaluated": {o.rule_id: o.detail for o in self.outcomes if o.status == "not_evaluated"},
            "hits_by_rule": {o.rule_id: len(o.hits) for o in self.outcomes if o.hits},
            "findings": self.upserts.as_dict(),
            "finding_ids": self.finding_ids,
        }


def scan_window(
    engine: Engine,
    policy: LoadedPolicy,
    *,
    window_start_us: int,
    window_end_us: int,
    threats: Iterable[str] = (),
    rule_ids: Iterable[str] = (),
    run_id: str | None = None,
    now_us: int | None = None,
) -> ScanResult:
    """Evaluate the selected rules (default: all 30) and upsert their findings in one transaction."""
    rules = select_rules(threats, rule_ids)
    result = ScanResult(window_start_us, window_end_us)
    now = now_us if now_us is not None else time.time_ns() // 1000
    with engine.begin() as conn:
        context = RuleContext(conn, policy, window_start_us, window_end_us)
        result.outcomes = [_evaluate(rule, context) for rule in rules]
        drafts = [
            _draft(rule, hit) for rule, outcome in zip(rules, result.outcomes, strict=True) for hit in outcome.hits
        ]
        reopen_expired_suppressions(conn, now)
        result.upserts = upsert_findings(conn, drafts, run_id=run_id, now_us=now)
    result.finding_ids = sorted(
        set(result.upserts.created + result.upserts.updated + result.upserts.suppressed_matches)
    )
    return result


def _evaluate(rule: Rule, context: RuleContext) -> RuleOutcome:
    produced = rule.detector(context)
    if isinstance(produced, NotEvaluated):
        log.warning("rule %s not evaluated: %s", rule.rule_id, produced.reason)
        return RuleOutcome(rule.rule_id, "not_evaluated", detail=produced.reason)
    return RuleOutcome(rule.rule_id, "evaluated", hits=list(produced))


def _draft(rule: Rule, hit: Hit) -> FindingDraft:
    return FindingDraft(
        rule_id=rule.rule_id,
        rule_version=rule.version,
        threat_id=rule.threat_id,
        severity=rule.severity,
        product_id=hit.product_id,
        subject=hit.subject,
        window_key=hit.key(),
        first_seen_us=hit.first_seen_us,
        last_seen_us=hit.last_seen_us,
        evidence=hit.evidence,
        playbook=rule.playbook,
        occurrence_keys=hit.occurrence_keys,
        count=hit.count,
    )


def scan_threat_window(engine: Engine, threat: str, *, window_start_us: int, window_end_us: int) -> dict[str, Any]:
    """One threat's rules over a window, recorded as its own idempotent run; the DAG's mapped task calls this."""
    from bucket_governance.policy import load_policy
    from bucket_governance.results.runs import finish_run, start_run
    from bucket_governance.settings import get_settings

    policy = load_policy(get_settings().policy_dir)
    run_id = start_run(engine, f"{PIPELINE}:{threat}", window_start_us, window_end_us)
    try:
        result = scan_window(
            engine,
            policy,
            window_start_us=window_start_us,
            window_end_us=window_end_us,
            threats=[threat],
            run_id=run_id,
        )
    except Exception:
        finish_run(engine, run_id, "failed", {"threat": threat})
        raise
    summary = {"threat": threat, "run_id": run_id, **result.summary()}
    finish_run(engine, run_id, "findings" if result.finding_ids else "clean", summary)
    return summary


def combine_summaries(summaries: Iterable[dict[str, Any]], critical_ids: list[str]) -> dict[str, Any]:
    """The DAG's summary task: totals per threat and the critical findings whose playbooks should start."""
    per_threat = {s["threat"]: len(s["finding_ids"]) for s in summaries}
    not_evaluated = {rule: why for s in summaries for rule, why in s["rules_not_evaluated"].items()}
    return {
        "findings_per_threat": per_threat,
        "findings_total": sum(per_threat.values()),
        "rules_not_evaluated": not_evaluated,
        "critical_findings": critical_ids,
    }


def critical_open_findings(engine: Engine, finding_ids: Iterable[str]) -> list[dict[str, Any]]:
    """Of the given findings, those CRITICAL and open: each should start its playbook (recorded on the finding)."""
    from bucket_governance.results.findings import list_findings

    wanted = set(finding_ids)
    with engine.connect() as conn:
        rows = list_findings(conn, statuses=("open",), limit=5000)
    return [f for f in rows if f["finding_id"] in wanted and f["severity"] == "CRITICAL"]
