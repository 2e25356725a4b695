"""A small sports streaming service that PUSHES its charges to the operator (the second partner provider).

Unlike Netflix (we pull pending charges), SportStream posts each period's charges to the webhook URL the
operator gave it, signed with the operator's shared secret, and may post the same charges twice. The
operator answers each charge (accept or decline) through the API. Protocol (JSON over HTTP); every
``/v1`` call carries ``X-SportStream-Partner: <partner id>`` and ``Authorization: Bearer <secret>``::

    POST /v1/members                 {"customer_id": str, "plan": "LEAGUE"|"ALLSPORTS" (default LEAGUE)}
                                     → 201 member, ACTIVE at once, with a "welcome_url" valid 24 h;
                                       409 member_exists when the customer already has a live membership
    GET  /v1/members/{customer_id}   → 200 member | 404 member_not_found
    POST /v1/members/{customer_id}/plan    {"plan": str} → 200 member (next charges at the new price)
    POST /v1/members/{customer_id}/cancel  {"reason": str|null} → 200 member, ENDED
    POST /v1/charges/accept          {"charges": [{"charge_number", "customer_id", "reference": str|null}]}
    POST /v1/charges/decline         same items, plus "status": "DECLINED"|"BAD_REQUEST"|"REJECTED" and
                                     "reason"; 1..20 items → 200 {"failed": [{"charge_number",
                                     "error_code", "description"}]}

A member is ``{"customer_id", "status": "ACTIVE"|"ENDED", "plan", "end_reason", "paid_through"}``. A
pushed request is ``POST <webhook url>`` with the body ``{"charges": [charge, …]}`` and the headers
``X-SportStream-Partner`` and ``X-SportStream-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of
"<t>.<body>" under the secret>``; a charge is ``{"charge_number", "customer_id", "plan", "amount",
"currency", "paid_through", "created_at"}`` (amounts in minor units; SportStream bills in the operator's
currency, so there is no separate local amount). Only ``PENDING`` charges can be answered: error codes
``CHARGE_NOT_FOUND``, ``CUSTOMER_MISMATCH``, ``ALREADY_PROCESSED``, ``DUPLICATE_REFERENCE``,
``INVALID_ITEM``. Declining ends the membership. Errors are ``{"error": {"code", "message"}}``: 401
``unauthorized``, 404, 409, 422 ``invalid_request``/``invalid_plan``/``batch_too_large``/``empty_batch``,
503 ``unavailable``.

For tests: ``bill_period(period_start)`` makes one charge per active member not yet paid through that
date and returns the signed pushes (``Push``) to deliver (``deliver`` posts one with httpx; tests may post
them through their own client); ``duplicate_next_pushes`` repeats the next pushes; ``fail_next`` answers
that many API requests 503. Run standalone: ``python -m integrations.partners.sportstream.simulator``.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from integrations.partners.simulation import answer_batch, batch_items, error, month_later

MAX_BATCH = 20
PLANS = {"LEAGUE": 999, "ALLSPORTS": 1999}
DECLINE_STATUSES = ("DECLINED", "BAD_REQUEST", "REJECTED")
PARTNER_HEADER = "X-SportStream-Partner"
SIGNATURE_HEADER = "X-SportStream-Signature"


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The hex HMAC-SHA256 of ``"<timestamp>.<body>"`` under ``secret``."""
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def sign(secret: str, body: bytes, at: datetime) -> str:
    """The ``X-SportStream-Signature`` header of ``body`` sent at ``at``."""
    timestamp = int(at.timestamp())
    return f"t={timestamp},v1={signature(secret, timestamp, body)}"


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Push:
    """One signed request SportStream sends to an operator's webhook."""

    url: str
    headers: dict[str, str]
    body: bytes


@dataclass
class SportStreamSimulator:
    """``operators`` are ``{partner_id: secret}``; ``webhooks`` ``{partner_id: url}``."""

    operators: dict[str, str] = field(default_factory=lambda: {"operator": "secret"})
    webhooks: dict[str, str] = field(default_factory=dict)
    currency: str = "EUR"
    prices: dict[str, int] = field(default_factory=lambda: dict(PLANS))
    now: Callable[[], datetime] = _now
    fail_next: int = 0
    duplicate_next_pushes: int = 0
    members: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    charges: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)
    _references: dict[tuple[str, str], str] = field(default_factory=dict)
    _numbers: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/v1/members", self._subscribe, methods=["POST"]),
                Route("/v1/members/{cid}", self._member, methods=["GET"]),
                Route("/v1/members/{cid}/plan", self._change_plan, methods=["POST"]),
                Route("/v1/members/{cid}/cancel", self._cancel, methods=["POST"]),
                Route("/v1/charges/accept", self._accept, methods=["POST"]),
                Route("/v1/charges/decline", self._decline, methods=["POST"]),
            ]
        )

    # -- test controls -------------------------------------------------------------------------------

    def bill_period(self, period_start: date) -> list[Push]:
        """A PENDING charge per active member not yet paid through ``period_start``; the signed pushes
        (one per operator with a webhook, repeated while ``duplicate_next_pushes`` lasts)."""
        pushes: list[Push] = []
        for operator, secret in self.operators.items():
            url = self.webhooks.get(operator)
            made = [
                self._new_charge(operator, cid, member, period_start)
                for (op, cid), member in self.members.items()
                if op == operator
                and member["status"] == "ACTIVE"
                and (member["paid_through"] is None or member["paid_through"] < period_start)
            ]
            if url is None or not made:
                continue
            pushes.append(self.push_of(operator, secret, url, made))
            if self.duplicate_next_pushes > 0:
                self.duplicate_next_pushes -= 1
                pushes.append(pushes[-1])
        return pushes

    def push_of(self, operator: str, secret: str, url: str, charges: list[dict[str, Any]]) -> Push:
        body = json.dumps({"charges": [self._charge_view(c) for c in charges]}).encode()
        headers = {
            "Content-Type": "application/json",
            PARTNER_HEADER: operator,
            SIGNATURE_HEADER: sign(secret, body, self.now()),
        }
        return Push(url, headers, body)

    @staticmethod
    def deliver(push: Push, timeout: float = 10.0) -> httpx.Response:
        return httpx.post(push.url, content=push.body, headers=push.headers, timeout=timeout)

    def _new_charge(self, operator: str, cid: str, member: dict[str, Any], start: date) -> dict[str, Any]:
        charge = {
            "operator": operator,
            "charge_number": f"SS{next(self._numbers):07d}",
            "customer_id": cid,
            "plan": member["plan"],
            "amount": self.prices[member["plan"]],
            "currency": self.currency,
            "paid_through": month_later(start).isoformat(),
            "created_at": self.now().isoformat(),
            "status": "PENDING",
            "reference": None,
        }
        self.charges[charge["charge_number"]] = charge
        return charge

    @staticmethod
    def _charge_view(charge: dict[str, Any]) -> dict[str, Any]:
        keys = ("charge_number", "customer_id", "plan", "amount", "currency", "paid_through", "created_at")
        return {k: charge[k] for k in keys}

    # -- plumbing ------------------------------------------------------------------------------------

    def _operator(self, request: Request) -> str | None:
        partner = request.headers.get(PARTNER_HEADER, "")
        secret = self.operators.get(partner)
        given = request.headers.get("authorization", "").removeprefix("Bearer ")
        if secret is None or not hmac.compare_digest(secret, given):
            return None
        return partner

    async def _start(self, request: Request) -> tuple[str, dict[str, Any]] | Response:
        self.requests.append((request.method, request.url.path))
        if self.fail_next > 0:
            self.fail_next -= 1
            return error(503, "unavailable", "injected failure")
        operator = self._operator(request)
        if operator is None:
            return error(401, "unauthorized", "unknown partner or wrong secret")
        try:
            body = json.loads(await request.body() or b"{}")
        except ValueError:
            return error(422, "invalid_request", "the body is not JSON")
        if not isinstance(body, dict):
            return error(422, "invalid_request", "the body must be an object")
        return operator, body

    @staticmethod
    def _member_view(member: dict[str, Any]) -> dict[str, Any]:
        view = {k: member[k] for k in ("customer_id", "status", "plan", "end_reason", "welcome_url")}
        view["welcome_expires_at"] = member["welcome_expires_at"].isoformat()
        view["paid_through"] = member["paid_through"].isoformat() if member["paid_through"] else None
        return view

    # -- the partner API -----------------------------------------------------------------------------

    async def _subscribe(self, request: Request) -> Response:
        started = await self._start(request)
        if isinstance(started, Response):
            return started
        operator, body = started
        cid, plan = body.get("customer_id"), body.get("plan", "LEAGUE")
        if not isinstance(cid, str) or not cid:
            return error(422, "invalid_request", "customer_id is mandatory")
        if plan not in self.prices:
            return error(422, "invalid_plan", f"plan is one of {', '.join(self.prices)}")
        existing = self.members.get((operator, cid))
        if existing is not None and existing["status"] == "ACTIVE":
            return error(409, "member_exists", f"customer {cid} is already a member")
        member = {
            "customer_id": cid,
            "status": "ACTIVE",
            "plan": plan,
            "end_reason": None,
            "paid_through": None,
            "welcome_url": f"https://sportstream.example/welcome/{operator}/{cid}",
            "welcome_expires_at": self.now() + timedelta(hours=24),
        }
        self.members[(operator, cid)] = member
        return JSONResponse(self._member_view(member), status_code=201)

    def _found(self, operator: str, request: Request) -> dict[str, Any] | Response:
        cid = request.path_params["cid"]
        member = self.members.get((operator, cid))
        return member if member is not None else error(404, "member_not_found", f"no member {cid}")

    async def _member(self, request: Request) -> Response:
        started = await self._start(request)
        if isinstance(started, Response):
            return started
        member = self._found(started[0], request)
        return member if isinstance(member, Response) else JSONResponse(self._member_view(member))

    async def _change_plan(self, request: Request) -> Response:
        started = await self._start(request)
        if isinstance(started, Response):
            return started
        member = self._found(started[0], request)
        if isinstance(member, Response):
            return member
        plan = started[1].get("plan")
        if plan not in self.prices:
            return error(422, "invalid_plan", f"plan is one of {', '.join(self.prices)}")
        member["plan"] = plan
        return JSONResponse(self._member_view(member))

    async def _cancel(self, request: Request) -> Response:
        started = await self._start(request)
        if isinstance(started, Response):
            return started
        member = self._found(started[0], request)
        if isinstance(member, Response):
            return member
        if member["status"] == "ACTIVE":
            member.update(status="ENDED", end_reason=started[1].get("reason") or "cancelled")
        return JSONResponse(self._member_view(member))

    async def _accept(self, request: Request) -> Response:
        return await self._answer(request, accept=True)

    async def _decline(self, request: Request) -> Response:
        return await self._answer(request, accept=False)

    async def _answer(self, request: Request, *, accept: bool) -> Response:
        started = await self._start(request)
        if isinstance(started, Response):
            return started
        operator, body = started
        items = batch_items(body, MAX_BATCH)
        if isinstance(items, Response):
            return items
        return answer_batch(items, lambda item: self._answer_one(operator, item, accept))

    def _answer_one(self, operator: str, item: Any, accept: bool) -> tuple[str, str] | None:
        if not isinstance(item, dict) or not isinstance(item.get("charge_number"), str):
            return "INVALID_ITEM", "each item names a charge_number and a customer_id"
        status = "APPROVED" if accept else item.get("status", "DECLINED")
        if status not in ("APPROVED", *DECLINE_STATUSES):
            return "INVALID_ITEM", f"a decline status is one of {', '.join(DECLINE_STATUSES)}"
        number, ref = item["charge_number"], item.get("reference")
        charge = self.charges.get(number)
        if charge is None or charge["operator"] != operator:
            return "CHARGE_NOT_FOUND", f"no charge {number}"
        if charge["customer_id"] != item.get("customer_id"):
            return "CUSTOMER_MISMATCH", f"charge {number} is not for this customer"
        if charge["status"] != "PENDING":
            return "ALREADY_PROCESSED", f"charge {number} is already {charge['status']}"
        if ref is not None and (operator, str(ref)) in self._references:
            return "DUPLICATE_REFERENCE", f"reference {ref} was used already"
        if ref is not None:
            self._references[(operator, str(ref))] = number
        charge.update(status=status, reference=ref)
        member = self.members.get((operator, charge["customer_id"]))
        if member is not None and accept:
            member["paid_through"] = date.fromisoformat(charge["paid_through"])
        elif member is not None:
            member.update(status="ENDED", end_reason=item.get("reason") or status)
        return None


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description="SportStream partner simulator (pushes charges)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8093)
    parser.add_argument("--partner-id", default="operator")
    parser.add_argument("--secret", default="secret")
    parser.add_argument("--webhook", default=None, help="the operator's charges webhook URL")
    args = parser.parse_args()
    simulator = SportStreamSimulator(
        operators={args.partner_id: args.secret},
        webhooks={args.partner_id: args.webhook} if args.webhook else {},
    )
    uvicorn.run(simulator.app(), host=args.host, port=args.port)


if __name__ == "__main__":
    main()
