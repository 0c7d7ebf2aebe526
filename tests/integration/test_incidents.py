"""Playbook library without Airflow: forms, incidents, containment that blocks the next write, recovery, dedup."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from bucket_governance.bucket.requests import CreateRequest
from bucket_governance.bucket.store import BucketStore
from bucket_governance.db.tables import gate_controls, ledger_entries
from bucket_governance.db.tables_incidents import incidents
from bucket_governance.errors import InvalidInputError
from bucket_governance.incidents import actions, steps
from bucket_governance.incidents.records import get_incident
from bucket_governance.incidents.registry import PLAYBOOKS
from bucket_governance.ledger.verify import verify_chain
from bucket_governance.policy import LoadedPolicy

pytestmark = pytest.mark.integration


def write(store: BucketStore, product: str, artifact_class: str, actor: str | None = None) -> Any:
    return store.create(
        CreateRequest(
            actor_id=actor or f"{product}.service",
            integration_id=f"{product}.gateway",
            product_id=product,
            artifact_class=artifact_class,
            payload=b'{"x": 1}',
        )
    )


def counts(engine: Engine) -> tuple[int, int, int]:
    with engine.connect() as conn:
        return tuple(  # type: ignore[return-value]
            conn.execute(select(func.count()).select_from(t)).scalar_one()
            for t in (incidents, gate_controls, ledger_entries)
        )


def test_the_registry_is_the_spec_table() -> None:
    assert list(PLAYBOOKS) == [f"F{n}" for n in range(1, 11)]
    assert PLAYBOOKS["F8"].containment == ("halt_product",)
    assert PLAYBOOKS["F7"].decision.operator == "approval"
    for p in PLAYBOOKS.values():
        assert p.form.model_config["extra"] == "forbid"
        assert set(p.decision.recovery) == set(p.decision.options)


def test_f8_halts_only_the_offending_product_until_recovery(
    engine: Engine, store: BucketStore, policy: LoadedPolicy
) -> None:
    assert write(store, "gurukul", "ContentArtifact").decision.allowed
    started = steps.start(engine, policy, "F8", {"product_id": "gurukul"})
    steps.contain(engine, policy, started["incident_id"])

    blocked = write(store, "gurukul", "ContentArtifact")
    other = write(store, "workflow", "ExecutionTrace")
    steps.record_decision(engine, policy, started["incident_id"], "Raise quota", by="ops.alice")
    steps.recover(engine, policy, started["incident_id"], actor="ops.alice")
    resumed = write(store, "gurukul", "ContentArtifact")
    closed = steps.close(engine, started["incident_id"], actor="ops.alice")

    assert blocked.decision.code == "product_halted"
    assert other.decision.allowed and resumed.decision.allowed
    assert closed["status"] == "closed" and closed["outcome"] == "resumed_after_quota_raise"
    assert [e["step"] for e in closed["timeline"]] == ["opened", "contained", "decided", "recovered", "closed"]
    with engine.connect() as conn:
        ops = conn.execute(
            select(ledger_entries.c.details).where(ledger_entries.c.operation == "GOVERNANCE_ACTION")
        ).scalars()
        kinds = [d for d in ops]
        assert verify_chain(conn).ok
    assert any('"place_control"' in d for d in kinds) and any('"lift_control"' in d for d in kinds)


def test_f1_freezes_the_actor_and_quarantines_its_writes(
    engine: Engine, store: BucketStore, policy: LoadedPolicy
) -> None:
    written = write(store, "gurukul", "ContentArtifact", actor="gurukul.executor")
    started = steps.start(engine, policy, "F1", {"actor_id": "gurukul.executor"})

    done = steps.contain(engine, policy, started["incident_id"])

    assert {(a["kind"], a["subject"]) for a in done} == {
        ("freeze_actor", "gurukul.executor"),
        ("quarantine", written.artifact_id),
    }
    assert write(store, "gurukul", "ContentArtifact", actor="gurukul.executor").decision.code == "actor_frozen"
    assert write(store, "gurukul", "ContentArtifact", actor="gurukul.engineer").decision.allowed


def test_a_second_trigger_attaches_to_the_open_incident(engine: Engine, policy: LoadedPolicy) -> None:
    first = steps.start(engine, policy, "F8", {"product_id": "workflow"})
    second = steps.start(engine, policy, "F8", {"product_id": "workflow", "triggered_by": "capacity"})

    assert second == {**first, "attached": True}
    with engine.connect() as conn:
        incident = get_incident(conn, first["incident_id"])
    assert incident["trigger_count"] == 2


@pytest.mark.parametrize(
    ("playbook", "form", "field"),
    [
        ("F8", {"product_id": "gurukul", "colour": "red"}, "colour"),
        ("F8", {"product_id": "gurukul", "level": "severe"}, "level"),
        ("F8", {}, "product_id"),
        ("F8", {"product_id": "nope"}, "product_id"),
        ("F2", {"actor_id": "gurukul.engineer", "requested_operation": "UPDATE"}, "actor_id"),
        (
            "F4",
            {"proposed_fingerprint": "xyz", "requested_by": "a", "approver_id": "gurukul.owner"},
            "proposed_fingerprint",
        ),
    ],
)
def test_bad_input_is_refused_naming_the_field_and_changes_nothing(
    engine: Engine, policy: LoadedPolicy, playbook: str, form: dict[str, Any], field: str
) -> None:
    before = counts(engine)

    with pytest.raises(InvalidInputError) as refused:
        steps.start(engine, policy, playbook, form)

    assert f"'{field}'" in refused.value.message
    assert counts(engine) == before


def test_legal_hold_blocks_retention_and_is_lifted_only_by_approval(
    engine: Engine, store: BucketStore, policy: LoadedPolicy
) -> None:
    held = write(store, "enforcement", "DecisionArtifact")
    started = steps.start(engine, policy, "F7", {"case_id": "case-1", "artifact_ids": [held.artifact_id]})
    steps.contain(engine, policy, started["incident_id"])
    with engine.connect() as conn:
        under_hold = actions.retention_blocked(conn, held.artifact_id, "enforcement")
    steps.record_decision(engine, policy, started["incident_id"], "Reject", by="legal.bob")
    steps.recover(engine, policy, started["incident_id"], actor="legal.bob")
    with engine.connect() as conn:
        still_held = actions.retention_blocked(conn, held.artifact_id, "enforcement")

    assert under_hold and still_held


@pytest.fixture
def signer(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from bucket_governance.incidents.steps import load_evidence_signer
    from bucket_governance.ledger.checkpoint import generate_signing_key

    path = tmp_path_factory.mktemp("keys") / "signing.key"
    generate_signing_key(path, "bucket-governance")
    return load_evidence_signer(path)


def test_the_evidence_bundle_verifies_offline_and_one_changed_byte_fails_it(
    engine: Engine, store: BucketStore, policy: LoadedPolicy, signer: Any, tmp_path: Any
) -> None:
    from bucket_governance.incidents.evidence_verify import verify_evidence

    artifact = write(store, "enforcement", "DecisionArtifact").artifact_id
    write(store, "workflow", "ExecutionTrace")
    started = steps.start(engine, policy, "F7", {"case_id": "case-9", "artifact_ids": [artifact]})
    preserved = steps.preserve_evidence(engine, policy, started["incident_id"], tmp_path, signer)
    bundle = tmp_path / started["incident_id"]

    clean = verify_evidence(bundle)
    payload = next(bundle.glob("artifacts/*/v1.payload"))
    payload.write_bytes(bytes([payload.read_bytes()[0] ^ 1]) + payload.read_bytes()[1:])
    tampered = verify_evidence(bundle)

    assert clean.ok, clean.problems
    assert clean.facts["entries_proven"] >= 1 and preserved["root_hash"] == clean.facts["root_hash"]
    assert not tampered.ok and "does not match" in tampered.problems[0]


def test_the_bundle_proofs_are_the_merkle_tree_paths_to_the_signed_root(
    engine: Engine, store: BucketStore, policy: LoadedPolicy, signer: Any, tmp_path: Any
) -> None:
    import json

    from bucket_governance.ledger.merkle import inclusion_proof, root_from_leaf_hashes, verify_inclusion
    from bucket_governance.ledger.merkle_tree import MerkleTree
    from bucket_governance.ledger.tree_state import new_leaf_hashes

    artifacts = [write(store, "enforcement", "DecisionArtifact").artifact_id for _ in range(5)]
    write(store, "workflow", "ExecutionTrace")
    started = steps.start(engine, policy, "F7", {"case_id": "case-10", "artifact_ids": artifacts})
    steps.preserve_evidence(engine, policy, started["incident_id"], tmp_path, signer)
    proofs = [json.loads(p.read_text()) for p in sorted((tmp_path / started["incident_id"]).glob("proofs/*.json"))]
    size = proofs[0]["tree_size"]
    with engine.connect() as conn:
        leaves = new_leaf_hashes(conn, 0, size)
    tree, root = MerkleTree(leaves), root_from_leaf_hashes(leaves)

    assert len(proofs) >= 5 and all(p["tree_size"] == size for p in proofs)
    for proof in proofs:
        index, path = proof["leaf_index"], [bytes.fromhex(h) for h in proof["path"]]
        assert path == tree.inclusion_proof(index) == inclusion_proof(index, leaves)
        assert verify_inclusion(index, size, bytes.fromhex(proof["leaf_hash"]), path, root)
