"""Every error the API returns is ``{"error": {"code", "message"}}`` with a stable code — never a traceback.

``ApiError`` is raised by the API's own checks (authentication, scope, rate limits); the library's
``GovernanceError`` subclasses map to statuses here; request validation answers 422 in the same shape, and
anything unexpected answers 500 ``internal_error`` (the traceback goes to the server log only).
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bucket_governance.bucket.gate import STATUS_BY_CODE
from bucket_governance.errors import GovernanceError, InvalidInputError, NotFoundError, RequestDeniedError
from bucket_governance.ledger.canonical import CanonicalFormError

log = logging.getLogger(__name__)

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "payload_too_large",
    415: "unsupported_media_type",
}


class ApiError(Exception):
    """An error the API itself decides: status, stable code, a sentence; ``seq`` when it is in the ledger."""

    def __init__(
        self, status: int, code: str, message: str, *, seq: int | None = None, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.seq = seq
        self.headers = headers or {}


def error_body(code: str, message: str, seq: int | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"error": {"code": code, "message": message}}
    if seq is not None:
        body["seq"] = seq
    return body


# Refusal codes whose HTTP status the gate's own table does not give (it defaults to 403).
_EXTRA_STATUS = {"version_not_found": 404}


def governance_status(exc: GovernanceError) -> int:
    if isinstance(exc, RequestDeniedError):
        return _EXTRA_STATUS.get(exc.code) or STATUS_BY_CODE.get(exc.code, 403)
    if isinstance(exc, NotFoundError):
        return 404
    if isinstance(exc, InvalidInputError):
        return 422
    return 400


async def _api_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return JSONResponse(error_body(exc.code, exc.message, exc.seq), status_code=exc.status, headers=exc.headers)


async def _governance_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, GovernanceError)
    seq = exc.seq if isinstance(exc, RequestDeniedError) else None
    return JSONResponse(error_body(exc.code, exc.message, seq), status_code=governance_status(exc))


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = [f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', 'invalid')}" for e in exc.errors()[:5]]
    message = "the request is invalid: " + "; ".join(problems)
    return JSONResponse(error_body("validation_error", message), status_code=422)


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
    return JSONResponse(error_body(code, message), status_code=exc.status_code, headers=exc.headers)


async def _not_canonical(_request: Request, exc: Exception) -> JSONResponse:
    # Ledger details are canonical JSON: integers, strings, booleans, null — no floats.
    return JSONResponse(error_body("canonical_form", f"the request cannot be recorded as is: {exc}"), status_code=422)


async def _database_down(request: Request, exc: Exception) -> JSONResponse:
    log.error("database unavailable on %s %s", request.method, request.url.path, exc_info=exc)
    message = "the database is unavailable; retry later (the operators were told through the server log)"
    return JSONResponse(error_body("database_unavailable", message), status_code=503)


class CatchAllMiddleware:
    """Turns any unexpected exception into 500 ``internal_error``; the traceback goes to the log only.

    A middleware rather than an ``Exception`` handler: Starlette re-raises after such a handler, and
    uvicorn then closes the connection, so the client could lose the JSON answer.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            if started:  # too late for a clean answer; let the server close the connection
                raise
            log.error("unexpected error on %s %s", scope.get("method"), scope.get("path"), exc_info=exc)
            message = "the server could not complete the request; the error was logged for the operators"
            await JSONResponse(error_body("internal_error", message), status_code=500)(scope, receive, send)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(GovernanceError, _governance_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(CanonicalFormError, _not_canonical)
    app.add_exception_handler(OperationalError, _database_down)
    app.add_middleware(CatchAllMiddleware)
