"""The OpenAPI contract and /docs: offline Swagger UI, bearer auth, required Idempotency-Key, documented
problem+json errors and stable, readable operation ids."""

from __future__ import annotations

import re
from typing import Any

import httpx

from api.app import create_app
from runtime.settings import Settings
from tests.support.factories import Tenant

ERRORS = ("400", "401", "403", "404", "409", "413", "422", "503")


def operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(method, path, op) for path, ops in spec["paths"].items() for method, op in ops.items()]


async def test_docs_page_uses_only_local_assets_that_answer(api: httpx.AsyncClient) -> None:
    page = await api.get("/docs")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    urls = re.findall(r"""(?:src|href)=["']([^"']+)["']|url: ?'([^']+)'""", page.text)
    found = [a or b for a, b in urls]
    assert len(found) >= 4, found  # css, favicon, js, the OpenAPI document
    assert "//" not in page.text.replace("://", "") or "http" not in page.text
    for url in found:
        assert url.startswith("/") and not url.startswith("//"), url
        assert (await api.get(url)).status_code == 200, url
    assert "validatorUrl" in page.text  # no badge fetched from an outside validator


async def test_the_contract_declares_bearer_auth_and_the_idempotency_key(api: httpx.AsyncClient) -> None:
    spec = (await api.get("/openapi.json")).json()
    assert spec["components"]["securitySchemes"]["ApiKey"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "API key",
        "description": "Your organisation's API key: `Authorization: Bearer <key>`",
    }
    create = spec["paths"]["/v1/accounts"]["post"]
    assert {"ApiKey": []} in create["security"]
    assert not any(p["name"].lower() == "authorization" for p in create.get("parameters", []))
    keyed = [
        (m, path, p)
        for m, path, op in operations(spec)
        for p in op.get("parameters", [])
        if p["name"] == "Idempotency-Key"
    ]
    assert len(keyed) > 30
    assert all(p["required"] is True and p["in"] == "header" for _, _, p in keyed)
    assert {m for m, _, _ in keyed} == {"post"}


async def test_every_operation_documents_its_problem_responses(api: httpx.AsyncClient) -> None:
    spec = (await api.get("/openapi.json")).json()
    assert spec["components"]["schemas"]["Problem"]["required"] == [
        "type",
        "title",
        "status",
        "code",
        "detail",
    ]
    for method, path, op in operations(spec):
        if path == "/healthz":
            assert set(op["responses"]) == {"200", "503"}
            continue
        for status in ERRORS:
            content = op["responses"][status]["content"]
            assert list(content) == ["application/problem+json"], (method, path, status)
            assert content["application/problem+json"]["schema"] == {"$ref": "#/components/schemas/Problem"}
        assert "Retry-After" in op["responses"]["503"]["headers"]


def _operation_ids(settings: Settings) -> list[str]:
    app = create_app(settings)
    return [op["operationId"] for _, _, op in operations(app.openapi())]


def test_operation_ids_are_unique_stable_and_readable(settings: Settings) -> None:
    ids = _operation_ids(settings)
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    assert ids == _operation_ids(settings)
    assert all(re.fullmatch(r"[a-z][a-z0-9_]*", i) and len(i) <= 48 for i in ids), ids
    for expected in (
        "accounts_create",
        "accounts_get",
        "accounts_list",
        "accounts_update",
        "invoices_get",
        "invoices_list",
        "invoices_void",
        "credit_notes_create",
        "organisations_add_api_key",
        "payments_record",
        "health_healthz",
    ):
        assert expected in ids, (expected, ids)


async def test_bearer_auth_keeps_its_problem_codes(api: httpx.AsyncClient, operator: Tenant) -> None:
    missing = await api.get("/v1/accounts")
    assert (missing.status_code, missing.json()["code"]) == (401, "unauthenticated")
    basic = await api.get("/v1/accounts", headers={"Authorization": "Basic abc"})
    assert (basic.status_code, basic.json()["code"]) == (401, "unauthenticated")
    empty = await api.get("/v1/accounts", headers={"Authorization": "Bearer "})
    assert (empty.status_code, empty.json()["code"]) == (401, "unauthenticated")
    unknown = await api.get("/v1/accounts", headers={"Authorization": "Bearer mb_key_nope"})
    assert (unknown.status_code, unknown.json()["code"]) == (401, "invalid_api_key")
    assert (await api.get("/v1/accounts", headers=operator.auth)).status_code == 200


async def test_a_missing_idempotency_key_is_still_a_400(api: httpx.AsyncClient, operator: Tenant) -> None:
    resp = await api.post("/v1/accounts", json={"type": "person"}, headers=operator.auth)
    assert (resp.status_code, resp.json()["code"]) == (400, "idempotency_key_required")
