"""T1 Storage exhaustion: each rule on a crafted case it must fire on, and on a near miss it must not."""

from __future__ import annotations

import json

import pytest

from tests.unit.threats.conftest import T0, RuleBench, subjects

pytestmark = pytest.mark.unit
DAY_S = 86_400
MIB = 1024 * 1024


def autosaves(bench: RuleBench, count: int) -> None:
    """``count`` tiny gurukul lessons at the bench's current instant (one rate bucket), in batches of 500."""
    for start in range(0, count, 500):
        batch = [bench.lesson(artifact_id=None, payload=b"{}") for _ in range(min(500, count - start))]
        assert all(o.allowed for o in bench.store.create_batch(batch))


def test_rapid_writes_fires_above_the_product_rate_and_not_at_it(bench: RuleBench) -> None:
    rule = "T1.rapid_writes"
    autosaves(bench, 1200)  # gurukul's rate is 20/s: 1,200 in a 60 s bucket is exactly at it
    assert subjects(bench.scan(rule), rule) == []

    autosaves(bench, 1)
    result = bench.scan(rule)

    assert subjects(result, rule) == ["gurukul"]
    (hit,) = result.outcomes[0].hits
    assert hit.evidence["buckets"][0]["writes"] == 1201 and hit.evidence["buckets"][0]["safe_rate_per_second"] == 20


def test_large_artifacts_fires_on_a_version_near_the_limit_and_a_refused_one(bench: RuleBench) -> None:
    rule = "T1.large_artifacts"
    floor = int(0.9 * 16 * MIB)
    bench.store.create(bench.lesson("big", payload=b"x" * floor)).raise_if_denied()
    refused = bench.store.create(bench.lesson("huge", actor_id="gurukul.owner", payload=b"x" * (16 * MIB + 1)))
    assert refused.decision.code == "payload_too_large"

    result = bench.scan(rule)

    assert subjects(result, rule) == ["gurukul"]
    (hit,) = result.outcomes[0].hits
    assert [v["artifact_id"] for v in hit.evidence["large_versions"]] == ["big"]
    assert [r["seq"] for r in hit.evidence["refused"]] == [refused.seq]


def test_large_artifacts_silent_just_under_the_size_floor(bench: RuleBench) -> None:
    bench.store.create(bench.lesson("big", payload=b"x" * (int(0.9 * 16 * MIB) - 1))).raise_if_denied()

    assert subjects(bench.scan("T1.large_artifacts"), "T1.large_artifacts") == []


def write_daily_history(bench: RuleBench, days: int = 3, size: int = 1000) -> None:
    """``size`` bytes a day on the days before T0; the baseline then covers 2 days 16 hours (T0 is 08:00)."""
    bench.clock.now_us = T0 - days * DAY_S * 1_000_000
    for day in range(days):
        bench.store.create(bench.lesson(f"daily-{day}", payload=bytes([65 + day]) * size)).raise_if_denied()
        bench.clock.advance(DAY_S)


@pytest.mark.parametrize(("todays_bytes", "fires"), [(5000, False), (7000, True)])
def test_large_artifacts_byte_growth_against_the_daily_baseline(
    bench: RuleBench, todays_bytes: int, fires: bool
) -> None:
    write_daily_history(bench)  # baseline 3,000 bytes / 2.67 days = 1,125 a day; 5 x that is 5,625
    bench.store.create(bench.lesson("today", payload=b"t" * todays_bytes)).raise_if_denied()

    result = bench.scan("T1.large_artifacts")  # the window holds only today's write; the rest is look-back

    assert subjects(result, "T1.large_artifacts") == (["gurukul"] if fires else [])
    if fires:
        (growth,) = result.outcomes[0].hits[0].evidence["byte_growth"]
        assert (growth["bytes"], growth["baseline_bytes_per_day"]) == (7000, 1125)


def nested(depth: int) -> dict[str, object]:
    value: dict[str, object] = {"leaf": 1}
    for _ in range(depth - 1):
        value = {"n": value}
    return value


def test_metadata_explosion_fires_on_refused_and_near_limit_metadata(bench: RuleBench) -> None:
    rule = "T1.metadata_explosion"
    too_deep = bench.store.create(bench.lesson("deep", metadata=nested(9)))
    too_large = bench.store.create(bench.lesson("wide", metadata={"notes": "n" * 17_000}))
    bench.store.create(bench.lesson("near", metadata={"notes": "n" * 14_800})).raise_if_denied()  # >= 14,746

    result = bench.scan(rule)

    assert (too_deep.decision.code, too_large.decision.code) == ("metadata_too_deep", "metadata_too_large")
    assert subjects(result, rule) == ["gurukul"]
    evidence = result.outcomes[0].hits[0].evidence
    assert sorted(r["seq"] for r in evidence["refused"]) == sorted([too_deep.seq, too_large.seq])
    assert [v["artifact_id"] for v in evidence["versions"]] == ["near"]


def test_metadata_explosion_silent_under_the_ratio_and_at_the_allowed_depth(bench: RuleBench) -> None:
    bench.store.create(bench.lesson("near", metadata={"notes": "n" * 14_000})).raise_if_denied()
    bench.store.create(bench.lesson("deep", metadata=nested(8))).raise_if_denied()
    many = {f"k{i}": {"a": [1]} for i in range(20)}  # 40 brackets side by side, depth 3
    bench.store.create(bench.lesson("flat", metadata=many)).raise_if_denied()

    assert subjects(bench.scan("T1.metadata_explosion"), "T1.metadata_explosion") == []


def test_rules_read_only_their_window(bench: RuleBench) -> None:
    bench.store.create(bench.lesson("near", metadata={"notes": "n" * 15_000})).raise_if_denied()
    bench.clock.advance(3600)

    result = bench.scan("T1.metadata_explosion", start_us=bench.clock.now_us)

    assert subjects(result, "T1.metadata_explosion") == []
    assert json.dumps(result.summary())  # the summary stays JSON-able
