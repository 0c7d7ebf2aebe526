"""The governed store on a real SQLite file and a real PostgreSQL server (the ``engine`` fixture runs both)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from itertools import count

import pytest
from sqlalchemy import Engine, func, select

from bucket_governance.bucket.requests import AccessRequest, CreateRequest
from bucket_governance.bucket.store import BucketStore
from bucket_governance.db.tables import artifact_versions, ledger_entries, product_usage
from bucket_governance.errors import InvalidInputError, RequestDeniedError
from bucket_governance.ledger.verify import verify_chain
from bucket_governance.policy import LoadedPolicy, Operation

pytestmark = pytest.mark.integration

LESSON = CreateRequest(
    actor_id="gurukul.engineer",
    integration_id="gurukul.gateway",
    product_id="gurukul",
    artifact_class="ContentArtifact",
    artifact_id="lesson-1",
    payload=b'{"title": "fractions"}',
    metadata={"title": "fractions", "level": 3},
    provenance={"source": "editor", "intent": "new lesson"},
)


def ledger(engine: Engine) -> list[dict[str, object]]:
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select(ledger_entries).order_by(ledger_entries.c.seq))]


def versions(engine: Engine, artifact_id: str) -> list[int]:
    with engine.connect() as conn:
        query = select(artifact_versions.c.version).where(artifact_versions.c.artifact_id == artifact_id)
        return sorted(conn.execute(query).scalars())


def test_versions_are_dense_and_each_write_is_a_chained_ledger_entry(store: BucketStore, engine: Engine) -> None:
    first = store.create(LESSON).raise_if_denied()
    second = store.create(replace(LESSON, payload=b"v2", expected_version=1)).raise_if_denied()

    assert (first.version, second.version) == (1, 2)
    assert versions(engine, "lesson-1") == [1, 2]
    entries = ledger(engine)
    assert [e["seq"] for e in entries] == [1, 2]
    assert entries[1]["prev_hash"] == entries[0]["entry_hash"] == first.entry_hash
    with engine.connect() as conn:
        assert verify_chain(conn).ok


def test_stale_expected_version_is_a_recorded_conflict_and_stores_nothing(store: BucketStore, engine: Engine) -> None:
    store.create(LESSON).raise_if_denied()
    store.create(replace(LESSON, payload=b"v2", expected_version=1)).raise_if_denied()

    stale = store.create(replace(LESSON, payload=b"v3", expected_version=1))

    assert not stale.allowed
    assert stale.decision.code == "version_conflict"
    assert stale.decision.status == 409
    assert versions(engine, "lesson-1") == [1, 2]
    entry = ledger(engine)[-1]
    assert (entry["seq"], entry["decision"], json.loads(str(entry["reasons"]))) == (3, "DENY", ["version_conflict"])
    with pytest.raises(RequestDeniedError, match=r"version_conflict|expected version 1"):
        stale.raise_if_denied()


def test_ai_actor_update_request_is_denied_and_recorded(store: BucketStore, engine: Engine) -> None:
    store.create(LESSON).raise_if_denied()

    outcome = store.submit(AccessRequest(Operation.UPDATE, "gurukul.agent", "gurukul.gateway", "gurukul", "lesson-1"))

    assert not outcome.allowed
    entry = ledger(engine)[-1]
    assert entry["seq"] == outcome.seq
    assert (entry["operation"], entry["actor_id"], entry["decision"]) == ("UPDATE", "gurukul.agent", "DENY")
    assert "actor_lane_violation" in json.loads(str(entry["reasons"]))


def test_batch_is_all_or_nothing_and_every_item_is_recorded(store: BucketStore, engine: Engine) -> None:
    good = [replace(LESSON, artifact_id=f"lesson-{i}", payload=f"p{i}".encode()) for i in range(3)]
    bad = replace(LESSON, artifact_id="lesson-x", artifact_class="ExecutionTrace")

    outcomes = store.create_batch([*good, bad])

    assert [o.decision.code for o in outcomes] == ["batch_rejected"] * 3 + ["class_not_allowed"]
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(artifact_versions)).scalar() == 0
    assert [e["decision"] for e in ledger(engine)] == ["DENY"] * 4


def test_batch_larger_than_the_limit_is_refused(store: BucketStore, policy: LoadedPolicy) -> None:
    limit = int(policy.limits.batch_size.max)
    items = [replace(LESSON, artifact_id=f"a-{i}", payload=str(i).encode()) for i in range(limit + 1)]

    outcomes = store.create_batch(items)

    assert {o.decision.code for o in outcomes} == {"batch_too_large"}


def test_batch_can_chain_versions_of_one_artifact(store: BucketStore, engine: Engine) -> None:
    items = [LESSON, *[replace(LESSON, payload=f"v{v}".encode(), expected_version=v - 1) for v in range(2, 5)]]

    outcomes = store.create_batch(items)

    assert [o.version for o in outcomes] == [1, 2, 3, 4]
    assert versions(engine, "lesson-1") == [1, 2, 3, 4]


def test_server_clock_is_recorded_and_client_claim_kept_apart(engine: Engine, policy: LoadedPolicy) -> None:
    ticks = count(1_700_000_000_000_000, 1_000)
    store = BucketStore(engine, policy, clock=lambda: next(ticks))

    outcome = store.create(replace(LESSON, claimed_at_us=1_000_000_000_000_000))
    _, found = store.read(AccessRequest(Operation.READ, "gurukul.engineer", "gurukul.gateway", "gurukul", "lesson-1"))

    assert found is not None
    assert found.created_at_us == 1_700_000_000_000_000 == ledger(engine)[0]["recorded_at_us"]
    assert found.claimed_at_us == 1_000_000_000_000_000
    assert outcome.seq == found.ledger_seq


def test_reads_are_ledger_entries_and_cross_product_reads_are_denied(store: BucketStore, engine: Engine) -> None:
    store.create(LESSON).raise_if_denied()

    own, found = store.read(AccessRequest(Operation.READ, "gurukul.engineer", "gurukul.gateway", "gurukul", "lesson-1"))
    foreign, nothing = store.read(
        AccessRequest(Operation.READ, "ai_assistant.engineer", "ai_assistant.gateway", "gurukul", "lesson-1")
    )

    assert own.allowed and found is not None and found.version == 1
    assert not foreign.allowed and nothing is None
    assert "cross_product_access" in [r.code for r in foreign.decision.reasons]
    assert [(e["operation"], e["decision"]) for e in ledger(engine)[1:]] == [("READ", "ALLOW"), ("READ", "DENY")]


def test_media_is_stored_by_reference_only(store: BucketStore, engine: Engine) -> None:
    media = CreateRequest(
        actor_id="ai_avatar.engineer",
        integration_id="ai_avatar.gateway",
        product_id="ai_avatar",
        artifact_class="MediaArtifact",
        reference_url="https://cdn.example/avatar.mp4",
        metadata={"mime": "video/mp4"},
    )

    stored = store.create(media)
    inline = store.create(replace(media, reference_url=None, payload=b"\x00" * 4096))

    assert stored.allowed
    assert inline.decision.code == "inline_media_rejected"
    found = store.read(
        AccessRequest(Operation.READ, "ai_avatar.engineer", "ai_avatar.gateway", "ai_avatar", stored.artifact_id)
    )[1]
    assert found is not None and found.reference_url == "https://cdn.example/avatar.mp4"


def test_usage_counter_follows_writes_and_ledger_binds_metadata(store: BucketStore, engine: Engine) -> None:
    store.create_batch([replace(LESSON, artifact_id=f"l-{i}", payload=b"x" * (100 + i)) for i in range(5)])

    with engine.connect() as conn:
        usage = conn.execute(select(product_usage).where(product_usage.c.product_id == "gurukul")).one()
        stored_metadata = conn.execute(select(artifact_versions.c.metadata).limit(1)).scalar_one()
    assert (usage.bytes_stored, usage.artifact_versions) == (sum(100 + i for i in range(5)), 5)
    details = json.loads(str(ledger(engine)[0]["details"]))
    assert details["metadata_sha256"] == hashlib.sha256(stored_metadata.encode()).hexdigest()


def test_malformed_input_is_refused_before_anything_is_written(store: BucketStore, engine: Engine) -> None:
    with pytest.raises(InvalidInputError):
        store.create(replace(LESSON, metadata=["not", "an", "object"]))  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError):
        store.create(replace(LESSON, reference_url="https://x.example"))

    assert ledger(engine) == []
