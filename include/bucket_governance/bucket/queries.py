"""Read queries on artifact versions, shared by the governed store and the operator CLI."""

from __future__ import annotations

from sqlalchemy import Connection, select

from bucket_governance.bucket.requests import ArtifactVersion
from bucket_governance.db.tables import artifact_versions


def artifact_version(conn: Connection, artifact_id: str, version: int | None = None) -> ArtifactVersion | None:
    """One version, or the latest when ``version`` is None."""
    query = select(artifact_versions).where(artifact_versions.c.artifact_id == artifact_id)
    if version is not None:
        query = query.where(artifact_versions.c.version == version)
    row = conn.execute(query.order_by(artifact_versions.c.version.desc()).limit(1)).first()
    return ArtifactVersion.from_row(row) if row else None


def artifact_history(conn: Connection, artifact_id: str, *, limit: int) -> list[ArtifactVersion]:
    query = (
        select(artifact_versions)
        .where(artifact_versions.c.artifact_id == artifact_id)
        .order_by(artifact_versions.c.version)
        .limit(limit)
    )
    return [ArtifactVersion.from_row(r) for r in conn.execute(query)]
