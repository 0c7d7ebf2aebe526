"""The governed write/read path: gate → payload → artifact version → ledger entry, in ONE transaction.

Every request, allowed or denied, becomes a ledger entry. A batch is all-or-nothing: if any item is
denied, nothing is stored and every item is recorded as denied (the others with ``batch_rejected``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from sqlalchemy import Connection, Engine, insert, select

from bucket_governance.bucket.create_rows import (
    PreparedCreate,
    prepare_create,
    store_versions,
    version_row,
    write_one_combined,
)
from bucket_governance.bucket.gate import Decision, GateRequest, Reason, decide
from bucket_governance.bucket.queries import artifact_history, artifact_versions_for
from bucket_governance.bucket.requests import AccessRequest, ArtifactVersion, CreateRequest, Outcome
from bucket_governance.bucket.state import StateSnapshot, load_snapshot
from bucket_governance.db.engine import lock_ledger
from bucket_governance.db.tables import ledger_entries, payloads
from bucket_governance.errors import InvalidInputError
from bucket_governance.ledger.canonical import sha256_hex
from bucket_governance.ledger.chain import EntryDraft, append_entries, chain_rows
from bucket_governance.policy import LoadedPolicy, Operation

Clock = Callable[[], int]
_INSERT_LEDGER = insert(ledger_entries)  # built once: cheaper than a statement per call


def now_us() -> int:
    """The server clock, in integer microseconds since the epoch (UTC)."""
    return time.time_ns() // 1000


class BucketStore:
    def __init__(self, engine: Engine, policy: LoadedPolicy, clock: Clock = now_us) -> None:
        self._engine = engine
        self._policy = policy
        self._clock = clock

    @property
    def policy(self) -> LoadedPolicy:
        return self._policy

    # -- CREATE -----------------------------------------------------------------------------------------------

    def create(self, request: CreateRequest) -> Outcome:
        return self.create_batch([request])[0]

    def create_batch(self, requests: Sequence[CreateRequest]) -> list[Outcome]:
        if not requests:
            return []
        return self._create([prepare_create(r) for r in requests], independent=False)

    def create_independent(self, prepared: Sequence[PreparedCreate]) -> list[Outcome]:
        """Several CREATEs in one transaction, each decided on its own, as if sent one after another.

        Unlike ``create_batch``, a denied item rejects only itself (it is recorded as denied); later items
        see the writes of earlier ones (a second ``expected_version`` write of one artifact conflicts).
        The API's group commit uses it; ``prepare_create`` each request first, its errors are its own.
        """
        return self._create(list(prepared), independent=True) if prepared else []

    def _create(self, prepared: list[PreparedCreate], *, independent: bool) -> list[Outcome]:
        with self._engine.begin() as conn:
            lock_ledger(conn)
            snapshot = load_snapshot(
                conn,
                subjects={p.request.actor_id for p in prepared},
                products={p.request.product_id for p in prepared},
                artifact_ids={p.artifact_id for p in prepared},
                content_hashes={p.content_hash for p in prepared},
                clock=self._clock,
            )
            known_products = set(snapshot.usage)  # read under the ledger lock, before this batch's writes
            decisions, versions, owners = self._decide_batch(prepared, snapshot, independent=independent)
            times = [self._clock() for _ in prepared]
            drafts = [
                _create_draft(p, d, v, o, self._policy.fingerprint)
                for p, d, v, o in zip(prepared, decisions, versions, owners, strict=True)
            ]
            ledger_rows, appended = chain_rows(drafts, times, snapshot.head)
            if independent and not all(d.allowed for d in decisions):
                conn.execute(_INSERT_LEDGER, ledger_rows)
                kept = [i for i, d in enumerate(decisions) if d.allowed]
                if kept:  # the allowed items of independent CREATEs, stored as create_batch stores a batch
                    store_versions(
                        conn,
                        [prepared[i] for i in kept],
                        [versions[i] for i in kept],
                        [owners[i] for i in kept],
                        [appended[i] for i in kept],
                        known_products,
                        snapshot.existing_payloads,
                    )
            elif not all(d.allowed for d in decisions):
                conn.execute(_INSERT_LEDGER, ledger_rows)
            elif len(prepared) == 1 and conn.dialect.name == "postgresql":
                item, entry = prepared[0], appended[0]
                row = version_row(item, versions[0], owners[0], entry)
                write_one_combined(conn, ledger_rows[0], item, row, known_products, snapshot.existing_payloads)
            else:
                conn.execute(_INSERT_LEDGER, ledger_rows)
                store_versions(conn, prepared, versions, owners, appended, known_products, snapshot.existing_payloads)
        return [
            Outcome(d, a.seq, a.entry_hash, p.artifact_id, v if d.allowed else None)
            for p, d, v, a in zip(prepared, decisions, versions, appended, strict=True)
        ]

    def _decide_batch(
        self, prepared: list[PreparedCreate], snapshot: StateSnapshot, *, independent: bool
    ) -> tuple[list[Decision], list[int], list[str]]:
        decisions, versions, owners = [], [], []
        batch_reason = None if independent else self._batch_size_reason(len(prepared))
        for item in prepared:
            owner = item.request.owner_id or self._default_owner(item.request.product_id)
            state = snapshot.for_request(item.request.product_id, item.artifact_id)
            decision = decide(item.gate_request(owner), self._policy, state)
            if batch_reason:
                decision = Decision((*decision.reasons, batch_reason))
            version = (state.artifact.latest_version if state.artifact else 0) + 1
            if decision.allowed:
                snapshot.record_write(item.request.product_id, item.artifact_id, version, owner, len(item.payload))
            decisions.append(decision)
            versions.append(version)
            owners.append(owner)
        if not independent and not all(d.allowed for d in decisions):
            rejected = Reason("batch_rejected", "another item of this batch was denied; nothing was stored")
            decisions = [d if not d.allowed else Decision((rejected,)) for d in decisions]
        return decisions, versions, owners

    def _batch_size_reason(self, size: int) -> Reason | None:
        limit = int(self._policy.limits.batch_size.max)
        if size > limit:
            return Reason("batch_too_large", f"a batch holds at most {limit} items, this one {size}")
        return None

    def _default_owner(self, product_id: str) -> str:
        product = self._policy.products.get(product_id)
        return product.owners[0] if product else ""

    # -- everything else --------------------------------------------------------------------------------------

    def submit(self, request: AccessRequest) -> Outcome:
        """Any non-CREATE request: decided by the gate and recorded, nothing stored."""
        return self.submit_batch([request])[0]

    def submit_batch(self, requests: Sequence[AccessRequest]) -> list[Outcome]:
        """Several non-CREATE requests decided and recorded in one transaction (each decided on its own)."""
        return [outcome for outcome, _ in self._access(requests)]

    def read(self, request: AccessRequest) -> tuple[Outcome, ArtifactVersion | None]:
        """A governed READ of one version (or the latest); the read itself is a ledger entry."""
        if request.operation is not Operation.READ:
            raise InvalidInputError("operation_invalid", "read() takes READ requests only")
        return self._access([request])[0]

    def read_batch(self, requests: Sequence[AccessRequest]) -> list[tuple[Outcome, ArtifactVersion | None]]:
        """Several READs in one transaction, each decided on its own (the API's group commit uses it)."""
        if any(r.operation is not Operation.READ for r in requests):
            raise InvalidInputError("operation_invalid", "read_batch() takes READ requests only")
        return self._access(requests) if requests else []

    def history(self, request: AccessRequest) -> tuple[Outcome, list[ArtifactVersion]]:
        """The version list of one artifact (capped by the result-set limit); recorded as a READ."""
        ((outcome, _),) = self._access([replace(request, details={**request.details, "view": "history"})])
        if not outcome.allowed:
            return outcome, []
        with self._engine.connect() as conn:
            versions = artifact_history(conn, request.artifact_id or "", limit=int(self._policy.limits.result_set.max))
        return outcome, versions

    def payload(self, content_hash: str) -> bytes | None:
        with self._engine.connect() as conn:
            data = conn.execute(select(payloads.c.data).where(payloads.c.content_hash == content_hash)).scalar()
        return bytes(data) if data is not None else None

    def _access(self, requests: Sequence[AccessRequest]) -> list[tuple[Outcome, ArtifactVersion | None]]:
        with self._engine.begin() as conn:
            lock_ledger(conn)
            snapshot = load_snapshot(
                conn,
                subjects={r.actor_id for r in requests},
                products={r.product_id for r in requests},
                artifact_ids={r.artifact_id for r in requests if r.artifact_id},
                clock=self._clock,
            )
            targets = _read_targets(conn, requests)
            decided = [self._decide_access(r, snapshot, targets) for r in requests]
            drafts = [
                _access_draft(r, d, found, self._policy.fingerprint)
                for r, (d, found) in zip(requests, decided, strict=True)
            ]
            appended = append_entries(conn, drafts, [self._clock() for _ in requests], head=snapshot.head)
        return [
            (Outcome(d, a.seq, a.entry_hash, r.artifact_id, found.version if found else None), found)
            for r, (d, found), a in zip(requests, decided, appended, strict=True)
        ]

    def _decide_access(
        self, request: AccessRequest, snapshot: StateSnapshot, targets: dict[tuple[str, int | None], ArtifactVersion]
    ) -> tuple[Decision, ArtifactVersion | None]:
        state = snapshot.for_request(request.product_id, request.artifact_id)
        gate_request = GateRequest(
            operation=request.operation,
            actor_id=request.actor_id,
            integration_id=request.integration_id,
            product_id=request.product_id,
            artifact_id=request.artifact_id,
        )
        decision = decide(gate_request, self._policy, state)
        if not decision.allowed or request.operation is not Operation.READ or not request.artifact_id:
            return decision, None
        found = targets.get((request.artifact_id, request.version))
        if found is None:
            missing = Reason("version_not_found", f"artifact {request.artifact_id!r} has no version {request.version}")
            return Decision((missing,)), None
        return decision, found


def _access_draft(
    request: AccessRequest, decision: Decision, found: ArtifactVersion | None, fingerprint: str
) -> EntryDraft:
    return EntryDraft(
        operation=request.operation.value,
        decision="ALLOW" if decision.allowed else "DENY",
        reasons=tuple(r.code for r in decision.reasons),
        actor_id=request.actor_id,
        integration_id=request.integration_id,
        product_id=request.product_id,
        policy_fingerprint=fingerprint,
        artifact_id=request.artifact_id,
        version=found.version if found else request.version,
        details=request.details,
    )


def _create_draft(item: PreparedCreate, decision: Decision, version: int, owner: str, fingerprint: str) -> EntryDraft:
    r = item.request
    details: dict[str, Any] = {
        "artifact_class": r.artifact_class,
        "owner_id": owner,
        "size_bytes": len(item.payload),
        "metadata_sha256": sha256_hex(item.metadata_json.encode()),
        "provenance_sha256": sha256_hex(item.provenance_json.encode()),
        "claimed_at_us": r.claimed_at_us,
        "schema_version": r.schema_version,
        "reference_url": r.reference_url,
        "expected_version": r.expected_version,
    }
    return EntryDraft(
        operation=Operation.CREATE.value,
        decision="ALLOW" if decision.allowed else "DENY",
        reasons=tuple(x.code for x in decision.reasons),
        actor_id=r.actor_id,
        integration_id=r.integration_id,
        product_id=r.product_id,
        policy_fingerprint=fingerprint,
        artifact_id=item.artifact_id,
        version=version if decision.allowed else None,
        content_hash=item.content_hash,
        details=details,
    )


def _read_targets(conn: Connection, requests: Sequence[AccessRequest]) -> dict[tuple[str, int | None], ArtifactVersion]:
    """Every version the READs of a batch ask for, in two queries (exact versions, latest versions)."""
    reads = [r for r in requests if r.operation is Operation.READ and r.artifact_id]
    if not reads:
        return {}
    exact = {(r.artifact_id, r.version) for r in reads if r.version is not None}
    latest = {r.artifact_id for r in reads if r.version is None}
    return artifact_versions_for(conn, exact, latest)  # type: ignore[arg-type]
