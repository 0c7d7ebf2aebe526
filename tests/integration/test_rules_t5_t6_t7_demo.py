"""T5 (governance_bypass, emergency_hotfix), T6 and T7 on the demo: each injection is found under its rule and
subject; nothing else fires except the rules an injection declares in ``also_fires`` (same subject, inside its
own ledger entries); the clean history is silent under these eight rules; a rerun adds no finding."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine

from bucket_governance.checks.threats.scan import ScanResult, scan_window
from bucket_governance.db import make_engine, upgrade_to_head
from bucket_governance.demo import generate_demo
from bucket_governance.demo.injections import REGISTRY
from bucket_governance.policy import LoadedPolicy

pytestmark = pytest.mark.integration
END_US = 1_800_000_000_000_000
RUN = {"seed": 7, "days": 7, "scale": 0.1, "end_us": END_US}
MY_RULES = ("T5.governance_bypass", "T5.emergency_hotfix", "T6.automated_request", "T6.repeated_escalation",
            "T6.pressure_pattern", "T7.wrong_product_id", "T7.namespace_collision", "T7.metadata_leakage")  # fmt: skip
INJECTIONS = sorted(name for name, i in REGISTRY.items() if i.rule_id in MY_RULES)


def _engine(tmp_path: Path, name: str) -> Engine:
    engine = make_engine(f"sqlite:///{tmp_path / name}")
    upgrade_to_head(engine)
    return engine


def _scan(engine: Engine, policy: LoadedPolicy, start_us: int, end_us: int) -> ScanResult:
    return scan_window(engine, policy, window_start_us=start_us, window_end_us=end_us + 1, now_us=end_us)


def _pairs(result: ScanResult) -> set[tuple[str, str]]:
    return {(o.rule_id, h.subject) for o in result.outcomes for h in o.hits}


def test_every_injection_is_found_under_its_rule_and_nothing_unexplained_fires(
    engine: Engine, policy: LoadedPolicy
) -> None:  # both dialects: the `engine` fixture runs SQLite and PostgreSQL
    assert {REGISTRY[n].rule_id for n in INJECTIONS} == set(MY_RULES)
    demo = generate_demo(engine, policy, **RUN, inject=INJECTIONS)

    result = _scan(engine, policy, demo.start_us, demo.end_us)
    rerun = _scan(engine, policy, demo.start_us, demo.end_us)

    expected = {(i.rule_id, i.subject) for i in demo.incidents}
    co_firing = {(rule, i.subject): i for i in demo.incidents for rule in i.also_fires}
    assert _pairs(result) == expected | set(co_firing)
    for o in result.outcomes:  # a co-fired hit is explained only by the incident's own entries
        for hit in o.hits:
            if (o.rule_id, hit.subject) in co_firing and (o.rule_id, hit.subject) not in expected:
                incident = co_firing[(o.rule_id, hit.subject)]
                assert set(hit.evidence["ledger_seqs"]) <= set(incident.ledger_seqs), (o.rule_id, hit.subject)
    assert rerun.upserts.created == [] and sorted(rerun.finding_ids) == sorted(result.finding_ids)


def test_injections_are_what_their_rules_describe(tmp_path: Path, policy: LoadedPolicy) -> None:
    engine = _engine(tmp_path, "injected.db")
    demo = generate_demo(engine, policy, **RUN, inject=INJECTIONS)
    engine.dispose()
    incidents = {i.injection: i for i in demo.incidents}

    assert incidents["policy_hotfix"].subject != policy.fingerprint
    assert incidents["policy_hotfix"].decision == "ALLOW" and len(incidents["policy_hotfix"].ledger_seqs) == 3
    assert (
        len(incidents["ai_repeated_escalation"].ledger_seqs)
        >= policy.policy.threat_thresholds.repeated_escalation_requests
    )
    assert incidents["ai_update_request"].also_fires == []  # one request: automated, not repeated


def test_clean_demo_is_silent_under_these_rules(tmp_path: Path, policy: LoadedPolicy) -> None:
    engine = _engine(tmp_path, "clean.db")
    demo = generate_demo(engine, policy, **RUN, inject="none")

    result = _scan(engine, policy, demo.start_us, demo.end_us)
    engine.dispose()

    assert {pair for pair in _pairs(result) if pair[0] in MY_RULES} == set()
    assert {o.rule_id: o.status for o in result.outcomes if o.rule_id in MY_RULES} == dict.fromkeys(
        MY_RULES, "evaluated"
    )
