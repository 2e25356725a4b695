"""A simulator of a typical HTTP SMS gateway (PROTOCOLS.md, "SMS gateways"), over real HTTP.

Merchant API (``Authorization: Bearer <api_key>``)::

    POST /v1/messages   {"to": E.164, "from": sender id (1..11 alphanumerics or E.164), "text": str,
                         "reference": str|null, "callback_url": "http(s)://…"|null}
                        → 201 {"message_id", "segments", "encoding": "gsm7"|"ucs2", "status": "accepted"}
                        | 401 unauthorized | 422 invalid_request | 503 unavailable (injected)
    GET  /v1/messages/{message_id}  → 200 the message with its ``status`` | 404 unknown_message

Delivery reports: after a send, the simulator POSTs to the message's callback URL one report per state in
``report_states`` (default ``["delivered"]``), each ``report_copies`` times, signed with ``X-SMS-Signature``
(client.sign). ``out_of_order`` sends them in reverse order (a ``buffered`` after the final
``delivered``, as real gateways sometimes do). A number listed in ``unreachable`` gets ``failed``.
Segments are counted like a real gateway: 160 GSM-7 septets or 70 UCS-2 units, 153/67 when joined.

Test control (unauthenticated): ``GET /sim/messages`` lists everything sent. Run standalone:
``python -m integrations.notify.sms.simulator --port P``.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from domain.notifications import sms_encoding, sms_segments
from integrations.notify.sms.client import SIGNATURE_HEADER, sign

E164 = re.compile(r"^\+[1-9][0-9]{7,14}$")
SENDER = re.compile(r"^([A-Za-z0-9 ]{1,11}|\+[1-9][0-9]{7,14})$")


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


@dataclass
class SmsSimulator:
    api_key: str = "sms-key"
    callback_secret: str = "sms-callback-secret"  # noqa: S105 (the standalone simulator's default)
    report_states: list[str] = field(default_factory=lambda: ["delivered"])
    report_copies: int = 1
    out_of_order: bool = False
    report_delay: float = 0.0
    fail_next: int = 0
    unreachable: set[str] = field(default_factory=set)
    messages: dict[str, dict[str, Any]] = field(default_factory=dict)
    reports_sent: list[tuple[str, str, int | str]] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    def reset(self) -> None:
        self.report_states, self.report_copies, self.out_of_order = ["delivered"], 1, False
        self.report_delay, self.fail_next = 0.0, 0
        self.unreachable = set()

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/v1/messages", self._send, methods=["POST"]),
                Route("/v1/messages/{mid}", self._get, methods=["GET"]),
                Route("/sim/messages", self._list, methods=["GET"]),
            ]
        )

    def _authorised(self, request: Request) -> bool:
        return request.headers.get("authorization", "") == f"Bearer {self.api_key}"

    async def _send(self, request: Request) -> Response:
        if self.fail_next > 0:
            self.fail_next -= 1
            return _error(503, "unavailable", "injected failure")
        if not self._authorised(request):
            return _error(401, "unauthorized", "missing or wrong API key")
        try:
            body = json.loads(await request.body() or b"{}")
        except json.JSONDecodeError:
            return _error(400, "invalid_json", "the body is not JSON")
        problem = self._invalid(body)
        if problem:
            return _error(422, "invalid_request", problem)
        mid = f"SM{next(self._ids):08d}{int(time.time() * 1000) % 100000:05d}"
        message = {
            "message_id": mid,
            "to": body["to"],
            "from": body["from"],
            "text": body["text"],
            "reference": body.get("reference"),
            "callback_url": body.get("callback_url"),
            "segments": sms_segments(body["text"]),
            "encoding": sms_encoding(body["text"]),
            "status": "accepted",
        }
        self.messages[mid] = message
        states = ["failed"] if body["to"] in self.unreachable else list(self.report_states)
        if message["callback_url"]:
            task = asyncio.create_task(self._report(message, states))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        out = {k: message[k] for k in ("message_id", "segments", "encoding", "status")}
        return JSONResponse(out, status_code=201)

    @staticmethod
    def _invalid(body: Any) -> str | None:
        if not isinstance(body, dict):
            return "the body must be an object"
        if not isinstance(body.get("to"), str) or not E164.match(body["to"]):
            return "to: an E.164 number is required"
        if not isinstance(body.get("from"), str) or not SENDER.match(body["from"]):
            return "from: 1 to 11 letters or digits, or an E.164 number"
        if not isinstance(body.get("text"), str) or not body["text"]:
            return "text: required"
        callback = body.get("callback_url")
        if callback is not None and not (
            isinstance(callback, str) and callback.startswith(("http://", "https://"))
        ):
            return "callback_url: an http(s) URL"
        return None

    async def _report(self, message: dict[str, Any], states: list[str]) -> None:
        if self.report_delay:
            await asyncio.sleep(self.report_delay)
        order = list(reversed(states)) if self.out_of_order else states
        async with httpx.AsyncClient(timeout=30.0) as client:
            for state in order:
                if state in ("delivered", "failed", "expired", "rejected"):
                    message["status"] = state
                for _ in range(self.report_copies):
                    payload = {
                        "message_id": message["message_id"],
                        "reference": message["reference"],
                        "status": state,
                        "error_code": "unreachable" if state == "failed" else None,
                        "at": datetime.now(UTC).isoformat(),
                    }
                    raw = json.dumps(payload).encode()
                    headers = {
                        SIGNATURE_HEADER: sign(self.callback_secret, raw, int(time.time())),
                        "Content-Type": "application/json",
                    }
                    try:
                        answer = await client.post(message["callback_url"], content=raw, headers=headers)
                        self.reports_sent.append((message["message_id"], state, answer.status_code))
                    except httpx.HTTPError as err:
                        self.reports_sent.append((message["message_id"], state, str(err)))

    async def _get(self, request: Request) -> Response:
        if not self._authorised(request):
            return _error(401, "unauthorized", "missing or wrong API key")
        message = self.messages.get(request.path_params["mid"])
        if message is None:
            return _error(404, "unknown_message", "no such message")
        return JSONResponse(message)

    async def _list(self, request: Request) -> Response:
        return JSONResponse(list(self.messages.values()))


def main() -> None:  # pragma: no cover - a developer's tool
    import uvicorn

    parser = argparse.ArgumentParser(description="SMS gateway simulator")
    parser.add_argument("--port", type=int, default=8031)
    args = parser.parse_args()
    uvicorn.run(SmsSimulator().app(), host="127.0.0.1", port=args.port)


if __name__ == "__main__":  # pragma: no cover
    main()
