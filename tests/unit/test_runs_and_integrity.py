"""Governance run records (idempotent per window) and the audit integrity check, on both dialects."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import Connection, Engine, func, select, text
from sqlalchemy.exc import OperationalError

from bucket_governance.bucket.requests import CreateRequest
from bucket_governance.bucket.store import BucketStore
from bucket_governance.checks import integrity
from bucket_governance.checks.integrity import PIPELINE, IntegrityOptions, IntegrityResult, run_integrity_check
from bucket_governance.db.guards import drop_guard_statements
from bucket_governance.db.tables import governance_runs
from bucket_governance.errors import InvalidInputError, NotFoundError
from bucket_governance.policy import LoadedPolicy, load_policy
from bucket_governance.results import runs
from bucket_governance.results.runs import finish_run, get_run, latest_run, run_id_for, start_run

pytestmark = pytest.mark.unit

HOUR_US = 3_600_000_000
T0 = 1_780_000_000_000_000  # an hour boundary in 2026, in microseconds


def _write(store: BucketStore, count: int) -> None:
    for i in range(count):
        store.create(
            CreateRequest(
                actor_id="gurukul.engineer",
                integration_id="gurukul.gateway",
                product_id="gurukul",
                artifact_class="ContentArtifact",
                payload=f"lesson {i}".encode(),
            )
        ).raise_if_denied()


def _tamper(engine: Engine, seq: int) -> None:
    """What a privileged attacker does: drop the append-only guards, then edit one ledger field."""
    with engine.begin() as conn:
        for statement in drop_guard_statements(engine.dialect.name):
            conn.exec_driver_sql(statement)
        conn.execute(text("UPDATE ledger_entries SET actor_id = 'mallory' WHERE seq = :seq"), {"seq": seq})


def run_chain_check(engine: Engine, *, window_start_us: int, window_end_us: int, full: bool = False) -> IntegrityResult:
    """The audit-integrity check without a signing key (these tests are about run records and the chain)."""
    return run_integrity_check(
        engine,
        _policy(),
        window_start_us=window_start_us,
        window_end_us=window_end_us,
        options=IntegrityOptions(full=full),
    )


def _policy() -> LoadedPolicy:
    from tests.conftest import POLICY_DIR

    return load_policy(POLICY_DIR)


def _run_rows(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(governance_runs)).scalar_one())


# -- runs ---------------------------------------------------------------------------------------------------


def test_start_run_opens_a_running_row_with_a_deterministic_id(engine: Engine) -> None:
    run_id = start_run(engine, "threat_scan", T0, T0 + HOUR_US)

    record = get_run(engine, run_id)
    assert run_id == run_id_for("threat_scan", T0, T0 + HOUR_US)
    assert record is not None
    assert (record.status, record.attempts, record.finished_at_us, record.summary) == ("running", 1, None, {})
    assert (record.pipeline, record.window_start_us, record.window_end_us) == ("threat_scan", T0, T0 + HOUR_US)


def test_rerun_of_a_window_reuses_the_row_and_counts_attempts(engine: Engine) -> None:
    first = start_run(engine, "threat_scan", T0, T0 + HOUR_US)
    finish_run(engine, first, "findings", {"findings": 3})

    second = start_run(engine, "threat_scan", T0, T0 + HOUR_US)

    record = get_run(engine, second)
    assert second == first
    assert record is not None
    assert (record.status, record.attempts, record.finished_at_us, record.summary) == ("running", 2, None, {})
    assert _run_rows(engine) == 1


def test_other_windows_and_pipelines_get_their_own_rows(engine: Engine) -> None:
    ids = {
        start_run(engine, "threat_scan", T0, T0 + HOUR_US),
        start_run(engine, "threat_scan", T0 + HOUR_US, T0 + 2 * HOUR_US),
        start_run(engine, "schema_drift", T0, T0 + HOUR_US),
    }

    assert len(ids) == 3
    assert _run_rows(engine) == 3


def test_a_lost_insert_race_becomes_a_restart(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    run_id = start_run(engine, "threat_scan", T0, T0 + HOUR_US)
    real_restart = runs._restart
    calls: list[str] = []

    def restart_missing_the_row_once(conn: Connection, run_id_: str, now: int) -> bool:
        # The first attempt behaves as if another worker inserted the row after our UPDATE looked.
        calls.append(run_id_)
        return False if len(calls) == 1 else real_restart(conn, run_id_, now)

    monkeypatch.setattr(runs, "_restart", restart_missing_the_row_once)

    assert start_run(engine, "threat_scan", T0, T0 + HOUR_US) == run_id
    record = get_run(engine, run_id)
    assert record is not None and record.attempts == 2
    assert len(calls) == 2


def test_finish_run_stores_status_time_and_summary(engine: Engine) -> None:
    run_id = start_run(engine, "threat_scan", T0, T0 + HOUR_US)

    finish_run(engine, run_id, "clean", {"rules": 30, "findings": 0})

    record = get_run(engine, run_id)
    assert record is not None
    assert (record.status, record.summary) == ("clean", {"rules": 30, "findings": 0})
    assert record.finished_at_us is not None and record.finished_at_us >= record.started_at_us


def test_bad_input_is_refused_with_a_code(engine: Engine) -> None:
    run_id = start_run(engine, "threat_scan", T0, T0 + HOUR_US)

    with pytest.raises(InvalidInputError) as bad_window:
        start_run(engine, "threat_scan", T0 + HOUR_US, T0)
    with pytest.raises(InvalidInputError) as bad_status:
        finish_run(engine, run_id, "running", {})  # type: ignore[arg-type]
    with pytest.raises(NotFoundError) as missing:
        finish_run(engine, "no-such-run", "clean", {})

    assert (bad_window.value.code, bad_status.value.code, missing.value.code) == (
        "window_invalid",
        "run_status_invalid",
        "run_not_found",
    )


def test_latest_run_is_the_most_recent_window_optionally_by_status(engine: Engine) -> None:
    older = start_run(engine, "audit_integrity", T0, T0 + HOUR_US)
    finish_run(engine, older, "clean", {})
    newer = start_run(engine, "audit_integrity", T0 + HOUR_US, T0 + 2 * HOUR_US)
    finish_run(engine, newer, "findings", {})
    start_run(engine, "audit_integrity", T0, T0 + HOUR_US)  # a later re-run of the older window

    latest = latest_run(engine, "audit_integrity")
    latest_clean = latest_run(engine, "audit_integrity", status="clean")

    assert latest is not None and latest.run_id == newer
    assert latest_clean is None  # the re-run put the older window back to "running"
    assert latest_run(engine, "audit_integrity", status="running") == get_run(engine, older)
    assert latest_run(engine, "capacity") is None


# -- audit integrity ----------------------------------------------------------------------------------------


def test_clean_chain_records_a_clean_run(engine: Engine, store: BucketStore) -> None:
    _write(store, 5)

    result = run_chain_check(engine, window_start_us=T0, window_end_us=T0 + HOUR_US)

    record = get_run(engine, result.run_id)
    assert (result.ok, result.entries_checked, result.last_seq, result.first_bad_seq) == (True, 5, 5, None)
    assert record is not None
    assert (record.pipeline, record.status, record.attempts) == (PIPELINE, "clean", 1)
    assert record.summary == result.summary()
    assert json.loads(json.dumps(result.summary())) == result.summary()  # JSON-able as is (XCom, run row)


def test_empty_ledger_is_clean(engine: Engine) -> None:
    result = run_chain_check(engine, window_start_us=T0, window_end_us=T0 + HOUR_US)

    assert (result.ok, result.entries_checked, result.last_seq) == (True, 0, 0)


def test_tampered_entry_is_a_finding_naming_its_seq(engine: Engine, store: BucketStore) -> None:
    _write(store, 5)
    _tamper(engine, seq=3)

    result = run_chain_check(engine, window_start_us=T0, window_end_us=T0 + HOUR_US)

    record = get_run(engine, result.run_id)
    assert (result.ok, result.first_bad_seq, result.entries_checked) == (False, 3, 5)
    assert [(p.seq, p.kind) for p in result.problems] == [(3, "hash_mismatch")]
    assert record is not None and record.status == "findings"
    assert record.summary["first_bad_seq"] == 3
    assert record.summary["problems"][0]["kind"] == "hash_mismatch"


def test_recheck_of_a_window_updates_its_run(engine: Engine, store: BucketStore) -> None:
    _write(store, 4)
    first = run_chain_check(engine, window_start_us=T0, window_end_us=T0 + HOUR_US)
    _tamper(engine, seq=3)

    second = run_chain_check(engine, window_start_us=T0, window_end_us=T0 + HOUR_US, full=True)

    record = get_run(engine, second.run_id)
    assert second.run_id == first.run_id
    assert record is not None and (record.status, record.attempts) == ("findings", 2)
    assert _run_rows(engine) == 1


def test_database_error_marks_the_run_failed_and_propagates(
    engine: Engine, store: BucketStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write(store, 2)

    def broken_verify(conn: Connection, **_: object) -> None:
        raise OperationalError("SELECT ...", {}, Exception("server closed the connection"))

    monkeypatch.setattr(integrity, "verify", broken_verify)

    with pytest.raises(OperationalError):
        run_chain_check(engine, window_start_us=T0, window_end_us=T0 + HOUR_US)
    record = latest_run(engine, PIPELINE)
    assert record is not None
    assert (record.status, record.summary["error"]) == ("failed", "OperationalError")
