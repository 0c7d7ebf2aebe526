"""T4 Concurrent write collision: each rule on a crafted case it must fire on, and on a near miss it must not."""

from __future__ import annotations

import pytest
from sqlalchemy import insert, select

from bucket_governance.db.tables import artifact_versions
from tests.unit.threats.conftest import RuleBench, subjects

pytestmark = pytest.mark.unit


def revise(bench: RuleBench, actor: str, expected: int, artifact_id: str = "lesson-1") -> bool:
    request = bench.lesson(artifact_id, actor_id=actor, expected_version=expected, payload=f"v{expected}".encode())
    return bench.store.create(request).allowed


@pytest.mark.parametrize(("conflicts", "fires"), [(2, False), (3, True)])
def test_version_conflict_counts_409s_per_artifact(bench: RuleBench, conflicts: int, fires: bool) -> None:
    bench.store.create(bench.lesson()).raise_if_denied()
    assert revise(bench, "gurukul.owner", 1)
    for _ in range(conflicts):  # stale writers: they all still think the lesson is at version 1
        assert not revise(bench, "gurukul.engineer", 1)
    bench.store.create(bench.lesson("lesson-2")).raise_if_denied()
    for _ in range(2):  # 409s on another artifact (no expected version stated) do not add to lesson-1's
        assert not bench.store.create(bench.lesson("lesson-2", actor_id="gurukul.owner")).allowed

    assert subjects(bench.scan("T4.version_conflict"), "T4.version_conflict") == (["lesson-1"] if fires else [])


def test_concurrent_writes_fires_on_two_writers_within_the_span(bench: RuleBench) -> None:
    bench.store.create(bench.lesson()).raise_if_denied()
    bench.clock.advance(1.5)
    assert revise(bench, "gurukul.owner", 1)  # a second writer 1.5 s later: inside the 2 s span

    result = bench.scan("T4.concurrent_writes")

    assert subjects(result, "T4.concurrent_writes") == ["lesson-1"]
    writers = [v["writer"] for v in result.outcomes[0].hits[0].evidence["versions"]]
    assert writers == ["gurukul.engineer", "gurukul.owner"]


def test_concurrent_writes_silent_on_spaced_writers_and_on_one_fast_writer(bench: RuleBench) -> None:
    bench.store.create(bench.lesson()).raise_if_denied()
    bench.clock.advance(2.5)
    assert revise(bench, "gurukul.owner", 1)  # another writer, but outside the span
    bench.clock.advance(0.1)
    assert revise(bench, "gurukul.owner", 2)  # the same writer again, fast: not a collision

    assert subjects(bench.scan("T4.concurrent_writes"), "T4.concurrent_writes") == []


def skip_a_version(bench: RuleBench, artifact_id: str, version: int) -> None:
    """A version row stored around the gate with a number the gate would never give (a broken constraint)."""
    spare = bench.store.create(bench.lesson("spare", product_id="nowhere"))  # a ledger seq to point at
    av = artifact_versions.c
    with bench.engine.begin() as conn:
        row = dict(conn.execute(select(artifact_versions).where(av.artifact_id == artifact_id)).first()._mapping)  # type: ignore[union-attr]
        conn.execute(insert(artifact_versions).values({**row, "version": version, "ledger_seq": spare.seq}))


def test_race_condition_fires_on_a_missing_version_number(bench: RuleBench) -> None:
    bench.store.create(bench.lesson()).raise_if_denied()
    skip_a_version(bench, "lesson-1", 3)

    result = bench.scan("T4.race_condition")

    assert subjects(result, "T4.race_condition") == ["lesson-1"]
    assert result.outcomes[0].hits[0].evidence["missing_versions"] == [2]


def test_race_condition_silent_on_dense_versions(bench: RuleBench) -> None:
    bench.store.create(bench.lesson()).raise_if_denied()
    assert revise(bench, "gurukul.owner", 1)
    assert revise(bench, "gurukul.engineer", 2)

    assert subjects(bench.scan("T4.race_condition"), "T4.race_condition") == []
