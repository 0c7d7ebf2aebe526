"""The schema-drift check end to end on the demo: baselines approved from an early window of the history,
real Great Expectations validation, classification, location in time, findings, Data Docs, the CLI.

The drifted demo carries both drift injections (``demo/injections_drift.py``); the clean demo none.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from bucket_governance.checks.drift.baselines import approve_baseline, list_baselines, propose_baseline
from bucket_governance.checks.drift.pipeline import ProductResult, run_drift_check
from bucket_governance.db import make_engine, upgrade_to_head
from bucket_governance.db.tables import ledger_entries
from bucket_governance.db.tables_drift import drift_results
from bucket_governance.demo import DemoResult, generate_demo
from bucket_governance.errors import NotFoundError, RequestDeniedError
from bucket_governance.policy import LoadedPolicy
from bucket_governance.results.findings import list_findings

pytestmark = pytest.mark.integration
END_US = 1_780_000_000_000_000  # a fixed end of history, so the demo is byte-identical between runs


@dataclass
class DriftDemo:
    engine: Engine
    policy: LoadedPolicy
    demo: DemoResult
    docs: Path

    def check(self, *products: str, docs: bool = False) -> dict[str, ProductResult]:
        """Validate the whole history; with ``docs`` on a file-backed GX project (results kept, Data Docs built)."""
        results = run_drift_check(
            self.engine, self.policy, window_start_us=self.demo.start_us, window_end_us=self.demo.end_us,
            products=products or None, docs_dir=self.docs if docs else None,
        )  # fmt: skip
        return {r.product_id: r for r in results}

    def incident(self, name: str) -> tuple[int, int]:
        (found,) = [i for i in self.demo.incidents if i.injection == name]
        return found.window_start_us, found.window_end_us


def _demo(tmp: Path, policy: LoadedPolicy, inject: str) -> Iterator[DriftDemo]:
    engine = make_engine(f"sqlite:///{tmp / 'bucket.db'}")
    upgrade_to_head(engine)
    demo = generate_demo(engine, policy, seed=7, days=4, scale=0.25, end_us=END_US, inject=inject)
    early_end = demo.start_us + (demo.end_us - demo.start_us) // 4  # before any injection (day_fraction ≥ 0.5)
    for product in policy.policy.products:
        for artifact_class in product.artifact_classes:
            propose_baseline(
                engine, policy, product_id=product.id, artifact_class=artifact_class,
                window_start_us=demo.start_us, window_end_us=early_end, proposed_by="test",
            )  # fmt: skip
            approve_baseline(
                engine, policy, product_id=product.id, artifact_class=artifact_class, actor_id=product.owners[0]
            )
    yield DriftDemo(engine, policy, demo, tmp / "gx")
    engine.dispose()


@pytest.fixture(scope="module")
def drifted(tmp_path_factory: pytest.TempPathFactory, policy: LoadedPolicy) -> Iterator[DriftDemo]:
    yield from _demo(tmp_path_factory.mktemp("drifted"), policy, "avatar_schema_break,workflow_optional_field")


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory, policy: LoadedPolicy) -> Iterator[DriftDemo]:
    yield from _demo(tmp_path_factory.mktemp("clean"), policy, "none")


def _changes(result: ProductResult) -> set[tuple[str, str, str, str]]:
    return {(ch.field, ch.change, ch.classification, ch.rule_id) for c in result.classes for ch in c.changes}


def test_clean_demo_validates_clean_against_baselines_profiled_from_it(clean: DriftDemo) -> None:
    results = clean.check()

    assert {p: r.drifted for p, r in results.items()} == dict.fromkeys(clean.policy.products, False)
    assert all(c.status == "clean" and c.rows_validated > 0 for r in results.values() for c in r.classes)
    with clean.engine.connect() as conn:
        assert list_findings(conn, threat_id="T3") == []


def test_breaking_and_additive_drift_are_detected_classified_and_located(drifted: DriftDemo) -> None:
    results = drifted.check()

    assert _changes(results["ai_avatar"]) == {
        ("duration_ms", "field_removal", "breaking", "T3.field_removal"),
        ("length_ms", "new_field", "breaking", "T3.new_required_field"),
        ("external_bytes", "type_change", "breaking", "T3.type_change"),
    }
    assert _changes(results["workflow"]) == {("trigger", "new_field", "additive", "T3.new_required_field")}
    assert not any(results[p].drifted for p in ("ai_assistant", "gurukul", "enforcement"))
    for product, injection in (("ai_avatar", "avatar_schema_break"), ("workflow", "workflow_optional_field")):
        start, end = drifted.incident(injection)
        for change in (ch for c in results[product].classes for ch in c.changes):
            assert start <= change.first_seen_us <= change.last_seen_us <= end, (product, change.field)
            assert all(s.startswith(f"{product}-drift-") for s in change.sample_artifact_ids)


def test_drift_results_findings_and_data_docs_are_recorded_once_per_window(drifted: DriftDemo) -> None:
    first = drifted.check("ai_avatar", docs=True)["ai_avatar"]
    again = drifted.check("ai_avatar", docs=True)["ai_avatar"]  # a re-run of the same window

    with drifted.engine.connect() as conn:
        rows = conn.execute(select(drift_results).where(drift_results.c.run_id == again.run_id)).all()
        findings = list_findings(conn, product_id="ai_avatar", threat_id="T3")
    assert first.run_id == again.run_id and len(rows) == 1
    assert json.loads(rows[0].failing_fields) == ["duration_ms", "external_bytes", "length_ms"]
    assert sorted(f["rule_id"] for f in findings) == ["T3.field_removal", "T3.new_required_field", "T3.type_change"]
    assert all(f["count"] == 4 and f["evidence"]["classification"] == "breaking" for f in findings)
    assert again.data_docs and Path(again.data_docs).is_file()
    assert again.data_docs.startswith(str(drifted.docs / "ai_avatar"))


def test_approving_a_new_baseline_silences_exactly_what_it_approves(drifted: DriftDemo) -> None:
    proposal = propose_baseline(
        drifted.engine, drifted.policy, product_id="workflow", artifact_class="ExecutionTrace",
        window_start_us=drifted.demo.start_us, window_end_us=drifted.demo.end_us, proposed_by="test",
    )  # fmt: skip
    assert drifted.check("workflow")["workflow"].drifted  # proposed is not approved: nothing changes yet

    approved = approve_baseline(
        drifted.engine,
        drifted.policy,
        product_id="workflow",
        artifact_class="ExecutionTrace",
        actor_id="workflow.owner",
    )
    results = drifted.check("workflow", "ai_avatar")

    assert approved.baseline_id == proposal.baseline_id and approved.status == "current"
    assert "trigger" in approved.by_name and not approved.by_name["trigger"].required
    assert not results["workflow"].drifted
    assert len(_changes(results["ai_avatar"])) == 3  # another product's drift is untouched
    with drifted.engine.connect() as conn:
        statuses = {b.version: b.status for b in list_baselines(conn, "workflow", "ExecutionTrace")}
        entry = conn.execute(select(ledger_entries).where(ledger_entries.c.seq == approved.approval_seq)).one()
    assert statuses == {1: "superseded", 2: "current"}
    assert (entry.operation, entry.decision, entry.actor_id) == ("GOVERNANCE_ACTION", "ALLOW", "workflow.owner")
    assert json.loads(entry.details)["action"] == "approve_baseline"


def test_approval_needs_a_proposal_and_an_owner_and_a_refusal_is_in_the_ledger(drifted: DriftDemo) -> None:
    with pytest.raises(NotFoundError):  # nothing proposed: a re-run of an approval approves nothing
        approve_baseline(
            drifted.engine,
            drifted.policy,
            product_id="gurukul",
            artifact_class="ContentArtifact",
            actor_id="gurukul.owner",
        )
    propose_baseline(
        drifted.engine, drifted.policy, product_id="gurukul", artifact_class="ContentArtifact",
        window_start_us=drifted.demo.start_us, window_end_us=drifted.demo.end_us, proposed_by="test",
    )  # fmt: skip
    with drifted.engine.connect() as conn:
        before = conn.execute(select(func.max(ledger_entries.c.seq))).scalar_one()

    with pytest.raises(RequestDeniedError) as refused:
        approve_baseline(
            drifted.engine,
            drifted.policy,
            product_id="gurukul",
            artifact_class="ContentArtifact",
            actor_id="gurukul.agent",
        )

    with drifted.engine.connect() as conn:
        entry = conn.execute(select(ledger_entries).where(ledger_entries.c.seq == before + 1)).one()
        statuses = [b.status for b in list_baselines(conn, "gurukul", "ContentArtifact")]
    assert refused.value.seq == entry.seq and (entry.decision, entry.actor_id) == ("DENY", "gurukul.agent")
    assert statuses == ["current", "proposed"]  # the refusal changed no baseline


def test_cli_drift_runs_the_check_prints_data_docs_and_approves_by_owner_only(
    drifted: DriftDemo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bucket_governance.cli.context import format_us
    from bucket_governance.cli.main import main
    from bucket_governance.settings import get_settings

    monkeypatch.setenv("BUCKET_GOV_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("BUCKET_GOV_DB_URL", drifted.engine.url.render_as_string(hide_password=False))
    get_settings.cache_clear()
    window = ["--since", format_us(drifted.demo.start_us), "--until", format_us(drifted.demo.end_us + 1_000_000)]

    def run(*args: str) -> tuple[int, str]:
        capsys.readouterr()
        with pytest.raises(SystemExit) as exited:
            main(list(args))
        return int(exited.value.code or 0), capsys.readouterr().out

    drift_code, drift_out = run("--json", "drift", *window, "--product", "ai_avatar")
    propose_code, _ = run(
        "--json", "drift", "baseline", "--product", "enforcement", "--class", "DecisionArtifact", *window
    )
    refused_code, _ = run("drift", "baseline", "--product", "enforcement", "--class", "DecisionArtifact", "--approve")
    approve_code, approve_out = run(
        "--json", "drift", "baseline", "--product", "enforcement", "--class", "DecisionArtifact",
        "--approve", "--actor", "enforcement.owner",
    )  # fmt: skip
    get_settings.cache_clear()

    (product,) = json.loads(drift_out)["products"]
    assert drift_code == 1 and len(product["changes"]) == 3
    assert product["data_docs"].startswith(str(tmp_path / "var" / "gx" / "ai_avatar"))
    assert (propose_code, refused_code, approve_code) == (0, 2, 0)  # --approve without --actor is bad input
    assert json.loads(approve_out)["status"] == "current"


def test_propose_approve_and_detect_on_both_dialects(engine: Engine, policy: LoadedPolicy) -> None:
    from bucket_governance.bucket.requests import CreateRequest
    from bucket_governance.bucket.store import BucketStore

    t0 = 1_800_000_000_000_000
    times = iter(range(t0, t0 + 10_000_000, 1_000_000))
    store = BucketStore(engine, policy, clock=lambda: next(times))

    def lesson(n: int, metadata: dict[str, object]) -> None:
        store.create(
            CreateRequest(
                actor_id="gurukul.engineer", integration_id="gurukul.gateway", product_id="gurukul",
                artifact_class="ContentArtifact", artifact_id=f"lesson-{n}", payload=b"{}", metadata=metadata,
                provenance={"source": "editor", "intent": "publish", "parents": []},
            )
        ).raise_if_denied()  # fmt: skip

    for n in range(3):
        lesson(n, {"title": f"t{n}", "level": "basic", "extra": {"minutes": n}})
    propose_baseline(
        engine, policy, product_id="gurukul", artifact_class="ContentArtifact", window_start_us=t0,
        window_end_us=t0 + 3_000_000, proposed_by="test", allowed_values={"level": ["basic", "advanced"]},
    )  # fmt: skip
    approve_baseline(engine, policy, product_id="gurukul", artifact_class="ContentArtifact", actor_id="gurukul.owner")
    lesson(3, {"title": "t3", "level": "expert", "extra": {"minutes": 3}})  # a value outside the declared set
    lesson(4, {"title": "t4", "level": "basic", "extra": {"minutes": 4}})  # near miss: conforms

    (result,) = run_drift_check(
        engine, policy, window_start_us=t0 + 3_000_000, window_end_us=t0 + 10_000_000, products=["gurukul"]
    )

    (changes,) = [c.changes for c in result.classes]
    assert [(ch.field, ch.change, ch.sample_artifact_ids) for ch in changes] == [
        ("level", "value_not_allowed", ("lesson-3@v1",))
    ]
