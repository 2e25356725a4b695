"""A faithful simulator of the CAS/OTT entitlement API Multibill speaks (the documented protocol).

Protocol (JSON over HTTP; ``Authorization: Bearer <key>`` when the platform has a key)::

    PUT    /v1/subscribers/{id}                 {"account_ref": str, "status": "active"|"suspended"}
                                                → 200 subscriber (created or updated)
    GET    /v1/subscribers                      → 200 {"data": [subscriber, …]}
    GET    /v1/subscribers/{id}                 → 200 subscriber | 404
    DELETE /v1/subscribers/{id}                 → 204, every entitlement revoked | 404
    POST   /v1/subscribers/{id}/entitlements    Idempotency-Key required
           {"kind": "pack"|"title", "code": str, "device_id": str|null, "expires_at": ISO|null}
                                                → 201 entitlement (200 when it extends an existing one)
    DELETE /v1/subscribers/{id}/entitlements/{entitlement_id}  → 204 | 404

A subscriber is ``{"id", "account_ref", "status", "entitlements": [entitlement]}``; an entitlement is
``{"id", "kind", "code", "device_id", "expires_at", "status"}`` with status ``active``, ``expired``
(``expires_at`` has passed) or ``suspended`` (its subscriber is). Entitling the same kind, code and
device again replaces the expiry. The same Idempotency-Key with the same body replays the first
answer (header ``Idempotent-Replayed: true``); with another body it is ``409 idempotency_key_reused``.
Errors are ``{"error": {"code": str, "message": str}}``: 400 ``idempotency_key_required`` or
``invalid_json``, 401 ``unauthorized``, 404 ``subscriber_not_found``/``entitlement_not_found``,
422 ``invalid_request``/``unknown_pack``/``invalid_expiry``, 503 ``unavailable``.

For tests, ``OttSimulator.latency`` delays every answer and ``fail_next`` answers that many requests
with ``fail_status``. Run standalone: ``python -m integrations.provisioning.ott.simulator --port P``.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

KINDS = ("pack", "title")


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


@dataclass
class OttSimulator:
    api_key: str | None = None
    known_packs: set[str] | None = None
    latency: float = 0.0
    fail_next: int = 0
    fail_status: int = 503
    subscribers: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)
    _replies: dict[str, tuple[str, int, dict[str, Any]]] = field(default_factory=dict)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def app(self) -> Starlette:
        routes = [
            Route("/v1/subscribers", self._list, methods=["GET"]),
            Route("/v1/subscribers/{sid}", self._put, methods=["PUT"]),
            Route("/v1/subscribers/{sid}", self._get, methods=["GET"]),
            Route("/v1/subscribers/{sid}", self._delete, methods=["DELETE"]),
            Route("/v1/subscribers/{sid}/entitlements", self._entitle, methods=["POST"]),
            Route("/v1/subscribers/{sid}/entitlements/{eid}", self._revoke, methods=["DELETE"]),
        ]
        return Starlette(routes=routes, middleware=[Middleware(BaseHTTPMiddleware, dispatch=self._gate)])

    async def _gate(self, request: Request, call_next: Any) -> Response:
        self.requests.append((request.method, request.url.path))
        if self.latency:
            await asyncio.sleep(self.latency)
        if self.fail_next > 0:
            self.fail_next -= 1
            return _error(self.fail_status, "unavailable", "injected failure")
        if self.api_key and request.headers.get("authorization") != f"Bearer {self.api_key}":
            return _error(401, "unauthorized", "missing or wrong API key")
        response: Response = await call_next(request)
        return response

    def _view(self, sub: dict[str, Any]) -> dict[str, Any]:
        now = datetime.now(UTC)
        ents = []
        for ent in sub["entitlements"].values():
            expired = ent["expires_at"] is not None and datetime.fromisoformat(ent["expires_at"]) <= now
            status = "expired" if expired else ("suspended" if sub["status"] == "suspended" else "active")
            ents.append({**ent, "status": status})
        return {
            "id": sub["id"],
            "account_ref": sub["account_ref"],
            "status": sub["status"],
            "entitlements": ents,
        }

    async def _body(self, request: Request) -> dict[str, Any] | JSONResponse:
        try:
            body = json.loads(await request.body() or b"{}")
        except ValueError:
            return _error(400, "invalid_json", "the body is not JSON")
        return (
            body if isinstance(body, dict) else _error(422, "invalid_request", "the body must be an object")
        )

    def _find(self, sid: str) -> dict[str, Any] | JSONResponse:
        sub = self.subscribers.get(sid)
        return sub if sub is not None else _error(404, "subscriber_not_found", f"no subscriber {sid}")

    async def _list(self, request: Request) -> Response:
        return JSONResponse({"data": [self._view(s) for s in self.subscribers.values()]})

    async def _get(self, request: Request) -> Response:
        sub = self._find(request.path_params["sid"])
        return sub if isinstance(sub, Response) else JSONResponse(self._view(sub))

    async def _put(self, request: Request) -> Response:
        body = await self._body(request)
        if isinstance(body, Response):
            return body
        status, ref = body.get("status", "active"), body.get("account_ref")
        if status not in ("active", "suspended") or not isinstance(ref, str) or not ref:
            return _error(422, "invalid_request", "account_ref is required and status is active or suspended")
        sid = request.path_params["sid"]
        sub = self.subscribers.setdefault(sid, {"id": sid, "entitlements": {}})
        sub.update(account_ref=ref, status=status)
        return JSONResponse(self._view(sub))

    async def _delete(self, request: Request) -> Response:
        sub = self._find(request.path_params["sid"])
        if isinstance(sub, Response):
            return sub
        del self.subscribers[sub["id"]]
        return Response(status_code=204)

    async def _entitle(self, request: Request) -> Response:
        key = request.headers.get("idempotency-key")
        if not key:
            return _error(400, "idempotency_key_required", "send an Idempotency-Key header")
        body = await self._body(request)
        if isinstance(body, Response):
            return body
        digest = json.dumps([request.url.path, body], sort_keys=True)
        if key in self._replies:
            first, status, answer = self._replies[key]
            if first != digest:
                return _error(409, "idempotency_key_reused", f"key {key} was used for another request")
            return JSONResponse(answer, status_code=status, headers={"Idempotent-Replayed": "true"})
        sub = self._find(request.path_params["sid"])
        if isinstance(sub, Response):
            return sub
        problem = self._check(body)
        if problem is not None:
            return problem
        status, answer = self._grant(sub, body)
        self._replies[key] = (digest, status, answer)
        return JSONResponse(answer, status_code=status)

    def _check(self, body: dict[str, Any]) -> JSONResponse | None:
        kind, code, expires = body.get("kind"), body.get("code"), body.get("expires_at")
        if kind not in KINDS or not isinstance(code, str) or not code:
            return _error(422, "invalid_request", "kind is pack or title and code is required")
        if kind == "pack" and self.known_packs is not None and code not in self.known_packs:
            return _error(422, "unknown_pack", f"no channel pack {code}")
        if expires is not None:
            try:
                when = datetime.fromisoformat(str(expires))
            except ValueError:
                return _error(422, "invalid_expiry", "expires_at is not an ISO 8601 instant")
            if when.tzinfo is None or when <= datetime.now(UTC):
                return _error(422, "invalid_expiry", "expires_at must be a future instant with a zone")
        return None

    def _grant(self, sub: dict[str, Any], body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        device = body.get("device_id")
        for ent in sub["entitlements"].values():
            if (ent["kind"], ent["code"], ent["device_id"]) == (body["kind"], body["code"], device):
                ent["expires_at"] = body.get("expires_at")
                return 200, {**ent, "status": "active"}
        ent = {
            "id": f"ent_{next(self._ids)}",
            "kind": body["kind"],
            "code": body["code"],
            "device_id": device,
            "expires_at": body.get("expires_at"),
        }
        sub["entitlements"][ent["id"]] = ent
        return 201, {**ent, "status": "active"}

    async def _revoke(self, request: Request) -> Response:
        sub = self._find(request.path_params["sid"])
        if isinstance(sub, Response):
            return sub
        eid = request.path_params["eid"]
        if sub["entitlements"].pop(eid, None) is None:
            return _error(404, "entitlement_not_found", f"no entitlement {eid}")
        return Response(status_code=204)


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description="CAS/OTT entitlement API simulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument("--api-key", default=None)
    args = parser.parse_args()
    uvicorn.run(OttSimulator(api_key=args.api_key).app(), host=args.host, port=args.port)


if __name__ == "__main__":
    main()
