"""SQL checks that a demo history is clean — what the threat rules must find nothing in.

Each check reads the Bucket tables directly (not the generator's own bookkeeping) and returns a list of
problems, empty when the invariant holds. The demo tests run them on every generated history; a threat-rule
test can run them to prove its "silent on clean data" fixture really is clean.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import Connection, Engine, and_, func, select
from sqlalchemy.sql import ColumnElement

from bucket_governance.bucket.requests import json_depth
from bucket_governance.db.tables import artifact_versions, ledger_entries
from bucket_governance.ledger.verify import verify_chain
from bucket_governance.policy import ActorKind, LoadedPolicy

SECOND_US = 1_000_000
MAX_REPORTED = 20  # problems listed per check; the count of the rest is enough to act on
MAX_CLAIM_SKEW_US = 10 * SECOND_US  # "within seconds": far inside the policy's claimed-time tolerance
MIN_REVISION_GAP_US = 3600 * SECOND_US  # versions of one artifact never crowd together
LIMIT_FRACTION = 0.25  # "far below a limit": at most a quarter of it
MAX_METADATA_DEPTH = 5

Check = Callable[[Connection, LoadedPolicy], list[str]]
L = ledger_entries.c
A = artifact_versions.c


def check_clean_history(engine: Engine, policy: LoadedPolicy) -> dict[str, list[str]]:
    """Every invariant's problems by name (an empty list where it holds)."""
    with engine.connect() as conn:
        return {name: check(conn, policy)[:MAX_REPORTED] for name, check in CHECKS.items()}


def no_denials(conn: Connection, _policy: LoadedPolicy) -> list[str]:
    rows = conn.execute(select(L.seq, L.operation, L.reasons).where(L.decision == "DENY").order_by(L.seq))
    return [f"seq {r.seq}: {r.operation} denied {r.reasons}" for r in rows]


def chain_intact(conn: Connection, _policy: LoadedPolicy) -> list[str]:
    return [f"seq {p.seq}: {p.kind}: {p.message}" for p in verify_chain(conn).problems]


def ledger_time_moves_forward(conn: Connection, _policy: LoadedPolicy) -> list[str]:
    nxt = ledger_entries.alias("nxt")
    rows = conn.execute(
        select(L.seq, L.recorded_at_us, nxt.c.recorded_at_us.label("next_us")).join(
            nxt, and_(nxt.c.seq == L.seq + 1, nxt.c.recorded_at_us <= L.recorded_at_us)
        )
    )
    return [f"seq {r.seq + 1} is not later than seq {r.seq} ({r.next_us} <= {r.recorded_at_us})" for r in rows]


def versions_dense(conn: Connection, _policy: LoadedPolicy) -> list[str]:
    count, low, high = func.count(), func.min(A.version), func.max(A.version)
    rows = conn.execute(
        select(A.artifact_id, count, low, high).group_by(A.artifact_id).having((low != 1) | (high != count))
    )
    return [f"{r[0]}: {r[1]} versions numbered {r[2]}..{r[3]}" for r in rows]


def versions_recorded(conn: Connection, _policy: LoadedPolicy) -> list[str]:
    """Each artifact version is backed by the ALLOW CREATE ledger entry it points at."""
    matches = and_(
        L.seq == A.ledger_seq,
        L.artifact_id == A.artifact_id,
        L.version == A.version,
        L.operation == "CREATE",
        L.decision == "ALLOW",
        L.recorded_at_us == A.created_at_us,
    )
    rows = conn.execute(
        select(A.artifact_id, A.version)
        .select_from(artifact_versions.outerjoin(ledger_entries, matches))
        .where(L.seq.is_(None))
    )
    return [f"{r.artifact_id} v{r.version} has no matching ledger entry" for r in rows]


def own_product_only(conn: Connection, policy: LoadedPolicy) -> list[str]:
    """Actors and integrations act only on their own product, through approved, unrevoked integrations."""
    # Governance actions (e.g. the policy approval) are taken by people, not through a product's integration.
    rows = conn.execute(
        select(L.actor_id, L.integration_id, L.product_id).where(L.operation != "GOVERNANCE_ACTION").distinct()
    )
    problems = [_scope_problem(policy, r.actor_id, r.integration_id, r.product_id) for r in rows]
    reads = conn.execute(
        select(L.seq, L.product_id, A.product_id.label("artifact_product"))
        .join(artifact_versions, and_(A.artifact_id == L.artifact_id, A.version == 1))
        .where(L.product_id != A.product_id)
    )
    return [p for p in problems if p] + [
        f"seq {r.seq}: {r.product_id} touched a {r.artifact_product} artifact" for r in reads
    ]


def _scope_problem(policy: LoadedPolicy, actor_id: str, integration_id: str, product_id: str) -> str | None:
    actor = policy.actors.get(actor_id)
    integration = policy.integrations.get(integration_id)
    if actor is None or integration is None:
        return f"unknown actor {actor_id!r} or integration {integration_id!r}"
    if not integration.approved or integration.revoked or integration.product != product_id:
        return f"{actor_id} used integration {integration_id} for {product_id}"
    in_scope = product_id in actor.scope if actor.kind is ActorKind.AUDITOR else actor.product == product_id
    return None if in_scope else f"{actor_id} acted on product {product_id}"


def namespaces_disjoint(conn: Connection, _policy: LoadedPolicy) -> list[str]:
    rows = conn.execute(
        select(A.artifact_id).group_by(A.artifact_id).having(func.count(func.distinct(A.product_id)) > 1)
    )
    return [f"{r.artifact_id} is claimed by several products" for r in rows]


def classes_and_owners(conn: Connection, policy: LoadedPolicy) -> list[str]:
    rows = conn.execute(select(A.product_id, A.artifact_class, A.owner_id).distinct())
    problems = []
    for product_id, artifact_class, owner_id in rows:
        product = policy.products[product_id]
        if artifact_class not in product.artifact_classes or owner_id not in product.owners:
            problems.append(f"{product_id} stored {artifact_class} owned by {owner_id}")
    return problems


def claimed_time_close(conn: Connection, _policy: LoadedPolicy) -> list[str]:
    skew = A.created_at_us - A.claimed_at_us
    rows = conn.execute(
        select(A.artifact_id, A.version, skew.label("skew")).where(
            A.claimed_at_us.is_not(None), (skew < 0) | (skew > MAX_CLAIM_SKEW_US)
        )
    )
    return [f"{r.artifact_id} v{r.version}: claimed {r.skew} µs before the server time" for r in rows]


def revisions_spaced(conn: Connection, _policy: LoadedPolicy) -> list[str]:
    nxt = artifact_versions.alias("nxt")
    close = and_(
        nxt.c.artifact_id == A.artifact_id,
        nxt.c.version == A.version + 1,
        nxt.c.created_at_us - A.created_at_us < MIN_REVISION_GAP_US,
    )
    rows = conn.execute(select(A.artifact_id, A.version).join(nxt, close))
    return [f"{r.artifact_id}: v{r.version + 1} follows v{r.version} within the hour" for r in rows]


def provenance_sound(conn: Connection, policy: LoadedPolicy) -> list[str]:
    """Every version states an intent; every parent exists in the same product and is older than its child."""
    known = {
        (r.artifact_id, r.version): (r.created_at_us, r.product_id)
        for r in conn.execute(select(A.artifact_id, A.version, A.created_at_us, A.product_id))
    }
    problems = []
    for row in conn.execute(select(A.artifact_id, A.version, A.created_at_us, A.product_id, A.provenance)):
        problems += _provenance_problems(row, json.loads(row.provenance), known)
    return problems


def _provenance_problems(
    row: Any, provenance: dict[str, Any], known: dict[tuple[str, int], tuple[int, str]]
) -> list[str]:
    where = f"{row.artifact_id} v{row.version}"
    problems = [] if provenance.get("intent") and provenance.get("source") else [f"{where}: no source or intent"]
    for parent in provenance.get("parents", []):
        created, product = known.get((parent.get("artifact_id"), parent.get("version")), (None, None))
        if created is None:
            problems.append(f"{where}: parent {parent} does not exist")
        elif created >= row.created_at_us or product != row.product_id:
            problems.append(f"{where}: parent {parent} is newer than its child or of another product")
    return problems


def metadata_modest(conn: Connection, policy: LoadedPolicy) -> list[str]:
    byte_limit = int(policy.limits.metadata_size) * LIMIT_FRACTION
    size_limit = int(policy.limits.artifact_size) * LIMIT_FRACTION
    problems = []
    for row in conn.execute(select(A.artifact_id, A.version, A.metadata, A.size_bytes)):
        depth = json_depth(json.loads(row.metadata))
        if len(row.metadata.encode()) > byte_limit or depth > MAX_METADATA_DEPTH or row.size_bytes > size_limit:
            problems.append(
                f"{row.artifact_id} v{row.version}: metadata {len(row.metadata)} B, depth {depth}, size {row.size_bytes}"
            )
    return problems


def rates_far_below_limits(conn: Connection, policy: LoadedPolicy) -> list[str]:
    """Per-second write and read counts stay below a quarter of each product's and the global safe rates."""
    problems = []
    for operation, product_rate, global_rate in (
        ("CREATE", "write_rate_per_second", policy.limits.writes_per_second.safe),
        ("READ", "read_rate_per_second", policy.limits.reads_per_second.safe),
    ):
        for product_id, second, count in _busiest_seconds(conn, operation, by_product=True):
            limit = getattr(policy.products[product_id], product_rate) or global_rate or 1
            if count > limit * LIMIT_FRACTION:
                problems.append(f"{product_id}: {count} {operation} in second {second} (limit {limit}/s)")
        for _, second, count in _busiest_seconds(conn, operation, by_product=False):
            if count > (global_rate or 1) * LIMIT_FRACTION:
                problems.append(f"all products: {count} {operation} in second {second}")
    return problems


def _busiest_seconds(conn: Connection, operation: str, *, by_product: bool) -> Iterable[Any]:
    second: ColumnElement[int] = (L.recorded_at_us // SECOND_US).label("second")
    product = L.product_id if by_product else func.min(L.product_id)
    group = [L.product_id, second] if by_product else [second]
    query = select(product, second, func.count()).where(L.operation == operation).group_by(*group)
    return conn.execute(query.having(func.count() > 1))


CHECKS: dict[str, Check] = {
    "no_denials": no_denials,
    "chain_intact": chain_intact,
    "ledger_time_moves_forward": ledger_time_moves_forward,
    "versions_dense": versions_dense,
    "versions_recorded": versions_recorded,
    "own_product_only": own_product_only,
    "namespaces_disjoint": namespaces_disjoint,
    "classes_and_owners": classes_and_owners,
    "claimed_time_close": claimed_time_close,
    "revisions_spaced": revisions_spaced,
    "provenance_sound": provenance_sound,
    "metadata_modest": metadata_modest,
    "rates_far_below_limits": rates_far_below_limits,
}
