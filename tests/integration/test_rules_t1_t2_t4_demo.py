"""T1, T2 and T4 on the demo: each injection is found under its rule on its subject, nothing else is reported
(by any of the registered rules), and the clean demo leaves these rules silent."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine

from bucket_governance.checks.threats.scan import ScanResult, scan_window
from bucket_governance.db import make_engine, upgrade_to_head
from bucket_governance.demo import generate_demo
from bucket_governance.demo.result import DemoResult
from bucket_governance.policy import LoadedPolicy

pytestmark = pytest.mark.integration

END_US = 1_790_000_000_000_000
INJECTIONS = (
    "autosave_flood",
    "oversized_trace",
    "metadata_bomb",
    "forged_owner_write",
    "backdated_decision",
    "version_conflict_burst",
    "parallel_lesson_edits",
    "skipped_version",
)
MY_RULES = (
    "T1.rapid_writes",
    "T1.large_artifacts",
    "T1.metadata_explosion",
    "T2.forged_owner",
    "T2.backdated_timestamp",
    "T4.version_conflict",
    "T4.concurrent_writes",
    "T4.race_condition",
)


def demo(tmp_path: Path, policy: LoadedPolicy, inject: str | tuple[str, ...]) -> tuple[Engine, DemoResult]:
    engine = make_engine(f"sqlite:///{tmp_path / 'demo.db'}")
    upgrade_to_head(engine)
    result = generate_demo(engine, policy, seed=7, days=7, scale=0.1, end_us=END_US, inject=list(inject) or "none")
    return engine, result


def reported(result: ScanResult, rules: tuple[str, ...] | None = None) -> set[tuple[str, str]]:
    return {(o.rule_id, h.subject) for o in result.outcomes for h in o.hits if rules is None or o.rule_id in rules}


def scan_all(engine: Engine, policy: LoadedPolicy, demo_result: DemoResult) -> ScanResult:
    return scan_window(
        engine, policy, window_start_us=demo_result.start_us, window_end_us=demo_result.end_us + 1, now_us=END_US
    )


def test_each_injection_is_found_under_its_rule_and_nothing_else_is(tmp_path: Path, policy: LoadedPolicy) -> None:
    engine, result = demo(tmp_path, policy, INJECTIONS)
    try:
        scan = scan_all(engine, policy, result)
    finally:
        engine.dispose()

    expected = {(i.rule_id, i.subject) for i in result.incidents}
    assert len(expected) == len(INJECTIONS)
    assert reported(scan, MY_RULES) == expected
    # Precision across every registered rule: these incidents trip no other rule.
    assert reported(scan) == expected


def test_clean_demo_leaves_these_rules_silent(tmp_path: Path, policy: LoadedPolicy) -> None:
    engine, result = demo(tmp_path, policy, ())
    try:
        scan = scan_all(engine, policy, result)
    finally:
        engine.dispose()

    assert {o.rule_id for o in scan.outcomes} >= set(MY_RULES)
    assert reported(scan, MY_RULES) == set()


@pytest.mark.postgres
def test_the_same_findings_on_postgresql(pg_url: str, policy: LoadedPolicy) -> None:
    engine = make_engine(pg_url)
    try:
        upgrade_to_head(engine)
        result = generate_demo(engine, policy, seed=7, days=7, scale=0.1, end_us=END_US, inject=list(INJECTIONS))
        scan = scan_all(engine, policy, result)
    finally:
        engine.dispose()

    assert reported(scan, MY_RULES) == {(i.rule_id, i.subject) for i in result.incidents}
