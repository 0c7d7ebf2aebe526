"""Versioned metadata baselines: profile an approved window → a proposed baseline; approve it → current.

A baseline is never edited: proposing writes a new version (status ``proposed``); approving it makes it
``current`` and the previous current one ``superseded``, in one transaction with a ledger entry
(``GOVERNANCE_ACTION`` / ``approve_baseline``) that names the approver — so a re-baseline is as auditable as
a write. Nothing here runs on its own: the drift check only reads baselines, it never proposes or approves.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import Connection, Engine, func, insert, select, update

from bucket_governance.checks.drift.frame import FieldStats, load_windows
from bucket_governance.db.engine import lock_ledger
from bucket_governance.db.tables_drift import drift_baselines
from bucket_governance.errors import InvalidInputError, NotFoundError, RequestDeniedError
from bucket_governance.ledger.governance import append_governance_action, governance_draft
from bucket_governance.policy import LoadedPolicy

B = drift_baselines.c


@dataclass(frozen=True)
class FieldSpec:
    """One metadata field of a baseline: its JSON type, whether every version carries it, allowed values."""

    name: str
    type: str  # string | integer | number | boolean | array | object
    required: bool  # present and non-null in every profiled version
    nullable: bool  # may be absent or null
    allowed_values: tuple[Any, ...] | None = None
    observed_types: dict[str, int] | None = None  # what profiling saw, for the approver

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> FieldSpec:
        allowed = doc.get("allowed_values")
        return cls(
            name=doc["name"],
            type=doc["type"],
            required=bool(doc["required"]),
            nullable=bool(doc["nullable"]),
            allowed_values=None if allowed is None else tuple(allowed),
            observed_types=doc.get("observed_types"),
        )

    def as_dict(self) -> dict[str, Any]:
        doc = asdict(self)
        doc["allowed_values"] = None if self.allowed_values is None else list(self.allowed_values)
        return doc


@dataclass(frozen=True)
class Baseline:
    baseline_id: str
    product_id: str
    artifact_class: str
    version: int
    status: str
    fields: tuple[FieldSpec, ...]
    fields_sha256: str
    profiled_start_us: int
    profiled_end_us: int
    rows_profiled: int
    proposed_by: str
    proposed_at_us: int
    approved_by: str | None
    approved_at_us: int | None
    approval_seq: int | None

    @property
    def by_name(self) -> dict[str, FieldSpec]:
        return {f.name: f for f in self.fields}

    def as_dict(self) -> dict[str, Any]:
        doc = asdict(self)
        doc["fields"] = [f.as_dict() for f in self.fields]
        return doc


def _now_us() -> int:
    return time.time_ns() // 1000


def fields_digest(fields: Sequence[FieldSpec]) -> str:
    canonical = json.dumps([f.as_dict() for f in fields], sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


# -- profiling ---------------------------------------------------------------------------------------------


def profile_fields(
    stats: Mapping[str, FieldStats], rows: int, allowed_values: Mapping[str, Sequence[Any]] | None = None
) -> list[FieldSpec]:
    """Field specs from a window's statistics; ``allowed_values`` (field → values) are declared, never guessed."""
    allowed = dict(allowed_values or {})
    unknown = sorted(set(allowed) - set(stats))
    if unknown:
        raise InvalidInputError(
            "allowed_values_unknown_field", f"allowed values name field(s) not in the window: {', '.join(unknown)}"
        )
    specs = []
    for name in sorted(stats):
        entry = stats[name]
        required = entry.present == rows and entry.nulls == 0
        values = allowed.get(name)
        specs.append(
            FieldSpec(
                name=name,
                type=_dominant_type(entry),
                required=required,
                nullable=not required,
                allowed_values=None if values is None else tuple(values),
                observed_types=dict(entry.types),
            )
        )
    return specs


def _dominant_type(entry: FieldStats) -> str:
    kinds = set(entry.types)
    if kinds == {"integer", "number"}:
        return "number"
    return entry.types.most_common(1)[0][0] if entry.types else "string"


def _check_scope(policy: LoadedPolicy, product_id: str, artifact_class: str) -> None:
    product = policy.products.get(product_id)
    if product is None:
        raise InvalidInputError("product_unknown", f"no product {product_id!r} in the policy")
    if artifact_class not in product.artifact_classes:
        raise InvalidInputError(
            "class_not_allowed",
            f"product {product_id} stores {', '.join(product.artifact_classes)}, not {artifact_class!r}",
        )


def propose_baseline(
    engine: Engine,
    policy: LoadedPolicy,
    *,
    product_id: str,
    artifact_class: str,
    window_start_us: int,
    window_end_us: int,
    proposed_by: str,
    allowed_values: Mapping[str, Sequence[Any]] | None = None,
) -> Baseline:
    """Profile [start, end) of one product × class into a new ``proposed`` baseline version."""
    _check_scope(policy, product_id, artifact_class)
    with engine.connect() as conn:
        window = load_windows(conn, product_id, [artifact_class], window_start_us, window_end_us)[artifact_class]
    if not len(window):
        raise InvalidInputError(
            "profile_window_empty",
            f"{product_id} stored no {artifact_class} in the window: choose --since/--until around real traffic",
        )
    specs = profile_fields(window.stats(), len(window), allowed_values)
    with engine.begin() as conn:
        version = _next_version(conn, product_id, artifact_class)
        row = {
            "baseline_id": f"{product_id}/{artifact_class}/v{version}",
            "product_id": product_id,
            "artifact_class": artifact_class,
            "version": version,
            "status": "proposed",
            "fields": json.dumps([s.as_dict() for s in specs], sort_keys=True, default=str),
            "fields_sha256": fields_digest(specs),
            "profiled_start_us": window_start_us,
            "profiled_end_us": window_end_us,
            "rows_profiled": len(window),
            "proposed_by": proposed_by,
            "proposed_at_us": _now_us(),
        }
        conn.execute(insert(drift_baselines).values(row))
        return _baseline(conn.execute(select(drift_baselines).where(B.baseline_id == row["baseline_id"])).one())


def _next_version(conn: Connection, product_id: str, artifact_class: str) -> int:
    query = select(func.max(B.version)).where(B.product_id == product_id, B.artifact_class == artifact_class)
    return int(conn.execute(query).scalar() or 0) + 1


# -- approval ----------------------------------------------------------------------------------------------


def approve_baseline(
    engine: Engine,
    policy: LoadedPolicy,
    *,
    product_id: str,
    artifact_class: str,
    actor_id: str,
    version: int | None = None,
) -> Baseline:
    """Make a proposed baseline current (default: the newest proposal), recorded as a ledger entry.

    Only an owner of the product may approve; a refusal is recorded in the ledger too. There is nothing to
    re-run: approving again without a new proposal is an error, never a silent re-approval.
    """
    _check_scope(policy, product_id, artifact_class)
    with engine.begin() as conn:
        lock_ledger(conn)  # the approval and its ledger entry are one transaction, serialised with writers
        proposal = _proposal(conn, product_id, artifact_class, version)
        refusal = _refusal(policy, product_id, actor_id)
        entry = _append_approval(conn, policy, proposal, actor_id, refusal)
        if refusal:
            denied = (proposal.baseline_id, entry.seq)
        else:
            _make_current(conn, proposal, actor_id, entry.recorded_at_us, entry.seq)
            denied = None
        if denied is None:
            return _baseline(conn.execute(select(drift_baselines).where(B.baseline_id == proposal.baseline_id)).one())
    raise RequestDeniedError(
        "approval_refused",
        f"{actor_id} may not approve {denied[0]}: only an owner of {product_id} approves its baselines "
        f"(refusal recorded as ledger seq {denied[1]})",
        seq=denied[1],
    )


def _proposal(conn: Connection, product_id: str, artifact_class: str, version: int | None) -> Baseline:
    query = select(drift_baselines).where(
        B.product_id == product_id, B.artifact_class == artifact_class, B.status == "proposed"
    )
    if version is not None:
        query = query.where(B.version == version)
    row = conn.execute(query.order_by(B.version.desc()).limit(1)).first()
    if row is None:
        which = f"version {version}" if version is not None else "any version"
        raise NotFoundError(
            "baseline_not_proposed",
            f"no proposed {product_id}/{artifact_class} baseline ({which}) to approve: propose one first with "
            f"`bucket-gov drift baseline --product {product_id} --class {artifact_class}`",
        )
    return _baseline(row)


def _refusal(policy: LoadedPolicy, product_id: str, actor_id: str) -> str | None:
    if actor_id not in policy.actors:
        return "actor_unknown"
    return None if actor_id in policy.owners_of(product_id) else "approver_not_owner"


def _append_approval(
    conn: Connection, policy: LoadedPolicy, proposal: Baseline, actor_id: str, refusal: str | None
) -> Any:
    details = {
        "baseline_id": proposal.baseline_id,
        "artifact_class": proposal.artifact_class,
        "version": proposal.version,
        "fields_sha256": proposal.fields_sha256,
    }
    draft = governance_draft(
        "approve_baseline",
        actor_id=actor_id,
        product_id=proposal.product_id,
        policy_fingerprint=policy.fingerprint,
        details=details,
        refusal=refusal,
    )
    return append_governance_action(conn, draft, _now_us())


def _make_current(conn: Connection, proposal: Baseline, actor_id: str, at_us: int, seq: int) -> None:
    scope = (B.product_id == proposal.product_id, B.artifact_class == proposal.artifact_class)
    conn.execute(
        update(drift_baselines)
        .where(*scope, B.status.in_(("current", "proposed")), B.baseline_id != proposal.baseline_id)
        .values(status="superseded")
    )
    conn.execute(
        update(drift_baselines)
        .where(B.baseline_id == proposal.baseline_id)
        .values(status="current", approved_by=actor_id, approved_at_us=at_us, approval_seq=seq)
    )


# -- reading -----------------------------------------------------------------------------------------------


def current_baseline(conn: Connection, product_id: str, artifact_class: str) -> Baseline | None:
    row = conn.execute(
        select(drift_baselines).where(
            B.product_id == product_id, B.artifact_class == artifact_class, B.status == "current"
        )
    ).first()
    return None if row is None else _baseline(row)


def list_baselines(
    conn: Connection, product_id: str | None = None, artifact_class: str | None = None
) -> list[Baseline]:
    query = select(drift_baselines).order_by(B.product_id, B.artifact_class, B.version)
    if product_id is not None:
        query = query.where(B.product_id == product_id)
    if artifact_class is not None:
        query = query.where(B.artifact_class == artifact_class)
    return [_baseline(r) for r in conn.execute(query)]


def _baseline(row: Any) -> Baseline:
    return Baseline(
        baseline_id=row.baseline_id,
        product_id=row.product_id,
        artifact_class=row.artifact_class,
        version=int(row.version),
        status=row.status,
        fields=tuple(FieldSpec.from_dict(d) for d in json.loads(row.fields)),
        fields_sha256=row.fields_sha256,
        profiled_start_us=int(row.profiled_start_us),
        profiled_end_us=int(row.profiled_end_us),
        rows_profiled=int(row.rows_profiled),
        proposed_by=row.proposed_by,
        proposed_at_us=int(row.proposed_at_us),
        approved_by=row.approved_by,
        approved_at_us=None if row.approved_at_us is None else int(row.approved_at_us),
        approval_seq=None if row.approval_seq is None else int(row.approval_seq),
    )
