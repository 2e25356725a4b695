"""A faithful simulator of a mobile-money push-payment gateway (the "STK push" style of M-Pesa and similar).

Authentication (as the real gateways have it): OAuth2 client credentials, then a bearer token::

    POST /oauth/v1/token        Authorization: Basic base64(consumer_key:consumer_secret)
                                → 200 {"access_token": str, "token_type": "Bearer", "expires_in": int}
                                | 401 invalid_client

Every ``/v1`` call needs ``Authorization: Bearer <access_token>``; a missing, unknown or expired token is
``401 invalid_token`` (ask for a new one).

Merchant protocol (JSON over HTTP)::

    POST /v1/push-payments      {"msisdn": E.164 str, "amount": int > 0 (minor units), "currency": str,
                                 "account_reference": str (1..20), "description": str (1..100),
                                 "callback_url": "http(s)://…"}
                                → 202 acknowledgement {"checkout_request_id": str, "merchant_request_id": str,
                                      "response_code": "0", "response_description": str}
                                  The acknowledgement is NOT a payment: the outcome comes later.
    GET  /v1/push-payments/{checkout_request_id}
                                → 200 status {"checkout_request_id", "merchant_request_id", "msisdn",
                                      "amount", "currency", "account_reference",
                                      "status": "pending"|"completed", "result_code": int|null,
                                      "result_description": str|null, "receipt_number": str|null}
                                | 404 unknown_checkout_request

Result codes (the same in the callback and in the status query)::

    0     success                      (receipt_number and amount set)
    1     insufficient funds           (the wallet balance is below the amount)
    1001  another request in progress  (the phone already shows an open prompt; this request never prompted)
    1032  cancelled by the user
    1037  timed out / phone unreachable (ignored ``prompt_timeout`` seconds, or unknown/unreachable phone)
    2001  wrong PIN

Only one prompt can be open on a phone at a time: a push to a phone with an open prompt is acknowledged (202)
and completes at once with result 1001; the open prompt is untouched.

Callback: when a request completes, the simulator POSTs to its ``callback_url``::

    {"checkout_request_id", "merchant_request_id", "msisdn", "result_code": int, "result_description": str,
     "amount": int|null, "currency": str, "receipt_number": str|null, "completed_at": ISO 8601}

signed with header ``X-MoMo-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(callback_secret,
"<t>." + raw body)>`` (``client.verify_callback`` checks it). One attempt per copy, no retries; what the
receiver answered (or the transport error, e.g. ``ReadTimeout`` after ``callback_timeout`` seconds, 10 by
default) is recorded in ``deliveries``. The callback may arrive late (``callback_delay``), twice
(``callback_copies = 2``) or never (``callback_copies = 0``); the status query always answers the outcome.
``bad_signature_next`` signs that many callbacks with a wrong secret.

Errors are ``{"error": {"code": str, "message": str}}``: 400 ``invalid_json``, 401 ``invalid_client`` /
``invalid_token``, 404 ``unknown_checkout_request`` / ``no_open_prompt``, 422 ``invalid_request`` /
``unsupported_currency``, 503 ``unavailable`` (injected).

Handset (test control, unauthenticated — the tests play the subscriber)::

    PUT  /sim/phones/{msisdn}          {"pin": str, "balance": int, "reachable": bool} → 200 phone
    GET  /sim/phones/{msisdn}          → 200 {"msisdn", "balance", "reachable", "prompt": prompt|null} | 404
    POST /sim/phones/{msisdn}/approve  {"pin": str} → 200 status (result 0, 1 or 2001) | 404 no_open_prompt
    POST /sim/phones/{msisdn}/cancel   → 200 status (result 1032) | 404 no_open_prompt

For tests, ``latency`` delays every merchant answer, ``fail_next`` answers that many merchant requests with
``fail_status``, ``prompt_timeout`` (default 90 s) is how long a prompt waits. Run standalone:
``python -m integrations.payments.mobile_money.simulator --port P``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import hmac
import itertools
import json
import re
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

SIGNATURE_HEADER = "X-MoMo-Signature"
MSISDN = re.compile(r"^\+[1-9][0-9]{7,14}$")

SUCCESS = 0
INSUFFICIENT_FUNDS = 1
IN_PROGRESS = 1001
CANCELLED = 1032
TIMED_OUT = 1037
WRONG_PIN = 2001
DESCRIPTIONS = {
    SUCCESS: "The service request is processed successfully.",
    INSUFFICIENT_FUNDS: "The balance is insufficient for the transaction.",
    IN_PROGRESS: "Unable to lock subscriber, a transaction is already in process for the current subscriber.",
    CANCELLED: "Request cancelled by user.",
    TIMED_OUT: "The subscriber could not be reached or did not answer in time.",
    WRONG_PIN: "The initiator information is invalid (wrong PIN).",
}


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The ``X-MoMo-Signature`` value for ``body`` sent at ``timestamp`` (unix seconds)."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


@dataclass
class Phone:
    msisdn: str
    pin: str
    balance: int
    reachable: bool = True
    prompt: str | None = None  # the checkout request id of the open prompt


@dataclass
class MobileMoneySimulator:
    consumer_key: str = "momo-key"
    consumer_secret: str = "momo-secret"  # noqa: S105 (the standalone simulator's default)
    callback_secret: str = "momo-callback-secret"  # noqa: S105 (the standalone simulator's default)
    currency: str = "KES"
    token_ttl: float = 3600.0
    prompt_timeout: float = 90.0
    latency: float = 0.0
    fail_next: int = 0
    fail_status: int = 503
    callback_delay: float = 0.0
    callback_copies: int = 1
    callback_timeout: float = 10.0
    bad_signature_next: int = 0
    phones: dict[str, Phone] = field(default_factory=dict)
    payments: dict[str, dict[str, Any]] = field(default_factory=dict)
    deliveries: list[tuple[str, int | str]] = field(default_factory=list)
    _tokens: dict[str, float] = field(default_factory=dict)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    def reset(self) -> None:
        """Back to well-behaved defaults (phones and payments are kept)."""
        self.latency, self.fail_next, self.fail_status = 0.0, 0, 503
        self.callback_delay, self.callback_copies, self.bad_signature_next = 0.0, 1, 0

    def expire_tokens(self) -> None:
        """Every issued token is now expired (the next merchant call answers 401 invalid_token)."""
        self._tokens = dict.fromkeys(self._tokens, 0.0)

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/oauth/v1/token", self._token, methods=["POST"]),
                Route("/v1/push-payments", self._push, methods=["POST"]),
                Route("/v1/push-payments/{cid}", self._status, methods=["GET"]),
                Route("/sim/phones/{msisdn}", self._put_phone, methods=["PUT"]),
                Route("/sim/phones/{msisdn}", self._get_phone, methods=["GET"]),
                Route("/sim/phones/{msisdn}/approve", self._approve, methods=["POST"]),
                Route("/sim/phones/{msisdn}/cancel", self._cancel, methods=["POST"]),
            ]
        )

    # merchant side

    async def _gate(self, request: Request, *, bearer: bool = True) -> Response | None:
        if self.latency:
            await asyncio.sleep(self.latency)
        if self.fail_next > 0:
            self.fail_next -= 1
            return _error(self.fail_status, "unavailable", "injected failure")
        if bearer:
            auth = request.headers.get("authorization", "")
            token = auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else ""
            if self._tokens.get(token, 0.0) <= time.monotonic():
                return _error(401, "invalid_token", "missing, unknown or expired access token")
        return None

    async def _token(self, request: Request) -> Response:
        refused = await self._gate(request, bearer=False)
        if refused is not None:
            return refused
        expected = base64.b64encode(f"{self.consumer_key}:{self.consumer_secret}".encode()).decode()
        given = request.headers.get("authorization", "")
        if not hmac.compare_digest(given, f"Basic {expected}"):
            return _error(401, "invalid_client", "wrong consumer key or secret")
        token = secrets.token_urlsafe(24)
        self._tokens[token] = time.monotonic() + self.token_ttl
        return JSONResponse(
            {"access_token": token, "token_type": "Bearer", "expires_in": int(self.token_ttl)}
        )

    async def _body(self, request: Request) -> dict[str, Any] | Response:
        try:
            body = json.loads(await request.body() or b"{}")
        except ValueError:
            return _error(400, "invalid_json", "the body is not JSON")
        return (
            body if isinstance(body, dict) else _error(422, "invalid_request", "the body must be an object")
        )

    def _check(self, body: dict[str, Any]) -> Response | None:
        msisdn, amount = body.get("msisdn"), body.get("amount")
        ref, text, url = body.get("account_reference"), body.get("description"), body.get("callback_url")
        problems = []
        if not isinstance(msisdn, str) or not MSISDN.match(msisdn):
            problems.append("msisdn must be E.164 (+ and 8 to 15 digits)")
        if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
            problems.append("amount must be a positive integer in minor units")
        if not isinstance(ref, str) or not 1 <= len(ref) <= 20:
            problems.append("account_reference must be 1 to 20 characters")
        if not isinstance(text, str) or not 1 <= len(text) <= 100:
            problems.append("description must be 1 to 100 characters")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            problems.append("callback_url must be an http(s) URL")
        if problems:
            return _error(422, "invalid_request", "; ".join(problems))
        if body.get("currency") != self.currency:
            return _error(422, "unsupported_currency", f"this gateway takes {self.currency} only")
        return None

    async def _push(self, request: Request) -> Response:
        refused = await self._gate(request)
        if refused is not None:
            return refused
        body = await self._body(request)
        if isinstance(body, Response):
            return body
        problem = self._check(body)
        if problem is not None:
            return problem
        n = next(self._ids)
        cid = f"ws_CO_{n:010d}"
        payment: dict[str, Any] = {
            "checkout_request_id": cid,
            "merchant_request_id": f"{n:05d}-{secrets.randbelow(10**8):08d}-1",
            "msisdn": body["msisdn"],
            "amount": body["amount"],
            "currency": self.currency,
            "account_reference": body["account_reference"],
            "description": body["description"],
            "callback_url": body["callback_url"],
            "status": "pending",
            "result_code": None,
            "result_description": None,
            "receipt_number": None,
        }
        self.payments[cid] = payment
        loop = asyncio.get_running_loop()
        phone = self.phones.get(body["msisdn"])
        if phone is not None and phone.prompt is not None:
            loop.call_soon(self._resolve, cid, IN_PROGRESS)
        elif phone is None or not phone.reachable:
            loop.call_soon(self._resolve, cid, TIMED_OUT)
        else:
            phone.prompt = cid
            loop.call_later(self.prompt_timeout, self._resolve, cid, TIMED_OUT)
        ack = {
            "checkout_request_id": cid,
            "merchant_request_id": payment["merchant_request_id"],
            "response_code": "0",
            "response_description": "Success. Request accepted for processing",
        }
        return JSONResponse(ack, status_code=202)

    def _view(self, payment: dict[str, Any]) -> dict[str, Any]:
        keys = ("description", "callback_url")
        return {k: v for k, v in payment.items() if k not in keys}

    async def _status(self, request: Request) -> Response:
        refused = await self._gate(request)
        if refused is not None:
            return refused
        payment = self.payments.get(request.path_params["cid"])
        if payment is None:
            return _error(404, "unknown_checkout_request", f"no request {request.path_params['cid']}")
        return JSONResponse(self._view(payment))

    def _resolve(self, cid: str, code: int) -> None:
        """Complete a pending request with ``code`` (once), free its phone, and send the callback."""
        payment = self.payments[cid]
        if payment["status"] != "pending":
            return
        phone = self.phones.get(payment["msisdn"])
        if phone is not None and phone.prompt == cid:
            phone.prompt = None
        if code == SUCCESS:
            assert phone is not None
            phone.balance -= payment["amount"]
            payment["receipt_number"] = f"SIM{int(cid.rsplit('_', 1)[1]):07d}"
        payment.update(status="completed", result_code=code, result_description=DESCRIPTIONS[code])
        task = asyncio.get_running_loop().create_task(self._deliver(payment))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver(self, payment: dict[str, Any]) -> None:
        if self.callback_delay:
            await asyncio.sleep(self.callback_delay)
        success = payment["result_code"] == SUCCESS
        event = {
            "checkout_request_id": payment["checkout_request_id"],
            "merchant_request_id": payment["merchant_request_id"],
            "msisdn": payment["msisdn"],
            "result_code": payment["result_code"],
            "result_description": payment["result_description"],
            "amount": payment["amount"] if success else None,
            "currency": payment["currency"],
            "receipt_number": payment["receipt_number"],
            "completed_at": datetime.now(UTC).isoformat(),
        }
        body = json.dumps(event).encode()
        async with httpx.AsyncClient(timeout=self.callback_timeout) as http:
            for _ in range(self.callback_copies):
                secret = self.callback_secret
                if self.bad_signature_next > 0:
                    self.bad_signature_next -= 1
                    secret = f"not-{self.callback_secret}"
                headers = {
                    "Content-Type": "application/json",
                    SIGNATURE_HEADER: sign(secret, body, int(time.time())),
                }
                try:
                    answer = await http.post(payment["callback_url"], content=body, headers=headers)
                    outcome: int | str = answer.status_code
                except httpx.HTTPError as exc:
                    outcome = type(exc).__name__
                self.deliveries.append((payment["checkout_request_id"], outcome))

    # handset side (tests play the subscriber)

    def _phone_view(self, phone: Phone) -> dict[str, Any]:
        prompt = self.payments[phone.prompt] if phone.prompt else None
        shown = None
        if prompt is not None:
            shown = {k: prompt[k] for k in ("checkout_request_id", "amount", "currency", "account_reference")}
            shown["description"] = prompt["description"]
        return {
            "msisdn": phone.msisdn,
            "balance": phone.balance,
            "reachable": phone.reachable,
            "prompt": shown,
        }

    async def _put_phone(self, request: Request) -> Response:
        body = await self._body(request)
        if isinstance(body, Response):
            return body
        msisdn, pin, balance = request.path_params["msisdn"], body.get("pin"), body.get("balance", 0)
        reachable = body.get("reachable", True)
        if not MSISDN.match(msisdn) or not isinstance(pin, str) or not pin:
            return _error(422, "invalid_request", "an E.164 msisdn and a pin are required")
        if not isinstance(balance, int) or isinstance(balance, bool) or not isinstance(reachable, bool):
            return _error(422, "invalid_request", "balance is an integer and reachable a boolean")
        phone = self.phones.get(msisdn)
        if phone is None:
            phone = self.phones[msisdn] = Phone(msisdn, pin, balance, reachable)
        else:
            phone.pin, phone.balance, phone.reachable = pin, balance, reachable
        return JSONResponse(self._phone_view(phone))

    def _open(self, msisdn: str) -> Phone | Response:
        phone = self.phones.get(msisdn)
        if phone is None or phone.prompt is None:
            return _error(404, "no_open_prompt", f"no prompt is open on {msisdn}")
        return phone

    async def _get_phone(self, request: Request) -> Response:
        phone = self.phones.get(request.path_params["msisdn"])
        if phone is None:
            return _error(404, "unknown_phone", f"no phone {request.path_params['msisdn']}")
        return JSONResponse(self._phone_view(phone))

    async def _approve(self, request: Request) -> Response:
        phone = self._open(request.path_params["msisdn"])
        if isinstance(phone, Response):
            return phone
        body = await self._body(request)
        if isinstance(body, Response):
            return body
        cid = phone.prompt
        assert cid is not None
        if not hmac.compare_digest(str(body.get("pin", "")), phone.pin):
            code = WRONG_PIN
        elif phone.balance < self.payments[cid]["amount"]:
            code = INSUFFICIENT_FUNDS
        else:
            code = SUCCESS
        self._resolve(cid, code)
        return JSONResponse(self._view(self.payments[cid]))

    async def _cancel(self, request: Request) -> Response:
        phone = self._open(request.path_params["msisdn"])
        if isinstance(phone, Response):
            return phone
        cid = phone.prompt
        assert cid is not None
        self._resolve(cid, CANCELLED)
        return JSONResponse(self._view(self.payments[cid]))


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description="Mobile-money push-payment gateway simulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8091)
    parser.add_argument("--consumer-key", default="momo-key")
    parser.add_argument("--consumer-secret", default="momo-secret")
    parser.add_argument("--callback-secret", default="momo-callback-secret")
    parser.add_argument("--prompt-timeout", type=float, default=90.0)
    args = parser.parse_args()
    simulator = MobileMoneySimulator(
        consumer_key=args.consumer_key,
        consumer_secret=args.consumer_secret,
        callback_secret=args.callback_secret,
        prompt_timeout=args.prompt_timeout,
    )
    uvicorn.run(simulator.app(), host=args.host, port=args.port)


if __name__ == "__main__":
    main()
