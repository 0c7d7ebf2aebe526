"""Threat catalogue, scans, and the scale limits."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from bucket_governance_api.schemas.common import Out, Strict

MAX_SCAN_WINDOW_US = 7 * 24 * 3600 * 1_000_000


class RuleView(Out):
    rule_id: str
    threat_id: str
    threat: str
    pattern: str
    severity: str
    description: str
    playbook: str
    lookback_seconds: int
    version: int
    thresholds: list[str]
    proven_by: str


class ThreatView(Out):
    threat_id: str
    name: str
    severity: str
    playbook: str
    rules: list[RuleView]


class ThreatList(Out):
    threats: list[ThreatView]


class PatternRules(Out):
    pattern: str
    rules: list[RuleView]


class ScanRequest(Strict):
    window_start_us: int | None = Field(None, ge=0, le=2**62, description="default: 15 minutes before the end")
    window_end_us: int | None = Field(None, ge=0, le=2**62, description="default: now")
    threats: list[str] = Field(default_factory=list, max_length=10)
    rule_ids: list[str] = Field(default_factory=list, max_length=64)


class ScanResult(Out):
    window_start_us: int
    window_end_us: int
    rules_evaluated: int
    rules_not_evaluated: dict[str, str]
    findings: list[dict[str, Any]] = Field(description="findings of the caller's products touched by this scan")


class LimitsView(Out):
    product_id: str
    write_rate_per_second: float
    read_rate_per_second: float
    quota_bytes: int
    limits: dict[str, Any]


class ProposedItem(Strict):
    artifact_class: str = Field(min_length=1, max_length=64)
    payload_bytes: int = Field(0, ge=0, le=2**62)
    metadata_bytes: int = Field(0, ge=0, le=2**62)
    metadata_depth: int = Field(0, ge=0, le=10_000)


class ScaleValidateRequest(Strict):
    items: list[ProposedItem] = Field(min_length=1, max_length=10_000)


class Problem(Out):
    code: str
    message: str


class ItemVerdict(Out):
    index: int
    problems: list[Problem]


class ScaleValidateResult(Out):
    ok: bool
    batch_size: int
    batch_level: Literal["safe", "warning", "over"]
    total_bytes: int
    batch_problems: list[Problem]
    items: list[ItemVerdict]


class Proximity(Out):
    limit_name: str
    product_id: str | None
    current: float
    limit: float
    ratio: float
    status: Literal["ok", "warning", "critical"]
    detail: str


class ScaleLists(Out):
    what_scales: list[str]
    what_does_not_scale: list[str]
    never_assume: list[str]
    refusals: list[str]
