"""A faithful simulator of Netflix partner billing (the operator is merchant of record).

Protocol (JSON over HTTP). Every ``/v1`` call except login needs ``Authorization: Bearer <access_token>``;
the token names the operator, and everything (subscribers, charges, reference numbers) is per operator::

    POST /v1/login                      {"partner_id": str, "secret": str}
                                        → 200 {"access_token", "token_type": "Bearer", "expires_in": seconds}
    POST /v1/partner_subscribers        {"billing_system_customer_identifier": str (mandatory),
                                         "promotion_code": str|null, "channel": "WEB"|"STORE"|"MOBILE"|
                                         "BROADBAND"|"OTHER" (default OTHER), "plan": "BASIC"|"STANDARD"|
                                         "PREMIUM" (default STANDARD), "name", "address", "email", "phone",
                                         "token_validity": seconds, 1..86400 (default 3600)}
                                        → 201 partner subscriber with "signup_token", "signup_url",
                                          "token_expires_at"; 409 membership_exists if pending/active
    GET  /v1/partner_subscribers/{customer_id}  → 200 partner subscriber | 404 subscriber_not_found
    POST /v1/partner_subscribers/{customer_id}/plan    {"plan": "BASIC"|"STANDARD"|"PREMIUM"}
                                        → 200 partner subscriber on the new plan (at once: the next charges
                                          are at its price; the one pending keeps its own); 404
                                          subscriber_not_found, 409 membership_ended, 422 invalid_plan
    POST /v1/partner_subscribers/{customer_id}/cancel  {"reason": str (mandatory, 1..200 characters)}
                                        → 200 partner subscriber, now ``ENDED`` with ``end_reason``; the
                                          charge still pending is withdrawn (``REJECTED``), paid service
                                          runs out; cancelling an ended membership answers it unchanged
                                          (safe to retry); 404 subscriber_not_found, 422 invalid_request
    GET  /v1/charges[?status=PENDING|APPROVED|DECLINED|BAD_REQUEST|REJECTED]
                                        → 200 {"data": [charge, …]} (default: the PENDING ones)
    POST /v1/charges/accept             {"charges": [{"charge_number", "billing_system_customer_identifier",
                                                      "reference_number": str|null}]}  (1..50 items)
    POST /v1/charges/decline            same items, plus "status": "DECLINED"|"BAD_REQUEST"|"REJECTED"
                                        (default DECLINED) and "reason": str|null
                                        → 200 {"failed": [{"charge_number", "error_code", "description"}]}

The member's side (no operator token): ``POST /signup/{signup_token}`` {"plan": optional} → 200 the
subscriber, now ``ACTIVE``; 404 unknown_token, 410 token_expired, 409 token_used.

A partner subscriber is ``{"billing_system_customer_identifier", "status": "PENDING_SIGNUP"|"ACTIVE"|"ENDED",
"plan", "channel", "promotion_code", "name", "address", "email", "phone", "end_reason",
"paid_through_date"}``, plus ``signup_url`` and ``token_expires_at`` while it is ``PENDING_SIGNUP`` (so a
caller that lost the 201 can find its link again). A charge is
``{"charge_number", "billing_system_customer_identifier", "plan", "amount", "currency", "local_amount",
"local_currency", "paid_through_date", "status", "reference_number", "received_at", "status_changes":
[{"status", "at"}]}``; amounts are integers in minor units; if approved, service runs until
``paid_through_date`` and the customer is charged again from the day after. Only ``PENDING`` charges can be
processed. Accepting makes a charge ``APPROVED``; declining (``DECLINED``, ``BAD_REQUEST`` or ``REJECTED``)
is never billed and ends the membership (``ENDED``). In a batch every item is handled alone: the answer lists
only the failed ones, with error codes ``CHARGE_NOT_FOUND``, ``CUSTOMER_MISMATCH``, ``ALREADY_PROCESSED``,
``DUPLICATE_REFERENCE_NUMBER`` (a reference number is unique per operator) or ``INVALID_ITEM``.

Errors are ``{"error": {"code": str, "message": str}}``: 400 ``invalid_json``, 401 ``invalid_credentials``,
``unauthorized`` or ``token_expired``, 404, 409, 422 ``invalid_request``/``invalid_channel``/``invalid_plan``/
``invalid_token_validity``/``batch_too_large``/``empty_batch``, 503 ``unavailable``.

For tests (methods, and ``POST /_control/bill_period`` {"period_start": date}): ``bill_period`` posts one
charge per active member not yet paid through that date; ``latency`` delays every answer; ``slow_next``
delays that many answers by ``slow_seconds`` (a partner too slow for the client's timeout, then fine);
``fail_next`` answers that many requests with ``fail_status``; ``batches`` lists the size of each accept or
decline batch taken; ``duplicate_next_charges`` lists the next charges twice;
``post_charge_for_unknown_customer`` posts a charge for a customer the operator never registered; ``now`` is
the simulator's clock. Run standalone: ``python -m integrations.partners.netflix.simulator --port P``.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from integrations.partners.simulation import answer_batch, batch_items, error, month_later

CHANNELS = ("WEB", "STORE", "MOBILE", "BROADBAND", "OTHER")
DECLINE_STATUSES = ("DECLINED", "BAD_REQUEST", "REJECTED")
STATUSES = ("PENDING", "APPROVED", *DECLINE_STATUSES)
MAX_BATCH = 50
MAX_TOKEN_VALIDITY = 24 * 3600
DEFAULT_PRICES = {"BASIC": 799, "STANDARD": 1549, "PREMIUM": 2299}


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass
class NetflixSimulator:
    """Operators are ``{partner_id: secret}``; prices are per plan in ``currency`` minor units."""

    operators: dict[str, str] = field(default_factory=lambda: {"operator": "secret"})
    currency: str = "USD"
    local_currency: str = "EUR"
    rate: Decimal = Decimal("0.92")
    prices: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_PRICES))
    access_token_seconds: int = 3600
    signup_base_url: str = "https://signup.netflix.example/partner"
    now: Callable[[], datetime] = _now
    latency: float = 0.0
    fail_next: int = 0
    fail_status: int = 503
    duplicate_next_charges: int = 0
    slow_next: int = 0
    slow_seconds: float = 1.0
    batches: list[tuple[str, int]] = field(default_factory=list)
    subscribers: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    charges: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)
    _feed: list[str] = field(default_factory=list)
    _tokens: dict[str, tuple[str, datetime]] = field(default_factory=dict)
    _signups: dict[str, tuple[str, str]] = field(default_factory=dict)
    _references: dict[tuple[str, str], str] = field(default_factory=dict)
    _numbers: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def app(self) -> Starlette:
        routes = [
            Route("/v1/login", self._login, methods=["POST"]),
            Route("/v1/partner_subscribers", self._create_subscriber, methods=["POST"]),
            Route("/v1/partner_subscribers/{cid}", self._get_subscriber, methods=["GET"]),
            Route("/v1/partner_subscribers/{cid}/plan", self._change_plan, methods=["POST"]),
            Route("/v1/partner_subscribers/{cid}/cancel", self._cancel, methods=["POST"]),
            Route("/v1/charges", self._list_charges, methods=["GET"]),
            Route("/v1/charges/accept", self._accept, methods=["POST"]),
            Route("/v1/charges/decline", self._decline, methods=["POST"]),
            Route("/signup/{token}", self._signup, methods=["POST"]),
            Route("/_control/bill_period", self._control_bill, methods=["POST"]),
        ]
        return Starlette(routes=routes, middleware=[Middleware(BaseHTTPMiddleware, dispatch=self._gate)])

    # -- test controls -------------------------------------------------------------------------------

    def bill_period(self, period_start: date, operator: str | None = None) -> list[dict[str, Any]]:
        """Post a PENDING charge for every active member not yet paid through ``period_start``."""
        posted = []
        for (op, cid), sub in self.subscribers.items():
            if operator not in (None, op) or sub["status"] != "ACTIVE":
                continue
            paid = sub["paid_through_date"]
            if (paid is not None and paid >= period_start) or sub["pending_charge"] is not None:
                continue
            posted.append(self._post_charge(op, cid, sub["plan"], period_start))
            sub["pending_charge"] = posted[-1]["charge_number"]
        return posted

    def post_charge_for_unknown_customer(
        self, operator: str, customer_id: str, period_start: date, plan: str = "STANDARD"
    ) -> dict[str, Any]:
        return self._post_charge(operator, customer_id, plan, period_start)

    def reset_controls(self) -> None:
        self.latency, self.fail_next, self.fail_status, self.duplicate_next_charges = 0.0, 0, 503, 0
        self.slow_next = 0

    def _post_charge(self, operator: str, cid: str, plan: str, period_start: date) -> dict[str, Any]:
        amount = self.prices[plan]
        local = int((Decimal(amount) * self.rate).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))
        received = self.now().isoformat()
        charge: dict[str, Any] = {
            "operator": operator,
            "charge_number": f"NFX{next(self._numbers):08d}",
            "billing_system_customer_identifier": cid,
            "plan": plan,
            "amount": amount,
            "currency": self.currency,
            "local_amount": local,
            "local_currency": self.local_currency,
            "paid_through_date": month_later(period_start).isoformat(),
            "status": "PENDING",
            "reference_number": None,
            "received_at": received,
            "status_changes": [{"status": "PENDING", "at": received}],
        }
        self.charges[charge["charge_number"]] = charge
        self._feed.append(charge["charge_number"])
        if self.duplicate_next_charges > 0:
            self.duplicate_next_charges -= 1
            self._feed.append(charge["charge_number"])
        return self._charge_view(charge)

    async def _control_bill(self, request: Request) -> Response:
        body = await self._body(request)
        if isinstance(body, Response):
            return body
        try:
            start = date.fromisoformat(str(body.get("period_start")))
        except ValueError:
            return error(422, "invalid_request", "period_start is an ISO date")
        operator = body.get("operator")
        return JSONResponse(
            {"data": self.bill_period(start, operator if isinstance(operator, str) else None)}
        )

    # -- plumbing ------------------------------------------------------------------------------------

    async def _gate(self, request: Request, call_next: Any) -> Response:
        self.requests.append((request.method, request.url.path))
        if self.latency:
            await asyncio.sleep(self.latency)
        if self.slow_next > 0 and not request.url.path.startswith("/_control"):
            self.slow_next -= 1
            await asyncio.sleep(self.slow_seconds)
        if self.fail_next > 0 and not request.url.path.startswith("/_control"):
            self.fail_next -= 1
            return error(self.fail_status, "unavailable", "injected failure")
        if request.url.path.startswith("/v1/") and request.url.path != "/v1/login":
            header = request.headers.get("authorization", "")
            entry = self._tokens.get(header.removeprefix("Bearer ")) if header.startswith("Bearer ") else None
            if entry is None:
                return error(401, "unauthorized", "missing or unknown access token: log in at /v1/login")
            if entry[1] <= self.now():
                return error(401, "token_expired", "the access token has expired: log in again")
            request.state.operator = entry[0]
        response: Response = await call_next(request)
        return response

    async def _body(self, request: Request) -> dict[str, Any] | JSONResponse:
        try:
            body = json.loads(await request.body() or b"{}")
        except ValueError:
            return error(400, "invalid_json", "the body is not JSON")
        return body if isinstance(body, dict) else error(422, "invalid_request", "the body must be an object")

    @staticmethod
    def _charge_view(charge: dict[str, Any]) -> dict[str, Any]:
        view = {k: v for k, v in charge.items() if k != "operator"}
        view["status_changes"] = [dict(c) for c in charge["status_changes"]]
        return view

    @staticmethod
    def _subscriber_view(sub: dict[str, Any]) -> dict[str, Any]:
        keys = ("billing_system_customer_identifier", "status", "plan", "channel", "promotion_code")
        more = ("name", "address", "email", "phone", "end_reason")
        view = {k: sub[k] for k in (*keys, *more)}
        paid = sub["paid_through_date"]
        view["paid_through_date"] = paid.isoformat() if paid else None
        if sub["status"] == "PENDING_SIGNUP" and sub.get("signup_url"):
            view["signup_url"] = sub["signup_url"]
            view["token_expires_at"] = sub["signup_expires"].isoformat()
        return view

    # -- the partner API -----------------------------------------------------------------------------

    async def _login(self, request: Request) -> Response:
        body = await self._body(request)
        if isinstance(body, Response):
            return body
        partner, secret = body.get("partner_id"), body.get("secret")
        if not isinstance(partner, str) or self.operators.get(partner) != secret:
            return error(401, "invalid_credentials", "unknown partner_id or wrong secret")
        token = secrets.token_urlsafe(24)
        self._tokens[token] = (partner, self.now() + timedelta(seconds=self.access_token_seconds))
        return JSONResponse(
            {"access_token": token, "token_type": "Bearer", "expires_in": self.access_token_seconds}
        )

    async def _create_subscriber(self, request: Request) -> Response:
        body = await self._body(request)
        if isinstance(body, Response):
            return body
        cid = body.get("billing_system_customer_identifier")
        if not isinstance(cid, str) or not cid:
            return error(422, "invalid_request", "billing_system_customer_identifier is mandatory")
        channel, plan = body.get("channel", "OTHER"), body.get("plan", "STANDARD")
        if channel not in CHANNELS:
            return error(422, "invalid_channel", f"channel is one of {', '.join(CHANNELS)}")
        if plan not in self.prices:
            return error(422, "invalid_plan", f"plan is one of {', '.join(self.prices)}")
        validity = body.get("token_validity", 3600)
        if type(validity) is not int or not 0 < validity <= MAX_TOKEN_VALIDITY:
            return error(422, "invalid_token_validity", f"token_validity is 1..{MAX_TOKEN_VALIDITY} seconds")
        operator = request.state.operator
        existing = self.subscribers.get((operator, cid))
        if existing is not None and existing["status"] != "ENDED":
            return error(
                409, "membership_exists", f"customer {cid} already has a {existing['status']} membership"
            )
        token = secrets.token_urlsafe(16)
        expires = self.now() + timedelta(seconds=validity)
        sub = {
            "billing_system_customer_identifier": cid,
            "status": "PENDING_SIGNUP",
            "plan": plan,
            "channel": channel,
            "promotion_code": body.get("promotion_code"),
            **{k: body.get(k) for k in ("name", "address", "email", "phone")},
            "end_reason": None,
            "paid_through_date": None,
            "pending_charge": None,
            "signup_expires": expires,
        }
        sub["signup_url"] = f"{self.signup_base_url}?token={token}"
        self.subscribers[(operator, cid)] = sub
        self._signups[token] = (operator, cid)
        view = self._subscriber_view(sub)
        view.update(signup_token=token, signup_url=sub["signup_url"], token_expires_at=expires.isoformat())
        return JSONResponse(view, status_code=201)

    async def _change_plan(self, request: Request) -> Response:
        body = await self._body(request)
        if isinstance(body, Response):
            return body
        cid = request.path_params["cid"]
        sub = self.subscribers.get((request.state.operator, cid))
        if sub is None:
            return error(404, "subscriber_not_found", f"no partner subscriber for customer {cid}")
        plan = body.get("plan")
        if plan not in self.prices:
            return error(422, "invalid_plan", f"plan is one of {', '.join(self.prices)}")
        if sub["status"] == "ENDED":
            return error(409, "membership_ended", f"customer {cid}'s membership has ended")
        sub["plan"] = plan
        return JSONResponse(self._subscriber_view(sub))

    async def _cancel(self, request: Request) -> Response:
        body = await self._body(request)
        if isinstance(body, Response):
            return body
        cid = request.path_params["cid"]
        operator = request.state.operator
        sub = self.subscribers.get((operator, cid))
        if sub is None:
            return error(404, "subscriber_not_found", f"no partner subscriber for customer {cid}")
        reason = body.get("reason")
        if not isinstance(reason, str) or not 0 < len(reason) <= 200:
            return error(422, "invalid_request", "reason is mandatory (1..200 characters)")
        if sub["status"] == "ENDED":
            return JSONResponse(self._subscriber_view(sub))
        pending = self.charges.get(sub["pending_charge"] or "")
        if pending is not None and pending["status"] == "PENDING":
            pending["status"] = "REJECTED"
            pending["status_changes"].append({"status": "REJECTED", "at": self.now().isoformat()})
        sub.update(status="ENDED", end_reason=reason, pending_charge=None)
        return JSONResponse(self._subscriber_view(sub))

    async def _get_subscriber(self, request: Request) -> Response:
        cid = request.path_params["cid"]
        sub = self.subscribers.get((request.state.operator, cid))
        if sub is None:
            return error(404, "subscriber_not_found", f"no partner subscriber for customer {cid}")
        return JSONResponse(self._subscriber_view(sub))

    async def _signup(self, request: Request) -> Response:
        body = await self._body(request)
        if isinstance(body, Response):
            return body
        key = self._signups.get(request.path_params["token"])
        if key is None:
            return error(404, "unknown_token", "no sign-up with this token")
        sub = self.subscribers[key]
        if sub["status"] != "PENDING_SIGNUP":
            return error(409, "token_used", "this sign-up was already completed or has ended")
        if sub["signup_expires"] <= self.now():
            return error(
                410, "token_expired", "the sign-up token has expired: the operator must issue a new one"
            )
        plan = body.get("plan", sub["plan"])
        if plan not in self.prices:
            return error(422, "invalid_plan", f"plan is one of {', '.join(self.prices)}")
        sub.update(status="ACTIVE", plan=plan)
        return JSONResponse(self._subscriber_view(sub))

    async def _list_charges(self, request: Request) -> Response:
        status = request.query_params.get("status", "PENDING")
        if status not in STATUSES:
            return error(422, "invalid_request", f"status is one of {', '.join(STATUSES)}")
        operator = request.state.operator
        found = [self.charges[n] for n in self._feed if self.charges[n]["operator"] == operator]
        data = [self._charge_view(c) for c in found if c["status"] == status]
        return JSONResponse({"data": data})

    async def _accept(self, request: Request) -> Response:
        return await self._process(request, accept=True)

    async def _decline(self, request: Request) -> Response:
        return await self._process(request, accept=False)

    async def _process(self, request: Request, *, accept: bool) -> Response:
        body = await self._body(request)
        if isinstance(body, Response):
            return body
        items = batch_items(body, MAX_BATCH)
        if isinstance(items, Response):
            return items
        operator = request.state.operator
        self.batches.append(("accept" if accept else "decline", len(items)))
        return answer_batch(items, lambda item: self._process_one(operator, item, accept))

    def _process_one(self, operator: str, item: Any, accept: bool) -> tuple[str, str] | None:
        if not isinstance(item, dict) or not isinstance(item.get("charge_number"), str):
            return "INVALID_ITEM", "each item names a charge_number and billing_system_customer_identifier"
        status = "APPROVED" if accept else item.get("status", "DECLINED")
        if status not in ("APPROVED", *DECLINE_STATUSES):
            return "INVALID_ITEM", f"a decline status is one of {', '.join(DECLINE_STATUSES)}"
        number, ref = item["charge_number"], item.get("reference_number")
        if ref is not None and not isinstance(ref, str):
            return "INVALID_ITEM", "reference_number is a string"
        charge = self.charges.get(number)
        if charge is None or charge["operator"] != operator:
            return "CHARGE_NOT_FOUND", f"no charge {number}"
        if charge["billing_system_customer_identifier"] != item.get("billing_system_customer_identifier"):
            return "CUSTOMER_MISMATCH", f"charge {number} is not for this customer"
        if charge["status"] != "PENDING":
            return "ALREADY_PROCESSED", f"charge {number} is already {charge['status']}"
        if ref is not None and (operator, ref) in self._references:
            used_by = self._references[(operator, ref)]
            return "DUPLICATE_REFERENCE_NUMBER", f"reference number {ref} was used for charge {used_by}"
        if ref is not None:
            self._references[(operator, ref)] = number
        charge.update(status=status, reference_number=ref)
        charge["status_changes"].append({"status": status, "at": self.now().isoformat()})
        sub = self.subscribers.get((operator, charge["billing_system_customer_identifier"]))
        if sub is None:
            return None
        if sub["pending_charge"] == number:
            sub["pending_charge"] = None
        if accept:
            sub["paid_through_date"] = date.fromisoformat(charge["paid_through_date"])
        else:
            sub.update(status="ENDED", end_reason=item.get("reason") or status)
        return None


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description="Netflix partner billing simulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8091)
    parser.add_argument("--partner-id", default="operator")
    parser.add_argument("--secret", default="secret")
    args = parser.parse_args()
    simulator = NetflixSimulator(operators={args.partner_id: args.secret})
    uvicorn.run(simulator.app(), host=args.host, port=args.port)


if __name__ == "__main__":
    main()
