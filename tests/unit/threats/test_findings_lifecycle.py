"""Findings: reruns and overlapping windows update one row; the lifecycle and suppression expiry."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from bucket_governance.db.tables import findings
from bucket_governance.errors import InvalidInputError
from bucket_governance.policy import Operation
from bucket_governance.results.findings import get_finding, transition
from tests.unit.threats.conftest import MINUTE, T0, RuleBench

pytestmark = pytest.mark.unit
RULE = "T6.automated_request"


def finding_rows(bench: RuleBench) -> list[tuple[str, int, str]]:
    with bench.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(select(findings.c.finding_id, findings.c.count, findings.c.status))]


def test_rerun_and_overlapping_window_update_instead_of_duplicating(bench: RuleBench) -> None:
    bench.ask(Operation.UPDATE, "gurukul.agent", "gurukul", "lesson-1")
    bench.ask(Operation.DELETE, "gurukul.agent", "gurukul", "lesson-1")

    first = bench.scan(RULE)
    bench.scan(RULE)  # the same window again
    bench.clock.advance(120)
    bench.ask(Operation.SCHEMA_CHANGE, "gurukul.agent", "gurukul")
    bench.scan(RULE, start_us=T0 - MINUTE, end_us=bench.clock.now_us + MINUTE)  # overlaps the first window

    rows = finding_rows(bench)
    assert len(rows) == 1
    assert rows[0][0] == first.finding_ids[0]
    assert rows[0][1] == 3  # three distinct ledger entries, however often they were seen


def test_lifecycle_ack_resolve_with_reason(bench: RuleBench) -> None:
    bench.ask(Operation.UPDATE, "gurukul.agent", "gurukul", "lesson-1")
    (finding_id,) = bench.scan(RULE).finding_ids

    transition(bench.engine, finding_id, "acknowledged", actor="oncall")
    with pytest.raises(InvalidInputError, match="needs a reason"):
        transition(bench.engine, finding_id, "resolved", actor="oncall")
    resolved = transition(bench.engine, finding_id, "resolved", actor="oncall", reason="agent misconfigured; fixed")

    assert (resolved["status"], resolved["status_reason"]) == ("resolved", "agent misconfigured; fixed")
    with pytest.raises(InvalidInputError, match="cannot become acknowledged"):
        transition(bench.engine, finding_id, "acknowledged", actor="oncall")


def test_suppressed_matches_are_counted_and_expired_suppression_reopens(bench: RuleBench) -> None:
    bench.ask(Operation.UPDATE, "gurukul.agent", "gurukul", "lesson-1")
    (finding_id,) = bench.scan(RULE).finding_ids
    expiry = bench.clock.now_us + 10 * MINUTE
    transition(bench.engine, finding_id, "suppressed", actor="owner", reason="known test agent", until_us=expiry)

    bench.clock.advance(60)
    bench.ask(Operation.UPDATE, "gurukul.agent", "gurukul", "lesson-1")
    during = bench.scan(RULE, end_us=bench.clock.now_us + 1)
    with bench.engine.connect() as conn:
        suppressed = get_finding(conn, finding_id)
    assert (suppressed["status"], suppressed["count"]) == ("suppressed", 2)
    assert during.upserts.suppressed_matches == [finding_id]

    bench.scan(RULE, end_us=expiry + 1)  # a later scan, after the expiry
    with bench.engine.connect() as conn:
        assert get_finding(conn, finding_id)["status"] == "open"
        assert conn.execute(select(func.count()).select_from(findings)).scalar() == 1
