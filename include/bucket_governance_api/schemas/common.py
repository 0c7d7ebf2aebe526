"""Shapes shared by every router: the error body and the responses every route may give."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

ArtifactId = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:@-]+$")]
ActorId = Annotated[str, Field(min_length=2, max_length=64, pattern=r"^[a-z][a-z0-9_.-]{1,63}$")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Out(BaseModel):
    """Response models: documented fields; nothing the caller sends is echoed unchecked."""


class ErrorDetail(BaseModel):
    code: str = Field(description="stable, machine-readable; e.g. version_conflict, cross_product_access")
    message: str = Field(description="a sentence saying what was wrong and what to do")


class ErrorBody(BaseModel):
    error: ErrorDetail
    seq: int | None = Field(None, description="the ledger entry that recorded the refusal, when there is one")


_ERROR_STATUSES = {
    400: "the body could not be parsed (not JSON)",
    401: "missing or unknown bearer token, or no/unknown X-Bucket-Actor",
    403: "refused: another product, wrong actor kind, or the gate said no (recorded in the ledger)",
    404: "no such resource",
    422: "the request is invalid",
    429: "the product is over its rate limit; see Retry-After",
    500: "unexpected server error (no details are returned)",
    503: "the database is unavailable",
}
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": text} for status, text in _ERROR_STATUSES.items()
}
WRITE_ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    **ERROR_RESPONSES,
    409: {"model": ErrorBody, "description": "version conflict: state the current version as expected_version"},
    413: {"model": ErrorBody, "description": "payload or metadata over the policy's size limit"},
    507: {"model": ErrorBody, "description": "the product's quota or artifact limit is reached"},
}
