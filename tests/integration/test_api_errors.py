"""Unexpected errors and oversized bodies over a real socket: problem+json, request ids, live connections."""

from __future__ import annotations

import http.client
import json
import logging
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from fastapi import FastAPI

from api.app import create_app
from runtime.settings import Settings
from tests.support.live_api import serve


class Boom(RuntimeError):
    pass


def _app(settings: Settings) -> FastAPI:
    app = create_app(settings.model_copy(update={"temporal_address": "127.0.0.1:1", "max_body_bytes": 1000}))

    def sync_boom() -> None:
        raise Boom("a bug in a sync route")

    async def async_boom() -> None:
        raise Boom("a bug in an async route")

    app.add_api_route("/test/sync-boom", sync_boom)
    app.add_api_route("/test/async-boom", async_boom)
    return app


@pytest.fixture
def conn(settings: Settings) -> Iterator[http.client.HTTPConnection]:
    with serve(_app(settings)) as base:
        parts = urlsplit(base)
        connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
        yield connection
        connection.close()


def _get(conn: http.client.HTTPConnection, path: str, **headers: str) -> http.client.HTTPResponse:
    conn.request("GET", path, headers=headers)
    response = conn.getresponse()
    response.read()
    return response


@pytest.mark.parametrize("path", ["/test/sync-boom", "/test/async-boom"])
def test_a_bug_answers_problem_json_and_keeps_the_connection(
    conn: http.client.HTTPConnection, path: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="multibill.api")
    conn.request("GET", path)
    response = conn.getresponse()
    body = json.loads(response.read())
    assert response.status == 500
    assert response.getheader("content-type") == "application/problem+json"
    request_id = response.getheader("x-request-id")
    assert request_id and request_id.startswith("req_")
    assert body["code"] == "internal_error" and body["request_id"] == request_id
    assert "a bug in" not in json.dumps(body)  # no internals for the caller
    # The server kept the keep-alive connection open (or said Connection: close): the next request works.
    assert response.getheader("connection") != "close"
    again = _get(conn, "/openapi.json")
    assert again.status == 200
    logged = [r for r in caplog.records if request_id in r.getMessage()]
    assert len(logged) == 1 and logged[0].exc_info is not None
    assert isinstance(logged[0].exc_info[1], Boom)


def test_every_response_has_a_request_id_and_a_sane_caller_id_is_kept(
    conn: http.client.HTTPConnection,
) -> None:
    ok = _get(conn, "/openapi.json", **{"X-Request-Id": "trace-42.abc:1"})
    assert ok.status == 200 and ok.getheader("x-request-id") == "trace-42.abc:1"
    conn.request("GET", "/v1/accounts", headers={"X-Request-Id": "bad id with spaces"})
    refused = conn.getresponse()
    body = json.loads(refused.read())
    assert refused.status == 401
    assert refused.getheader("x-request-id", "").startswith("req_")
    assert body["request_id"] == refused.getheader("x-request-id")
    too_long = _get(conn, "/openapi.json", **{"X-Request-Id": "a" * 200})
    assert too_long.getheader("x-request-id", "").startswith("req_")


def _chunks(total: int) -> Iterator[bytes]:
    sent = 0
    while sent < total:
        yield b" " * 100
        sent += 100


def test_a_chunked_body_over_the_limit_is_413_like_a_declared_one(conn: http.client.HTTPConnection) -> None:
    headers = {"Content-Type": "application/json", "Authorization": "Bearer x", "Idempotency-Key": "k1"}
    conn.request("POST", "/v1/accounts", body=_chunks(5000), headers=headers, encode_chunked=True)
    chunked = conn.getresponse()
    body = json.loads(chunked.read())
    assert (chunked.status, body["code"]) == (413, "payload_too_large")
    assert chunked.getheader("content-type") == "application/problem+json"
    conn.close()
    conn.request("POST", "/v1/accounts", body=b" " * 5000, headers=headers)
    declared = conn.getresponse()
    assert (declared.status, json.loads(declared.read())["code"]) == (413, "payload_too_large")


def test_a_chunked_body_under_the_limit_reaches_the_route(conn: http.client.HTTPConnection) -> None:
    headers = {"Content-Type": "application/json", "Idempotency-Key": "k1"}
    conn.request("POST", "/v1/accounts", body=iter([b"{", b"}"]), headers=headers, encode_chunked=True)
    response = conn.getresponse()
    assert (response.status, json.loads(response.read())["code"]) == (401, "unauthenticated")
