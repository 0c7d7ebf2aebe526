"""Path and query parameters shared by the routers, bounded so nothing oversized reaches the database."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query

ID_PATTERN = r"^[A-Za-z0-9_.:@-]+$"
ArtifactIdPath = Annotated[str, Path(min_length=1, max_length=128, pattern=ID_PATTERN)]
VersionPath = Annotated[int, Path(ge=1, le=2**31 - 1)]
SeqPath = Annotated[int, Path(ge=1, le=2**62)]
ActorIdPath = Annotated[str, Path(min_length=1, max_length=64, pattern=ID_PATTERN)]
Limit = Annotated[int, Query(ge=1, le=5000, description="at most this many items (the result-set limit)")]
ProductFilter = Annotated[
    str | None, Query(min_length=1, max_length=64, pattern=ID_PATTERN, description="one of your products")
]
