"""The OpenAPI contract's shared parts and the offline Swagger UI at /docs.

* Every operation documents the problem+json errors it may answer (``PROBLEM_RESPONSES``).
* Operation ids are stable and readable: fixed per method and path in ``api.operation_ids``; a new
  route's id is first derived from the route module, then the function name without the resource's
  own word (``accounts_create``, ``invoices_get``, ``organisations_add_api_key``).
* /docs serves Swagger UI from the ``swagger-ui-bundle-v2`` package (Apache-2.0), so nothing is
  fetched from a CDN and the page works without internet; "Authorize" takes the API key (bearer).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import swagger_ui_bundle
from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles

from api.error_codes import codes_for
from api.errors import PROBLEM_JSON, RETRY_AFTER_SECONDS
from api.examples import add_request_examples
from api.operation_ids import OPERATION_IDS

DOCS_URL = "/docs"
DOCS_STATIC = "/docs/static"

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "An RFC 9457 problem: `code` is stable and machine-readable, `detail` is for people.",
    "type": "object",
    "required": ["type", "title", "status", "code", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "code": {"type": "string"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "request_id": {"type": "string", "description": "Quote it when you report a problem"},
        "errors": {
            "type": "array",
            "description": "Validation errors, one per field",
            "items": {"type": "object", "additionalProperties": True},
        },
    },
    "additionalProperties": True,
}
_PROBLEM_CONTENT = {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}


def problem_response(description: str, **extra: Any) -> dict[str, Any]:
    """An OpenAPI response answered as problem+json (for a route's own, more precise description)."""
    return {"description": description, "content": _PROBLEM_CONTENT, **extra}


BINARY: dict[str, Any] = {"type": "string", "format": "binary"}
"""The schema of a file body (CSV, XML, PDF): bytes to a generated client, not a JSON string."""


def file_response(media_type: str, description: str = "Successful Response") -> dict[str, Any]:
    """An OpenAPI response that is a file of ``media_type`` (PDF, XML): a binary string to clients."""
    return {
        "description": description,
        "content": {media_type: {"schema": BINARY}},
    }


PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: problem_response(
        "Bad request: `invalid_json`, `idempotency_key_required`, `invalid_idempotency_key`, `nul_byte`"
    ),
    401: problem_response("`unauthenticated` (no API key) or `invalid_api_key` (unknown or revoked)"),
    403: problem_response("`forbidden` (the key's role may not do this) or `operator_only`"),
    404: problem_response("`<object>_not_found`, e.g. `account_not_found`: absent or not in your subtree"),
    409: problem_response(
        "Conflict: `idempotency_key_reused` (another request's key), `process_already_started`, "
        "or a rule's own code when the object's state forbids it"
    ),
    413: problem_response("`payload_too_large`: the request body is too large"),
    422: problem_response("`validation_error` (`errors` names each field) or a business rule's own code"),
    500: problem_response("`internal_error` or `process_failed`; quote the `request_id`"),
    503: problem_response(
        "`database_unavailable`, `temporal_unavailable` or `process_pending`: "
        "retry after `Retry-After` seconds",
        headers={
            "Retry-After": {
                "description": f"Seconds to wait before retrying (usually {RETRY_AFTER_SECONDS})",
                "schema": {"type": "integer"},
            }
        },
    ),
}

_FILLER = {"one", "all"}


def operation_key(route: APIRoute) -> str:
    """``"<METHOD> <path>"``: how ``OPERATION_IDS`` knows a route."""
    return f"{min(route.methods or {'GET'})} {route.path}"


_ENDPOINTS: dict[str, Any] = {}
"""The endpoint function of each operation id, noted as FastAPI asks for the ids (for its error codes)."""


def operation_id(route: APIRoute) -> str:
    """The route's fixed id from ``OPERATION_IDS``; a route not yet listed there takes its derived id."""
    found = OPERATION_IDS.get(operation_key(route)) or derived_operation_id(route)
    _ENDPOINTS[found] = route.endpoint
    return found


def derived_operation_id(route: APIRoute) -> str:
    """``<module>_<function without the resource word>``: how a new route's id is first chosen."""
    module = route.endpoint.__module__.rsplit(".", 1)[-1]
    resource = re.escape(module.removesuffix("s"))
    name = re.sub(rf"(^|_){resource}s?(?=_|$)", "", route.name).strip("_")
    words = [w for w in name.split("_") if w and w not in _FILLER]
    return "_".join([module, *words])


def _distinct_titles(schemas: dict[str, Any]) -> None:
    """``Tier-Input`` and ``Tier-Output`` are titled ``TierInput`` and ``TierOutput``, not both
    ``Tier``: client generators name their classes by title, and two classes cannot share a name."""
    for name, schema in schemas.items():
        if name.endswith(("-Input", "-Output")):
            schema["title"] = name.replace("-", "")


def add_error_codes(schema: dict[str, Any]) -> None:
    """Each operation's own problem codes (``api/error_codes.py``), per status: listed in the response's
    description and as ``x-problem-codes`` (a client generator or a test can read them)."""
    for methods in schema.get("paths", {}).values():
        for operation in methods.values():
            endpoint = _ENDPOINTS.get(operation.get("operationId", ""))
            if endpoint is None:
                continue
            responses = operation.setdefault("responses", {})
            for status, codes in codes_for(endpoint).items():
                shared = PROBLEM_RESPONSES.get(status, {}).get("description", "A problem")
                response = responses.setdefault(str(status), problem_response(shared))
                response["x-problem-codes"] = codes
                listed = ", ".join(f"`{code}`" for code in codes)
                response["description"] = f"{response['description']}. This operation: {listed}"


def install_docs(app: FastAPI) -> None:
    """The Problem schema in the contract, and Swagger UI served from the package at /docs."""
    build_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build_openapi()
            schemas = schema.setdefault("components", {}).setdefault("schemas", {})
            schemas["Problem"] = PROBLEM_SCHEMA
            _distinct_titles(schemas)
            add_request_examples(schema)
            add_error_codes(schema)
        assert app.openapi_schema is not None
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    assets = Path(swagger_ui_bundle.swagger_ui_path)
    app.mount(DOCS_STATIC, StaticFiles(directory=str(assets)), name="swagger-ui")
    openapi_url = app.openapi_url or "/openapi.json"

    @app.get(DOCS_URL, include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{app.title} - docs",
            swagger_js_url=f"{DOCS_STATIC}/swagger-ui-bundle.js",
            swagger_css_url=f"{DOCS_STATIC}/swagger-ui.css",
            swagger_favicon_url=f"{DOCS_STATIC}/favicon-32x32.png",
            oauth2_redirect_url=None,
            swagger_ui_parameters={"validatorUrl": None, "persistAuthorization": True},
        )
