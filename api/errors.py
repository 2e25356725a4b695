"""RFC 9457 problem+json errors with stable machine-readable codes."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from domain.errors import RuleViolation

PROBLEM_JSON = "application/problem+json"

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


def problem(status: int, code: str, detail: str, instance: str | None = None, **extra: Any) -> JSONResponse:
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
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON)


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


async def _on_validation(request: Request, exc: RequestValidationError) -> JSONResponse:
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


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RuleViolation, _on_rule_violation)
    app.add_exception_handler(RequestValidationError, _on_validation)  # type: ignore[arg-type]
    app.add_exception_handler(ApiError, _on_api_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
