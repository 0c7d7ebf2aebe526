"""Load what the gate needs (controls, usage, artifact head) inside the write transaction."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace

from sqlalchemy import Connection, bindparam, exists, func, literal, select

from bucket_governance.bucket.gate import (
    DEFAULT_WRITES_PER_SECOND,
    THROTTLE_INTERVAL_US,
    ArtifactState,
    GateState,
    Throttle,
)
from bucket_governance.bucket.policy_approval import last_approval
from bucket_governance.db.tables import artifact_versions, gate_controls, ledger_entries, payloads, product_usage
from bucket_governance.ledger.canonical import GENESIS_HASH
from bucket_governance.ledger.chain import ledger_head

CONTROL_FIELDS = {
    "freeze_actor": "frozen_actors",
    "halt_product": "halted_products",
    "legal_hold": "held_subjects",
    "quarantine": "quarantined_artifacts",
}
PIN_SUBJECT = "policy"  # the subject of the one pin_policy control (F4): the policy is global
Clock = Callable[[], int]


@dataclass
class Controls:
    """The active controls on a request's subjects, with what throttles and the pin need."""

    subjects: dict[str, set[str]] = field(default_factory=lambda: {name: set() for name in CONTROL_FIELDS.values()})
    throttles: dict[str, Throttle] = field(default_factory=dict)
    pinned_fingerprint: str | None = None


@dataclass
class StateSnapshot:
    """Controls, usage and artifact heads for a set of subjects; batches share one snapshot."""

    controls: Controls
    usage: dict[str, tuple[int, int]]  # product -> (bytes, versions)
    artifacts: dict[str, ArtifactState]
    head: tuple[int, str]  # the ledger head (seq, hash) read under the lock
    existing_payloads: set[str] = field(default_factory=set)  # content hashes already stored
    _frozen_sets: tuple[frozenset[str], ...] | None = field(default=None, init=False, repr=False, compare=False)

    def for_request(self, product_id: str, artifact_id: str | None) -> GateState:
        bytes_stored, versions = self.usage.get(product_id, (0, 0))
        frozen, halted, held, quarantined = self._control_sets()
        throttles = self.controls.throttles
        return GateState(
            frozen_actors=frozen,
            halted_products=halted,
            held_subjects=held,
            quarantined_artifacts=quarantined,
            throttles=tuple(throttles[s] for s in (product_id, artifact_id) if s in throttles) if throttles else (),
            pinned_fingerprint=self.controls.pinned_fingerprint,
            product_bytes=bytes_stored,
            product_versions=versions,
            artifact=self.artifacts.get(artifact_id) if artifact_id else None,
        )

    def _control_sets(self) -> tuple[frozenset[str], ...]:
        # Controls do not change within a batch: freeze them once, not once per item.
        if self._frozen_sets is None:
            subjects = self.controls.subjects
            names = ("frozen_actors", "halted_products", "held_subjects", "quarantined_artifacts")
            self._frozen_sets = tuple(frozenset(subjects[name]) for name in names)
        return self._frozen_sets

    def record_write(self, product_id: str, artifact_id: str, version: int, owner_id: str, size: int) -> None:
        """Later items of the same batch see the writes of earlier ones."""
        bytes_stored, versions = self.usage.get(product_id, (0, 0))
        self.usage[product_id] = (bytes_stored + size, versions + 1)
        self.artifacts[artifact_id] = ArtifactState(product_id, version, owner_id)
        throttles = self.controls.throttles
        for subject in (product_id, artifact_id):
            if subject in throttles:
                throttles[subject] = replace(throttles[subject], recent_writes=throttles[subject].recent_writes + 1)


def load_snapshot(
    conn: Connection,
    subjects: Iterable[str],
    products: Iterable[str],
    artifact_ids: Iterable[str],
    content_hashes: Iterable[str] = (),
    clock: Clock | None = None,
) -> StateSnapshot:
    """Everything the gate and the writer need, read under the ledger lock.

    A request about one product and at most one artifact — the common case — is answered by ONE query
    (round trips dominate a single write); larger batches use one query per kind of state. ``clock`` is
    read only while a throttle applies, to count the writes of its current interval.
    """
    products, artifact_ids, hashes = set(products), set(artifact_ids), set(content_hashes)
    all_subjects = set(subjects) | products | artifact_ids | {PIN_SUBJECT}
    loader = _ControlLoader(conn, products, clock)
    if len(products) == 1 and len(artifact_ids) <= 1 and len(hashes) <= 1:
        return _single_snapshot(
            conn, loader, all_subjects, next(iter(products)), next(iter(artifact_ids), None), next(iter(hashes), None)
        )
    return StateSnapshot(
        controls=loader.load(all_subjects),
        usage=_usage(conn, products),
        artifacts=_artifact_heads(conn, artifact_ids),
        head=ledger_head(conn),
        existing_payloads=set(conn.execute(_PAYLOADS_PRESENT, {"hashes": list(hashes)}).scalars()) if hashes else set(),
    )


def _single_snapshot(
    conn: Connection,
    loader: _ControlLoader,
    subjects: set[str],
    product_id: str,
    artifact_id: str | None,
    content_hash: str | None,
) -> StateSnapshot:
    row = conn.execute(
        _SINGLE,
        {"product": product_id, "artifact": artifact_id or "", "hash": content_hash or "", "subjects": list(subjects)},
    ).one()
    # Controls are rare: only when one applies to these subjects is the detail fetched.
    controls = loader.load(subjects) if row.has_controls else Controls()
    usage = {product_id: (int(row.bytes_stored), int(row.versions))} if row.bytes_stored is not None else {}
    artifacts = {}
    if artifact_id and row.latest_version is not None:
        artifacts[artifact_id] = ArtifactState(row.latest_product, int(row.latest_version), row.latest_owner)
    head = (int(row.head_seq), str(row.head_hash)) if row.head_seq is not None else (0, GENESIS_HASH)
    return StateSnapshot(
        controls, usage, artifacts, head, {content_hash} if content_hash and row.payload_present else set()
    )


class _ControlLoader:
    """Active controls of a set of subjects; throttles also count their interval's committed writes."""

    def __init__(self, conn: Connection, products: set[str], clock: Clock | None) -> None:
        self._conn, self._products, self._clock = conn, products, clock

    def load(self, subjects: set[str]) -> Controls:
        controls = Controls()
        for kind, subject, parameters in self._conn.execute(_CONTROLS, {"subjects": list(subjects)}):
            if kind in CONTROL_FIELDS:
                controls.subjects[CONTROL_FIELDS[kind]].add(subject)
            elif kind == "throttle":
                controls.throttles[subject] = self._throttle(subject, _parameters(parameters))
            elif kind == "pin_policy" and subject == PIN_SUBJECT:
                controls.pinned_fingerprint = self._pinned(_parameters(parameters))
        return controls

    def _pinned(self, parameters: dict[str, object]) -> str:
        """The pin follows the newest policy approval, so approving a policy (in F4 or outside it) moves what
        the gate enforces; before any approval, the fingerprint pinned when the control was placed. A pin with
        neither matches no policy: every write is refused (fail closed)."""
        approved = last_approval(self._conn)
        return approved.fingerprint if approved else str(parameters.get("fingerprint") or "")

    def _throttle(self, subject: str, parameters: dict[str, object]) -> Throttle:
        rate = parameters.get("writes_per_second", DEFAULT_WRITES_PER_SECOND)
        rate = rate if isinstance(rate, int) and rate >= 1 else DEFAULT_WRITES_PER_SECOND
        now = self._clock() if self._clock is not None else time.time_ns() // 1000
        query = _RECENT_PRODUCT_WRITES if subject in self._products else _RECENT_ARTIFACT_WRITES
        recent = self._conn.execute(query, {"subject": subject, "since": now - THROTTLE_INTERVAL_US}).scalar_one()
        return Throttle(subject, rate, int(recent))


def _parameters(text: str | None) -> dict[str, object]:
    try:
        value = json.loads(text or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _usage(conn: Connection, products: set[str]) -> dict[str, tuple[int, int]]:
    rows = conn.execute(_USAGE, {"products": list(products)})
    return {r.product_id: (int(r.bytes_stored), int(r.artifact_versions)) for r in rows}


def _artifact_heads(conn: Connection, artifact_ids: set[str]) -> dict[str, ArtifactState]:
    if not artifact_ids:
        return {}
    rows = conn.execute(_HEADS, {"ids": list(artifact_ids)})
    return {r.artifact_id: ArtifactState(r.product_id, int(r.version), r.owner_id) for r in rows}


# Built once: constructing a statement per call (coercions, cache key) cost more than running it.
_CONTROLS = select(gate_controls.c.kind, gate_controls.c.subject, gate_controls.c.parameters).where(
    gate_controls.c.lifted_at_us.is_(None), gate_controls.c.subject.in_(bindparam("subjects", expanding=True))
)
_USAGE = select(product_usage).where(product_usage.c.product_id.in_(bindparam("products", expanding=True)))
_av = artifact_versions
_since = _av.c.created_at_us > bindparam("since")  # the last second: (now - 1 s, now]
_RECENT_PRODUCT_WRITES = select(func.count()).where(_av.c.product_id == bindparam("subject"), _since)
_RECENT_ARTIFACT_WRITES = select(func.count()).where(_av.c.artifact_id == bindparam("subject"), _since)
_latest = (
    select(_av.c.artifact_id, func.max(_av.c.version).label("version"))
    .where(_av.c.artifact_id.in_(bindparam("ids", expanding=True)))
    .group_by(_av.c.artifact_id)
    .subquery()
)
_HEADS = select(_av.c.artifact_id, _av.c.version, _av.c.product_id, _av.c.owner_id).join(
    _latest, (_av.c.artifact_id == _latest.c.artifact_id) & (_av.c.version == _latest.c.version)
)

_PAYLOADS_PRESENT = select(payloads.c.content_hash).where(
    payloads.c.content_hash.in_(bindparam("hashes", expanding=True))
)


def _latest_of(column: object) -> object:
    return (
        select(column)  # type: ignore[call-overload]
        .where(_av.c.artifact_id == bindparam("artifact"))
        .order_by(_av.c.version.desc())
        .limit(1)
        .scalar_subquery()
    )


def _head(column: object) -> object:
    return select(column).order_by(ledger_entries.c.seq.desc()).limit(1).scalar_subquery()  # type: ignore[call-overload]


_usage_row = product_usage.c.product_id == bindparam("product")
_SINGLE = select(
    _head(ledger_entries.c.seq).label("head_seq"),  # type: ignore[attr-defined]
    _head(ledger_entries.c.entry_hash).label("head_hash"),  # type: ignore[attr-defined]
    select(product_usage.c.bytes_stored).where(_usage_row).scalar_subquery().label("bytes_stored"),
    select(product_usage.c.artifact_versions).where(_usage_row).scalar_subquery().label("versions"),
    _latest_of(_av.c.version).label("latest_version"),  # type: ignore[attr-defined]
    _latest_of(_av.c.product_id).label("latest_product"),  # type: ignore[attr-defined]
    _latest_of(_av.c.owner_id).label("latest_owner"),  # type: ignore[attr-defined]
    exists(select(literal(1)).where(payloads.c.content_hash == bindparam("hash"))).label("payload_present"),
    exists(
        select(literal(1)).where(
            gate_controls.c.lifted_at_us.is_(None), gate_controls.c.subject.in_(bindparam("subjects", expanding=True))
        )
    ).label("has_controls"),
)
