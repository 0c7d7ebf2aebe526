"""Shared steps for the rules that read the audit-integrity pipeline: tamper as an attacker, run the pipeline."""

from __future__ import annotations

from sqlalchemy import text

from bucket_governance.checks.integrity import IntegrityOptions, IntegrityResult, run_integrity_check
from bucket_governance.db.guards import drop_guard_statements
from tests.unit.threats.conftest import MINUTE, T0, RuleBench


def tamper(bench: RuleBench, statement: str, **params: object) -> None:
    with bench.engine.begin() as conn:
        for guard in drop_guard_statements(bench.engine.dialect.name):
            conn.exec_driver_sql(guard)
        conn.execute(text(statement), params)


def integrity_run(bench: RuleBench) -> IntegrityResult:
    """The pipeline over the same window the rule scan uses (default: T0 - 1 min … now + 1 min)."""
    return run_integrity_check(
        bench.engine,
        bench.policy,
        window_start_us=T0 - MINUTE,
        window_end_us=bench.clock.now_us + MINUTE,
        options=IntegrityOptions(full=True),
    )


def write_lessons(bench: RuleBench, count: int) -> None:
    for i in range(count):
        bench.clock.advance(10)
        bench.store.create(bench.lesson(f"lesson-{i}")).raise_if_denied()
