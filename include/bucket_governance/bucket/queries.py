"""Read queries on artifact versions, shared by the governed store and the operator CLI."""

from __future__ import annotations

from sqlalchemy import Connection, func, select, tuple_

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


def artifact_versions_for(
    conn: Connection, exact: set[tuple[str, int]], latest: set[str]
) -> dict[tuple[str, int | None], ArtifactVersion]:
    """Versions keyed (artifact_id, version) for ``exact`` pairs and (artifact_id, None) for the latest of ``latest``."""
    av = artifact_versions
    found: dict[tuple[str, int | None], ArtifactVersion] = {}
    if exact:
        for row in conn.execute(select(av).where(tuple_(av.c.artifact_id, av.c.version).in_(sorted(exact)))):
            found[(row.artifact_id, row.version)] = ArtifactVersion.from_row(row)
    if latest:
        newest = (
            select(av.c.artifact_id, func.max(av.c.version).label("version"))
            .where(av.c.artifact_id.in_(sorted(latest)))
            .group_by(av.c.artifact_id)
            .subquery()
        )
        query = select(av).join(newest, (av.c.artifact_id == newest.c.artifact_id) & (av.c.version == newest.c.version))
        for row in conn.execute(query):
            found[(row.artifact_id, None)] = ArtifactVersion.from_row(row)
    return found
