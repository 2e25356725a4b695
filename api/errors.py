"""RFC 9457 problem+json errors with stable machine-readable codes."""

from __future__ import annotations

import logging
from contextvars import ContextVar
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException as StarletteHTTPException

from domain.errors import RuleViolation

PROBLEM_JSON = "application/problem+json"
RETRY_AFTER_SECONDS = 5
"""What a 503 asks the caller to wait before retrying (the `Retry-After` header)."""

REQUEST_ID: ContextVar[str | None] = ContextVar("request_id", default=None)
"""The id of the request being served (set by api.middleware.RequestContext)."""

logger = logging.getLogger("multibill.api")

_STATUS_CODES = {
    400: ("bad_request", "Bad request"),
    401: ("unauthenticated", "Authentication required"),
    403: ("forbidden", "Forbidden"),
    404: ("not_found", "Not found"),
    405: ("method_not_allowed", "Method not allowed"),
    409: ("conflict", "Conflict"),
    412: ("precondition_failed", "Precondition failed"),
    413: ("payload_too_large", "Payload too large"),
    415: ("unsupported_media_type", "Unsupported media type"),
    422: ("validation_error", "Validation error"),
    429: ("too_many_requests", "Too many requests"),
    500: ("internal_error", "Internal server error"),
    503: ("service_unavailable", "Service unavailable"),
}


class ApiError(Exception):
    """An error the API reports as problem+json: HTTP status, stable code, human message."""

    def __init__(self, status: int, code: str, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.extra = extra


def not_found(kind: str, ident: str) -> ApiError:
    return ApiError(
        404, f"{kind}_not_found", f"No {kind.replace('_', ' ')} {ident!s} exists or it is not yours"
    )


def problem_body(
    status: int, code: str, detail: str, instance: str | None = None, **extra: Any
) -> dict[str, Any]:
    """The RFC 9457 body, with the request id so a caller can quote it."""
    title = _STATUS_CODES.get(status, ("error", "Error"))[1]
    body: dict[str, Any] = {
        "type": f"https://multibill.dev/problems/{code}",
        "title": title,
        "status": status,
        "code": code,
        "detail": detail,
    }
    if instance:
        body["instance"] = instance
    request_id = REQUEST_ID.get()
    if request_id:
        body["request_id"] = request_id
    body.update(extra)
    return body


def problem_headers(status: int) -> dict[str, str]:
    return {"Retry-After": str(RETRY_AFTER_SECONDS)} if status == 503 else {}


def problem(status: int, code: str, detail: str, instance: str | None = None, **extra: Any) -> JSONResponse:
    body = problem_body(status, code, detail, instance, **extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=problem_headers(status))


def _field_name(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) if parts else str(loc[0] if loc else "body")


def _validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    errors = []
    for err in exc.errors():
        loc = tuple(err.get("loc", ()))
        kind = err.get("type", "invalid")
        message = str(err.get("msg", "invalid value"))
        cause = (err.get("ctx") or {}).get("error")
        rule = isinstance(cause, RuleViolation)
        if isinstance(cause, RuleViolation):
            kind, message = cause.code, cause.message
        if kind == "extra_forbidden":
            message = "unknown field"
        elif message.startswith("Value error, "):
            message = message[len("Value error, ") :]
        errors.append(
            {
                "field": _field_name(loc),
                "location": str(loc[0]) if loc else "body",
                "code": kind,
                "message": message,
                "rule": rule,
            }
        )
    return errors


def _missing_idempotency_key(exc: RequestValidationError) -> bool:
    return any(
        err.get("type") == "missing" and tuple(err.get("loc", ())) == ("header", "Idempotency-Key")
        for err in exc.errors()
    )


async def _on_validation(request: Request, exc: RequestValidationError) -> JSONResponse:
    if _missing_idempotency_key(exc):
        detail = "Every POST needs an `Idempotency-Key` header"
        return problem(400, "idempotency_key_required", detail, request.url.path)
    errors = _validation_errors(exc)
    if any(e["code"] in ("json_invalid", "json_type") for e in errors):
        return problem(400, "invalid_json", "The request body is not valid JSON", request.url.path)
    summary = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5])
    rule_codes = {e["code"] for e in errors if e.pop("rule", False)}
    code = rule_codes.pop() if len(rule_codes) == 1 and len(errors) == 1 else "validation_error"
    return problem(422, code, summary, request.url.path, errors=errors)


async def _on_api_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return problem(exc.status, exc.code, exc.detail, request.url.path, **exc.extra)


async def _on_http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code, title = _STATUS_CODES.get(exc.status_code, ("error", "Error"))
    detail = exc.detail if isinstance(exc.detail, str) and exc.detail != title else title
    if exc.status_code == 404 and detail == "Not Found":
        detail = f"No route {request.method} {request.url.path}"
    response = problem(exc.status_code, code, detail, request.url.path)
    if exc.headers:
        response.headers.update(exc.headers)
    return response


async def _on_rule_violation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RuleViolation)
    extra: dict[str, Any] = {}
    if exc.field:
        extra["errors"] = [{"field": exc.field, "location": "body", "code": exc.code, "message": exc.message}]
    return problem(exc.status, exc.code, exc.message, request.url.path, **extra)


async def _on_database_unavailable(request: Request, exc: Exception) -> JSONResponse:
    """The database refused, dropped or timed out a connection: a 503 the caller may retry."""
    logger.warning(
        "database unavailable serving %s %s (request id %s): %s",
        request.method,
        request.url.path,
        REQUEST_ID.get(),
        exc,
    )
    detail = "The database is unavailable; retry after a few seconds"
    return problem(503, "database_unavailable", detail, request.url.path)


async def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    """Starlette's last resort (ServerErrorMiddleware); api.middleware.RequestContext logs the traceback."""
    return problem(500, "internal_error", INTERNAL_ERROR_DETAIL, request.url.path)


INTERNAL_ERROR_DETAIL = "An unexpected error occurred; quote the request id when you report it"
DATABASE_ERRORS: tuple[type[Exception], ...] = (
    sa_exc.OperationalError,
    sa_exc.InterfaceError,
    sa_exc.TimeoutError,
)
"""Errors that mean the database cannot be reached or used right now (not a bad request)."""


def install_error_handlers(app: FastAPI) -> None:
    for error in DATABASE_ERRORS:
        app.add_exception_handler(error, _on_database_unavailable)
    app.add_exception_handler(Exception, _on_unexpected)
    app.add_exception_handler(RuleViolation, _on_rule_violation)
    app.add_exception_handler(RequestValidationError, _on_validation)  # type: ignore[arg-type]
    app.add_exception_handler(ApiError, _on_api_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
