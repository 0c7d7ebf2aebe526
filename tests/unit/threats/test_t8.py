from __future__ import annotations

import pytest

from tests.unit.threats.conftest import RuleBench, subjects
from tests.unit.threats.integrity_helpers import integrity_run, tamper, write_lessons

pytestmark = pytest.mark.unit

T8_RULES = ("T8.log_deletion", "T8.timestamp_manipulation", "T8.selective_omission")


def test_t8_rules_fire_on_what_the_integrity_run_found(bench: RuleBench) -> None:
    write_lessons(bench, 6)
    tamper(bench, "UPDATE ledger_entries SET recorded_at_us = recorded_at_us - 60000000 WHERE seq = 4")
    integrity_run(bench)

    result = bench.scan(*T8_RULES)

    assert subjects(result, "T8.log_deletion") == []
    assert subjects(result, "T8.timestamp_manipulation") == ["seq:4"]
    assert subjects(result, "T8.selective_omission") == ["seq:4"]


def test_log_deletion_fires_on_a_gap_and_the_scan_lands_on_the_pipeline_finding(bench: RuleBench) -> None:
    write_lessons(bench, 6)
    tamper(bench, "DELETE FROM artifact_versions WHERE ledger_seq = 3")
    tamper(bench, "DELETE FROM ledger_entries WHERE seq = 3")
    run = integrity_run(bench)

    result = bench.scan("T8.log_deletion")

    assert subjects(result, "T8.log_deletion") == ["seq:3"]
    assert result.upserts.as_dict()["created"] == 0  # the integrity run already created that very finding
    assert run.findings["created"] >= 1


def test_timestamp_manipulation_fires_beyond_the_clock_skew_tolerance(bench: RuleBench) -> None:
    write_lessons(bench, 2)
    bench.clock.advance(-60)  # the server clock jumps back a minute (tolerance: 5 s)
    bench.store.create(bench.lesson("late")).raise_if_denied()
    integrity_run(bench)

    result = bench.scan(*T8_RULES)

    assert subjects(result, "T8.timestamp_manipulation") == ["seq:3"]
    assert subjects(result, "T8.selective_omission") == []  # the entry itself is intact


def test_t8_silent_on_a_clock_going_back_within_the_skew_tolerance(bench: RuleBench) -> None:
    write_lessons(bench, 2)
    bench.clock.advance(-3)  # 3 s back, as two servers' clocks may differ: within the 5 s tolerance
    bench.store.create(bench.lesson("late")).raise_if_denied()
    integrity_run(bench)

    result = bench.scan(*T8_RULES)

    assert all(subjects(result, rule_id) == [] for rule_id in T8_RULES)
    assert all(o.status == "evaluated" for o in result.outcomes)


def test_t8_is_not_evaluated_without_an_integrity_run(bench: RuleBench) -> None:
    write_lessons(bench, 2)

    result = bench.scan(*T8_RULES)

    assert {o.status for o in result.outcomes} == {"not_evaluated"}
