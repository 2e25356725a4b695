"""A NUL character anywhere in a request is a 400 `nul_byte`, never a 500 from the database driver."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest

from api.app import create_app
from runtime.settings import Settings
from tests.support.factories import Tenant, person


def assert_nul_refused(resp: httpx.Response) -> None:
    assert resp.status_code == 400, resp.text
    assert resp.headers["content-type"] == "application/problem+json"
    assert resp.json()["code"] == "nul_byte"


async def test_nul_in_a_json_string_is_refused(api: httpx.AsyncClient, operator: Tenant) -> None:
    body = json.dumps(person(given_name="An\u0000a"))
    assert "\\u0000" in body
    resp = await api.post(
        "/v1/accounts",
        content=body,
        headers={**operator.post_headers(), "Content-Type": "application/json"},
    )
    assert_nul_refused(resp)


async def test_an_escaped_backslash_before_u0000_is_not_a_nul(
    api: httpx.AsyncClient, operator: Tenant
) -> None:
    body = json.dumps(person(given_name="An\\u0000a"))  # a backslash, then the text "u0000"
    resp = await api.post(
        "/v1/accounts", content=body, headers={**operator.post_headers(), "Content-Type": "application/json"}
    )
    assert resp.status_code == 201, resp.text
    assert resp.json()["display_name"] == "An\\u0000a Ruiz"


@pytest.mark.parametrize(
    "path",
    [
        "/v1/accounts?email=a%00b",
        "/v1/accounts?cursor=%00",
        "/v1/subscriptions?cursor=sub_%00",
        "/v1/accounts/acc_%00x",
        "/v1/invoices/inv_%00",
    ],
)
async def test_nul_in_query_or_path_is_refused(api: httpx.AsyncClient, operator: Tenant, path: str) -> None:
    assert_nul_refused(await api.get(path, headers=operator.auth))


async def test_a_cursor_that_decodes_to_a_nul_is_an_invalid_cursor(
    api: httpx.AsyncClient, operator: Tenant
) -> None:
    cursor = base64.urlsafe_b64encode(b"acc_\x00").decode().rstrip("=")
    resp = await api.get("/v1/accounts", params={"cursor": cursor}, headers=operator.auth)
    assert (resp.status_code, resp.json()["code"]) == (422, "invalid_cursor")


async def test_nul_in_a_csv_upload_is_refused(api: httpx.AsyncClient, operator: Tenant) -> None:
    csv = b"subscriber,metric,quantity,occurred_at\nsub_x\x00,data,1,2026-01-01T00:00:00Z\n"
    resp = await api.post(
        "/v1/usage/imports", content=csv, headers={**operator.post_headers(), "Content-Type": "text/csv"}
    )
    assert_nul_refused(resp)


async def test_nul_in_a_form_body_is_refused(api: httpx.AsyncClient) -> None:
    resp = await api.post(
        "/portal/login",
        content=b"email=a%00b%40example.com&password=x",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert_nul_refused(resp)


async def test_nul_in_a_header_is_refused(settings: Settings, operator: Tenant) -> None:
    """httpx will not send a NUL in a header, so this speaks ASGI to the app directly."""
    app = create_app(settings)
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/v1/accounts",
        "raw_path": b"/v1/accounts",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"t"),
            (b"authorization", f"Bearer {operator.token}".encode()),
            (b"if-match", b"1\x002"),
        ],
        "client": ("127.0.0.1", 1),
        "server": ("t", 80),
    }
    await app(scope, receive, send)
    assert sent[0]["status"] == 400
    assert json.loads(sent[1]["body"])["code"] == "nul_byte"
