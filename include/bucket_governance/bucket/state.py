"""Load what the gate needs (controls, usage, artifact head) inside the write transaction."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Connection, func, select

from bucket_governance.bucket.gate import ArtifactState, GateState
from bucket_governance.db.tables import artifact_versions, gate_controls, product_usage

CONTROL_FIELDS = {
    "freeze_actor": "frozen_actors",
    "halt_product": "halted_products",
    "legal_hold": "held_subjects",
    "quarantine": "quarantined_artifacts",
}


@dataclass
class StateSnapshot:
    """Controls, usage and artifact heads for a set of subjects; batches share one snapshot."""

    controls: dict[str, set[str]]
    usage: dict[str, tuple[int, int]]  # product -> (bytes, versions)
    artifacts: dict[str, ArtifactState]

    def for_request(self, product_id: str, artifact_id: str | None) -> GateState:
        bytes_stored, versions = self.usage.get(product_id, (0, 0))
        return GateState(
            frozen_actors=frozenset(self.controls["frozen_actors"]),
            halted_products=frozenset(self.controls["halted_products"]),
            held_subjects=frozenset(self.controls["held_subjects"]),
            quarantined_artifacts=frozenset(self.controls["quarantined_artifacts"]),
            product_bytes=bytes_stored,
            product_versions=versions,
            artifact=self.artifacts.get(artifact_id) if artifact_id else None,
        )

    def record_write(self, product_id: str, artifact_id: str, version: int, owner_id: str, size: int) -> None:
        """Later items of the same batch see the writes of earlier ones."""
        bytes_stored, versions = self.usage.get(product_id, (0, 0))
        self.usage[product_id] = (bytes_stored + size, versions + 1)
        self.artifacts[artifact_id] = ArtifactState(product_id, version, owner_id)


def load_snapshot(
    conn: Connection, subjects: Iterable[str], products: Iterable[str], artifact_ids: Iterable[str]
) -> StateSnapshot:
    return StateSnapshot(
        controls=_active_controls(conn, set(subjects) | set(products) | set(artifact_ids)),
        usage=_usage(conn, set(products)),
        artifacts=_artifact_heads(conn, set(artifact_ids)),
    )


def _active_controls(conn: Connection, subjects: set[str]) -> dict[str, set[str]]:
    controls: dict[str, set[str]] = {name: set() for name in CONTROL_FIELDS.values()}
    if not subjects:
        return controls
    rows = conn.execute(
        select(gate_controls.c.kind, gate_controls.c.subject).where(
            gate_controls.c.lifted_at_us.is_(None), gate_controls.c.subject.in_(subjects)
        )
    )
    for kind, subject in rows:
        if kind in CONTROL_FIELDS:
            controls[CONTROL_FIELDS[kind]].add(subject)
    return controls


def _usage(conn: Connection, products: set[str]) -> dict[str, tuple[int, int]]:
    rows = conn.execute(select(product_usage).where(product_usage.c.product_id.in_(products)))
    return {r.product_id: (int(r.bytes_stored), int(r.artifact_versions)) for r in rows}


def _artifact_heads(conn: Connection, artifact_ids: set[str]) -> dict[str, ArtifactState]:
    if not artifact_ids:
        return {}
    av = artifact_versions
    latest = (
        select(av.c.artifact_id, func.max(av.c.version).label("version"))
        .where(av.c.artifact_id.in_(artifact_ids))
        .group_by(av.c.artifact_id)
        .subquery()
    )
    rows = conn.execute(
        select(av.c.artifact_id, av.c.version, av.c.product_id, av.c.owner_id).join(
            latest, (av.c.artifact_id == latest.c.artifact_id) & (av.c.version == latest.c.version)
        )
    )
    return {r.artifact_id: ArtifactState(r.product_id, int(r.version), r.owner_id) for r in rows}
