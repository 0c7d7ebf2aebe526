"""The threat catalogue (T1…T10 and their rules) and an on-demand threat scan."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Depends, Path

from bucket_governance.checks.threats.registry import THREATS, Rule, all_rules
from bucket_governance.checks.threats.scan import scan_window
from bucket_governance.results.findings import get_finding
from bucket_governance_api.auth import Reader
from bucket_governance_api.context import ApiContext, get_context
from bucket_governance_api.errors import ApiError
from bucket_governance_api.schemas.common import ERROR_RESPONSES
from bucket_governance_api.schemas.governance import (
    MAX_SCAN_WINDOW_US,
    PatternRules,
    RuleView,
    ScanRequest,
    ScanResult,
    ThreatList,
    ThreatView,
)

router = APIRouter(prefix="/governance/threats", tags=["governance"], responses=ERROR_RESPONSES)
Context = Annotated[ApiContext, Depends(get_context)]
DEFAULT_WINDOW_US = 15 * 60 * 1_000_000  # the threat-scan DAG's schedule


def _threat_view(threat_id: str, rules: list[Rule]) -> ThreatView:
    threat = THREATS[threat_id]
    return ThreatView(
        threat_id=threat.threat_id,
        name=threat.name,
        severity=threat.severity,
        playbook=threat.playbook,
        rules=[RuleView(**r.as_dict()) for r in rules if r.threat_id == threat_id],
    )


@router.get("", response_model=ThreatList)
def list_threats(_caller: Reader) -> ThreatList:
    """T1…T10 with their detection rules, severities and playbooks."""
    rules = all_rules()
    return ThreatList(threats=[_threat_view(t, rules) for t in THREATS])


@router.get("/pattern/{pattern}", response_model=PatternRules)
def rules_by_pattern(pattern: Annotated[str, Path(min_length=1, max_length=64)], _caller: Reader) -> PatternRules:
    """The rules detecting ``pattern`` (e.g. ``rapid_writes``), across threats."""
    matching = [RuleView(**r.as_dict()) for r in all_rules() if r.pattern == pattern]
    if not matching:
        raise ApiError(404, "pattern_unknown", f"no rule detects a pattern named {pattern!r}; see /governance/threats")
    return PatternRules(pattern=pattern, rules=matching)


@router.get("/{threat_id}", response_model=ThreatView)
def get_threat(threat_id: Annotated[str, Path(min_length=1, max_length=8)], _caller: Reader) -> ThreatView:
    """One threat and its rules."""
    if threat_id not in THREATS:
        raise ApiError(404, "threat_unknown", f"no threat {threat_id!r}: the catalogue is T1…T10")
    return _threat_view(threat_id, all_rules())


def _window(body: ScanRequest) -> tuple[int, int]:
    end = body.window_end_us if body.window_end_us is not None else time.time_ns() // 1000
    start = body.window_start_us if body.window_start_us is not None else end - DEFAULT_WINDOW_US
    if start >= end:
        raise ApiError(422, "window_invalid", "window_start_us must be earlier than window_end_us")
    if end - start > MAX_SCAN_WINDOW_US:
        raise ApiError(422, "window_too_large", "a scan through the API covers at most 7 days; use the DAG for more")
    return start, end


@router.post("/scan", response_model=ScanResult)
def scan(body: ScanRequest, caller: Reader, ctx: Context) -> ScanResult:
    """Run the rules over a window now — the library call the threat-scan DAG makes.

    Findings are stored for every product (rules read the whole Bucket); the answer lists only those of
    the caller's products.
    """
    start, end = _window(body)
    result = scan_window(
        ctx.engine, ctx.policy, window_start_us=start, window_end_us=end, threats=body.threats, rule_ids=body.rule_ids
    )
    with ctx.engine.connect() as conn:
        found = [get_finding(conn, fid) for fid in result.finding_ids]
    summary = result.summary()
    return ScanResult(
        window_start_us=start,
        window_end_us=end,
        rules_evaluated=summary["rules_evaluated"],
        rules_not_evaluated=summary["rules_not_evaluated"],
        findings=[f for f in found if f["product_id"] in caller.readable_products],
    )
