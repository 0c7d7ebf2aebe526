"""The demo generator on a real SQLite file: clean by construction, deterministic, injections with ground truth."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from bucket_governance.bucket.requests import json_depth
from bucket_governance.db import make_engine, upgrade_to_head
from bucket_governance.db.tables import artifact_versions, ledger_entries, payloads
from bucket_governance.demo import INJECTIONS, DemoResult, generate_demo, load_manifest, resolve_injections
from bucket_governance.demo.injection_context import quiet_band_start
from bucket_governance.demo.invariants import CHECKS, check_clean_history
from bucket_governance.demo.manifest import Manifest, write_manifest
from bucket_governance.demo.timeline import (
    HOUR_US,
    QUIET_BAND_US,
    READ_PHASE_US,
    WRITE_PHASE_US,
    ActivityShape,
    SimulatedClock,
    Timeline,
    allocate,
    draw_times,
)
from bucket_governance.errors import InvalidInputError, NotFoundError
from bucket_governance.policy import LoadedPolicy

pytestmark = pytest.mark.unit

END_US = 1_790_000_000_000_000  # 2026-09-21 13:33 UTC: a fixed end keeps every run comparable
SMALL_RUN: dict[str, Any] = {"seed": 7, "days": 7, "scale": 0.2, "end_us": END_US}
TINY_RUN: dict[str, Any] = {"days": 2, "scale": 0.1, "end_us": END_US}
# What the gate must answer to each starting injection, written down independently of the registry.
EXPECTED_INJECTIONS = {
    "ai_update_request": ("T6.automated_request", {"actor_lane_violation", "in_place_update_refused"}),
    "unapproved_integration_write": ("T2.invalid_integration", {"integration_not_approved"}),
    "version_conflict_burst": ("T4.version_conflict", {"version_conflict"}),
    "cross_product_read": ("T7.metadata_leakage", {"cross_product_access"}),
}
L = ledger_entries.c
A = artifact_versions.c


@dataclass
class Run:
    engine: Engine
    result: DemoResult
    manifest_path: Path


def fresh_engine(directory: Path) -> Engine:
    engine = make_engine(f"sqlite:///{directory / 'bucket.db'}")
    upgrade_to_head(engine)
    return engine


def demo_run(directory: Path, policy: LoadedPolicy, **options: Any) -> Run:
    engine = fresh_engine(directory)
    result = generate_demo(engine, policy, manifest_path=directory / "manifest.json", **options)
    return Run(engine, result, directory / "manifest.json")


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory, policy: LoadedPolicy) -> Iterator[Run]:
    run = demo_run(tmp_path_factory.mktemp("clean"), policy, **SMALL_RUN)
    yield run
    run.engine.dispose()


@pytest.fixture(scope="module")
def injected(tmp_path_factory: pytest.TempPathFactory, policy: LoadedPolicy) -> Iterator[Run]:
    # The starting injections only: later ones (rates, tampering) would rightly break other invariants.
    run = demo_run(tmp_path_factory.mktemp("injected"), policy, **SMALL_RUN, inject=sorted(EXPECTED_INJECTIONS))
    yield run
    run.engine.dispose()


def rows(engine: Engine, query: Any) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(query))


def entry_hashes(engine: Engine) -> list[str]:
    return [r.entry_hash for r in rows(engine, select(L.entry_hash).order_by(L.seq))]


# -- the clean history ----------------------------------------------------------------------------------


@pytest.mark.parametrize("invariant", sorted(CHECKS))
def test_clean_history_holds_invariant(clean: Run, policy: LoadedPolicy, invariant: str) -> None:
    with clean.engine.connect() as conn:
        problems = CHECKS[invariant](conn, policy)

    assert problems == []


def test_clean_history_has_no_denied_request(clean: Run) -> None:
    denied = rows(clean.engine, select(func.count()).where(L.decision == "DENY"))[0][0]
    total = rows(clean.engine, select(func.count()).select_from(ledger_entries))[0][0]

    assert denied == 0
    assert total == clean.result.ledger_entries > 1000


def test_every_write_is_a_ledger_entry_and_versions_are_dense(clean: Run) -> None:
    creates = rows(clean.engine, select(func.count()).where(L.operation == "CREATE"))[0][0]
    per_artifact = rows(clean.engine, select(func.count(), func.max(A.version)).group_by(A.artifact_id))

    assert creates == clean.result.versions
    assert all(count == highest for count, highest in per_artifact)


def test_result_counts_match_the_database(clean: Run) -> None:
    stored = rows(
        clean.engine,
        select(A.product_id, func.count(), func.count(func.distinct(A.artifact_id)), func.sum(A.size_bytes)).group_by(
            A.product_id
        ),
    )
    reads = dict(
        rows(clean.engine, select(L.product_id, func.count()).where(L.operation == "READ").group_by(L.product_id))
    )

    for product_id, versions, artifacts, size in stored:
        counts = clean.result.products[product_id]
        assert (counts.versions, counts.artifacts, counts.bytes, counts.reads) == (
            versions,
            artifacts,
            size,
            reads[product_id],
        )
    assert sorted(clean.result.products) == ["ai_assistant", "ai_avatar", "enforcement", "gurukul", "workflow"]


def test_history_spans_the_requested_days_before_the_end(clean: Run) -> None:
    first, last = rows(clean.engine, select(func.min(L.recorded_at_us), func.max(L.recorded_at_us)))[0]
    days = {r[0] for r in rows(clean.engine, select(L.recorded_at_us // (24 * HOUR_US)).distinct())}

    assert clean.result.start_us <= first < last < clean.result.end_us <= END_US
    assert clean.result.end_us - clean.result.start_us == 7 * 24 * HOUR_US
    assert len(days) >= 7


def test_activity_follows_the_day_and_the_week(clean: Run) -> None:
    chat = rows(clean.engine, select(A.created_at_us).where(A.product_id == "ai_assistant"))
    by_hour = [0] * 24
    for (created,) in chat:
        by_hour[(created // HOUR_US) % 24] += 1
    lessons = rows(clean.engine, select(A.created_at_us).where(A.product_id == "gurukul"))
    weekend = sum(1 for (created,) in lessons if Timeline(created - created % HOUR_US, 1).weekday(0) >= 5)

    assert sum(by_hour[2:5]) * 3 < sum(by_hour[18:21])  # nights are quiet, evenings busy
    assert weekend / 2 < (len(lessons) - weekend) / 5  # authors write on weekdays


def test_products_write_what_their_profile_promises(clean: Run) -> None:
    media = rows(clean.engine, select(A.reference_url, A.size_bytes, A.metadata).where(A.product_id == "ai_avatar"))
    lesson_versions = rows(clean.engine, select(func.max(A.version)).where(A.product_id == "gurukul"))[0][0]
    reads = dict(
        rows(clean.engine, select(L.product_id, func.count()).where(L.operation == "READ").group_by(L.product_id))
    )
    traces = rows(clean.engine, select(A.metadata).where(A.product_id == "workflow"))

    assert all(url.startswith("https://") and size == len(url) for url, size, _ in media)
    assert all({"width", "height", "duration_ms", "mime"} <= json.loads(m).keys() for *_, m in media)
    assert lesson_versions >= 3  # lessons are revised several times
    assert reads["gurukul"] > clean.result.products["gurukul"].versions  # read-heavy
    assert {json_depth(json.loads(m)) for (m,) in traces} == {5}


def test_conversation_payloads_are_json_turns(clean: Run) -> None:
    turns = rows(
        clean.engine,
        select(payloads.c.data, A.metadata)
        .join(payloads, payloads.c.content_hash == A.content_hash)
        .where(A.product_id == "ai_assistant")
        .limit(50),
    )

    for data, metadata in turns:
        assert {"conversation_id", "text"} <= json.loads(data).keys()
        assert {"model", "tokens_in", "tokens_out", "language"} <= json.loads(metadata).keys()


def test_decisions_state_why_and_chain_to_earlier_decisions(clean: Run) -> None:
    decisions = [
        json.loads(p) for (p,) in rows(clean.engine, select(A.provenance).where(A.product_id == "enforcement"))
    ]

    assert all(d["intent"] for d in decisions)
    assert any(d["parents"] for d in decisions)


def test_every_kind_of_actor_writes(clean: Run, policy: LoadedPolicy) -> None:
    writers = {r[0] for r in rows(clean.engine, select(A.created_by).distinct())}

    assert {policy.actors[w].kind.value for w in writers} == {"owner", "human", "executor", "ai", "service"}


# -- determinism ------------------------------------------------------------------------------------------


def test_same_seed_and_end_give_identical_entry_hashes(tmp_path: Path, policy: LoadedPolicy) -> None:
    first = demo_run(tmp_path / "a", policy, seed=11, **TINY_RUN)
    second = demo_run(tmp_path / "b", policy, seed=11, **TINY_RUN)

    assert first.result.last_entry_hash == second.result.last_entry_hash
    assert entry_hashes(first.engine) == entry_hashes(second.engine)


def test_another_seed_gives_another_history(tmp_path: Path, policy: LoadedPolicy) -> None:
    first = demo_run(tmp_path / "a", policy, seed=11, **TINY_RUN)
    other = demo_run(tmp_path / "b", policy, seed=12, **TINY_RUN)

    assert first.result.last_entry_hash != other.result.last_entry_hash


def test_clean_part_is_identical_with_and_without_injections(clean: Run, injected: Run) -> None:
    manifest = load_manifest(injected.manifest_path)
    planted = {seq for i in manifest.incidents for seq in (*i.ledger_seqs, *i.setup_seqs)}
    columns = (L.seq, L.recorded_at_us, L.operation, L.decision, L.reasons, L.actor_id, L.integration_id,
               L.product_id, L.artifact_id, L.version, L.content_hash, L.details)  # fmt: skip

    without = [tuple(r)[1:] for r in rows(clean.engine, select(*columns).order_by(L.seq))]
    with_injections = [
        tuple(r)[1:] for r in rows(injected.engine, select(*columns).order_by(L.seq)) if r.seq not in planted
    ]

    assert planted
    assert with_injections == without


# -- injections -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(EXPECTED_INJECTIONS))
def test_injection_is_denied_with_the_expected_reasons(injected: Run, name: str) -> None:
    rule_id, reasons = EXPECTED_INJECTIONS[name]
    (incident,) = [i for i in load_manifest(injected.manifest_path).incidents if i.injection == name]
    entries = rows(
        injected.engine, select(L.decision, L.reasons, L.recorded_at_us).where(L.seq.in_(incident.ledger_seqs))
    )

    assert incident.rule_id == rule_id and incident.threat_id == rule_id.split(".")[0]
    assert len(entries) == len(incident.ledger_seqs) >= 1
    for decision, codes, recorded_at_us in entries:
        assert decision == "DENY"
        assert reasons <= set(json.loads(codes))
        assert incident.window_start_us <= recorded_at_us <= incident.window_end_us


@pytest.mark.parametrize("name", sorted(EXPECTED_INJECTIONS))
def test_injection_names_its_subject_and_lies_in_a_quiet_band(injected: Run, name: str) -> None:
    (incident,) = [i for i in load_manifest(injected.manifest_path).incidents if i.injection == name]
    entries = rows(
        injected.engine, select(L.actor_id, L.integration_id, L.artifact_id).where(L.seq.in_(incident.ledger_seqs))
    )
    offset = (incident.window_start_us - injected.result.start_us) % HOUR_US

    assert all(incident.subject in entry for entry in entries)
    assert QUIET_BAND_US[0] <= offset < QUIET_BAND_US[1]
    assert incident.window_end_us - incident.window_start_us < QUIET_BAND_US[1] - QUIET_BAND_US[0]


def test_version_conflict_burst_comes_from_several_writers(injected: Run) -> None:
    (incident,) = [i for i in injected.result.incidents if i.injection == "version_conflict_burst"]
    writers = {r[0] for r in rows(injected.engine, select(L.actor_id).where(L.seq.in_(incident.ledger_seqs)))}

    assert len(writers) >= 3
    assert incident.artifact_ids == [incident.subject]


def test_all_registered_injections_land_in_the_manifest(tmp_path: Path, policy: LoadedPolicy) -> None:
    run = demo_run(tmp_path, policy, seed=7, inject="all", **TINY_RUN)
    manifest = load_manifest(run.manifest_path)

    assert sorted(i.injection for i in manifest.incidents) == sorted(INJECTIONS)
    assert all(i.rule_id == INJECTIONS[i.injection].rule_id for i in manifest.incidents)
    assert [i.window_start_us for i in manifest.incidents] == sorted(i.window_start_us for i in manifest.incidents)
    assert manifest == run.result.manifest()


def test_invariant_checks_see_the_injected_denials(injected: Run, policy: LoadedPolicy) -> None:
    problems = check_clean_history(injected.engine, policy)
    denied = {seq for i in injected.result.incidents for seq in i.ledger_seqs}

    assert len(problems["no_denials"]) == len(denied)
    # the unapproved integration and the cross-product read also break "own product only"
    assert [name for name, found in problems.items() if found] == ["no_denials", "own_product_only"]
    assert len(problems["own_product_only"]) == 2


def test_inject_none_writes_a_manifest_without_incidents(clean: Run) -> None:
    manifest = load_manifest(clean.manifest_path)

    assert manifest.incidents == []
    assert (manifest.seed, manifest.days, manifest.scale, manifest.end_us) == (7, 7, 0.2, clean.result.end_us)
    assert manifest.last_entry_hash == clean.result.last_entry_hash


def test_unknown_injection_is_refused_before_anything_is_written(tmp_path: Path, policy: LoadedPolicy) -> None:
    engine = fresh_engine(tmp_path)

    with pytest.raises(InvalidInputError) as caught:
        generate_demo(engine, policy, inject=["ai_update_request", "teleport_artifacts"], **TINY_RUN)

    assert caught.value.code == "injection_unknown"
    assert "'teleport_artifacts'" in caught.value.message and "cross_product_read" in caught.value.message
    assert rows(engine, select(func.count()).select_from(ledger_entries))[0][0] == 0


def test_resolve_injections_accepts_all_none_and_lists() -> None:
    assert resolve_injections("none") == []
    assert [i.name for i in resolve_injections("all")] == list(INJECTIONS)
    assert [i.name for i in resolve_injections("cross_product_read, ai_update_request")] == [
        "ai_update_request",
        "cross_product_read",
    ]


def test_registered_injections_are_well_declared() -> None:
    placements = {(i.day_fraction, i.hour_utc) for i in INJECTIONS.values()}

    assert set(EXPECTED_INJECTIONS) <= set(INJECTIONS)
    assert len(placements) == len(INJECTIONS)  # incidents never share a time
    for injection in INJECTIONS.values():
        assert injection.description and injection.rule_id.startswith(injection.threat_id + ".")


# -- refusals and options ---------------------------------------------------------------------------------


def test_a_database_with_history_is_refused(clean: Run, policy: LoadedPolicy) -> None:
    with pytest.raises(InvalidInputError) as caught:
        generate_demo(clean.engine, policy, **TINY_RUN)

    assert caught.value.code == "demo_needs_empty_database"


@pytest.mark.parametrize("options", [{"days": 0}, {"scale": 0.0}, {"scale": float("nan")}])
def test_bad_options_are_refused(tmp_path: Path, policy: LoadedPolicy, options: dict[str, Any]) -> None:
    with pytest.raises(InvalidInputError) as caught:
        generate_demo(fresh_engine(tmp_path), policy, **{**TINY_RUN, **options})

    assert caught.value.code == "demo_option_invalid"


def test_progress_counts_up_to_the_total(tmp_path: Path, policy: LoadedPolicy) -> None:
    calls: list[tuple[int, int]] = []

    generate_demo(fresh_engine(tmp_path), policy, seed=3, progress=lambda d, t: calls.append((d, t)), **TINY_RUN)

    assert calls and calls[-1][0] == calls[-1][1]
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)


# -- manifest ---------------------------------------------------------------------------------------------


def test_manifest_round_trips(tmp_path: Path, injected: Run) -> None:
    path = tmp_path / "nested" / "manifest.json"

    write_manifest(injected.result.manifest(), path)

    assert load_manifest(path) == injected.result.manifest()
    assert json.loads(path.read_text())["schema_version"] == 1


def test_missing_manifest_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError) as caught:
        load_manifest(tmp_path / "absent.json")

    assert caught.value.code == "manifest_not_found"


def test_malformed_manifest_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps({"schema_version": 1, "seed": "seven"}))

    with pytest.raises(InvalidInputError) as caught:
        load_manifest(path)

    assert caught.value.code == "manifest_invalid"
    assert "seed" in caught.value.message


# -- simulated time (pure) ------------------------------------------------------------------------------


def test_timeline_ends_on_a_whole_hour() -> None:
    timeline = Timeline.ending_at(END_US, days=2)

    assert timeline.end_us % HOUR_US == 0 and END_US - HOUR_US < timeline.end_us <= END_US
    assert timeline.hours == 48 and timeline.hour_start(1) - timeline.hour_start(0) == HOUR_US


def test_phases_do_not_overlap() -> None:
    assert WRITE_PHASE_US[1] <= READ_PHASE_US[0] < READ_PHASE_US[1] <= QUIET_BAND_US[0] < QUIET_BAND_US[1] == HOUR_US


def test_allocate_spreads_exactly_the_total() -> None:
    timeline = Timeline.ending_at(END_US, days=3)
    shape = ActivityShape(tuple([0.0] * 12 + [1.0] * 12))

    counts = allocate(500, shape, timeline, random.Random(1))

    assert sum(counts) == 500
    assert all(c == 0 for i, c in enumerate(counts) if timeline.hour_of_day(i) < 12)


def test_draw_times_are_strictly_increasing_inside_the_phase() -> None:
    times = draw_times(random.Random(2), HOUR_US, 5000, WRITE_PHASE_US)

    assert all(a < b for a, b in pairwise(times))
    assert HOUR_US + WRITE_PHASE_US[0] <= times[0] and times[-1] < HOUR_US + WRITE_PHASE_US[1]


def test_activity_shape_needs_a_whole_day_and_week() -> None:
    with pytest.raises(ValueError, match="24 hourly"):
        ActivityShape((1.0,) * 23)


def test_simulated_clock_refuses_a_miscount() -> None:
    clock = SimulatedClock()
    clock.load([5, 6])

    assert clock() == 5
    with pytest.raises(RuntimeError, match="never used"):
        clock.load([7])
    assert clock() == 6
    with pytest.raises(RuntimeError, match="more times"):
        clock()


@pytest.mark.parametrize("name", sorted(EXPECTED_INJECTIONS))
def test_injection_is_placed_at_its_hour(name: str) -> None:
    injection = INJECTIONS[name]
    timeline = Timeline.ending_at(END_US, days=7)

    index = injection.hour_index(timeline)

    assert timeline.hour_of_day(index) == injection.hour_utc
    assert 0 <= index < timeline.hours


def test_manifest_model_rejects_unknown_fields() -> None:
    with pytest.raises(ValueError):
        Manifest.model_validate({"seed": 1, "days": 1, "scale": 1, "start_us": 0, "end_us": 1, "ledger_entries": 0,
                                 "last_entry_hash": "", "surprise": True})  # fmt: skip


def test_injections_sharing_an_hour_run_one_after_the_other() -> None:
    timeline = Timeline.ending_at(END_US, days=1)
    band_start, band_end = timeline.quiet_band(3)

    first = quiet_band_start(timeline, 3, None)
    second = quiet_band_start(timeline, 3, first + 1_500_000)

    assert band_start < first < second < band_end
    assert second == first + 3_500_000  # two seconds after the first one's last entry


def test_a_history_too_short_for_targets_gets_setup_targets(tmp_path: Path, policy: LoadedPolicy) -> None:
    run = demo_run(tmp_path, policy, seed=1, days=1, scale=0.001, end_us=END_US, inject=sorted(EXPECTED_INJECTIONS))
    setup = [seq for i in run.result.incidents for seq in i.setup_seqs]
    denied = [seq for i in run.result.incidents for seq in i.ledger_seqs]

    decisions = dict(rows(run.engine, select(L.seq, L.decision).where(L.seq.in_(setup + denied))))

    assert setup and {decisions[s] for s in setup} == {"ALLOW"}
    assert {decisions[s] for s in denied} == {"DENY"}
    assert len(run.result.incidents) == len(EXPECTED_INJECTIONS)
