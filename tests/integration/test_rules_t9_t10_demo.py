"""T9 and T10 on the demo: each injection is found under its rule and subject, nothing else fires, and the
clean history is silent under these six rules."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine

from bucket_governance.checks.integrity import IntegrityOptions, run_integrity_check
from bucket_governance.checks.threats.scan import scan_window
from bucket_governance.db import make_engine, upgrade_to_head
from bucket_governance.demo import generate_demo
from bucket_governance.demo.injections import REGISTRY
from bucket_governance.demo.invariants import check_clean_history
from bucket_governance.policy import LoadedPolicy

pytestmark = pytest.mark.integration
END_US = 1_800_000_000_000_000
RUN = {"seed": 7, "days": 7, "scale": 0.1, "end_us": END_US}
INJECTIONS = sorted(name for name, i in REGISTRY.items() if i.threat_id in ("T9", "T10"))
MY_RULES = ("T9.deletion_dispute", "T9.ambiguous_owner", "T9.conflicting_retention",
            "T10.missing_why", "T10.unverified_metadata", "T10.timestamp_trust")  # fmt: skip


def _engine(url: str) -> Engine:
    engine = make_engine(url)
    upgrade_to_head(engine)
    return engine


def _reported(engine: Engine, policy: LoadedPolicy, start_us: int, end_us: int) -> set[tuple[str, str]]:
    """Every rule over the whole history, after an audit-integrity run so the T5/T8 rules that read it evaluate."""
    options = IntegrityOptions(full=True)
    run_integrity_check(engine, policy, window_start_us=start_us, window_end_us=end_us + 1, options=options)
    result = scan_window(engine, policy, window_start_us=start_us, window_end_us=end_us + 1, now_us=end_us)
    return {(o.rule_id, h.subject) for o in result.outcomes for h in o.hits}


def test_every_t9_t10_injection_is_found_under_its_rule_and_nothing_else(db_url: str, policy: LoadedPolicy) -> None:
    assert {REGISTRY[n].rule_id for n in INJECTIONS} == set(MY_RULES)
    engine = _engine(db_url)
    demo = generate_demo(engine, policy, **RUN, inject=INJECTIONS)

    reported = _reported(engine, policy, demo.start_us, demo.end_us)
    engine.dispose()

    assert {(i.rule_id, i.subject) for i in demo.incidents} == reported


def test_clean_demo_is_silent_under_t9_and_t10(tmp_path: Path, policy: LoadedPolicy) -> None:
    engine = _engine(f"sqlite:///{tmp_path / 'clean.db'}")
    demo = generate_demo(engine, policy, **RUN, inject="none")
    assert check_clean_history(engine, policy)["provenance_sound"] == []

    reported = _reported(engine, policy, demo.start_us, demo.end_us)
    engine.dispose()

    assert {pair for pair in reported if pair[0] in MY_RULES} == set()
