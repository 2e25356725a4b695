"""A simulator of a host network's MVNO provisioning API: asynchronous orders on SIMs and lines.

A SIM is identified by its ICCID (printed on the card: ``89`` + digits, 19 or 20 digits in all, the last a
Luhn check digit) and its IMSI (15 digits, in the SIM); a line by its MSISDN (E.164 digits, no ``+``). The
host knows its SIM stock (``MvnoSimulator.add_sim``) and tariff profiles (``tariff_profiles``).

Protocol (JSON over HTTP; ``Authorization: Bearer <key>`` when the host has a key)::

    POST /v1/orders          {"order_ref": str, "type": <type>, ...fields of the type...,
                              "callback_url": str|null}
                             → 202 order (status "pending"): accepted for processing, NOT done
                             → 200 the same order when ``order_ref`` was already used with the same body
                               (header ``Idempotent-Replayed: true``); 409 ``order_ref_reused`` otherwise
    GET  /v1/orders/{id}     → 200 order | 404 ``order_not_found``
    GET  /v1/orders?order_ref=R → 200 {"data": [order]} (zero or one)
    GET  /v1/lines/{msisdn}  → 200 line | 404 ``line_not_found``
    GET  /v1/sims/{iccid}    → 200 {"iccid", "imsi", "state": "available"|"in_use"|"retired"}
                             | 404 ``sim_not_found``

Order types and their fields (all strings):

    activate    msisdn, iccid, imsi, tariff_profile
    suspend     msisdn                     (active → suspended)
    resume      msisdn                     (suspended → active)
    terminate   msisdn                     (active|suspended → terminated; SIM retired, number freed)
    swap_sim    msisdn, new_iccid[, new_imsi] (same MSISDN on a new SIM; the old SIM is retired)
    port_in     msisdn, iccid, imsi, tariff_profile, donor_operator, port_date (ISO date, today or later)
                [, authorisation_code (the donor's porting code, passed on to the donor)]

An order is ``{"order_id", "order_ref", "type", "status", "reason", "request", "created_at",
"completed_at"}`` with status ``pending`` → ``completed`` | ``rejected``. A rejected order's ``reason`` is
``{"code", "message"}``, code one of ``unknown_iccid``, ``iccid_in_use``, ``sim_retired``, ``imsi_mismatch``,
``msisdn_taken``, ``unknown_tariff_profile``, ``line_not_found``, ``invalid_state_transition``,
``port_date_in_past``, ``donor_is_host``; nothing changes on a rejection. A line is ``{"msisdn", "iccid",
"imsi", "tariff_profile", "state": "active"|"suspended"|"terminated", "ported_from", "ported_on"}``. The
simulator completes a port-in as soon as it is processed (``ported_on`` records the porting date); it does
not wait for the date.

Outcome: by status query, and by callback when ``callback_url`` is given: ``POST callback_url`` with the order
as body and header ``X-MVNO-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + body)>``; a
non-2xx answer or a connection error is retried (``callback_attempts`` in all, ``callback_retry_s`` apart).
The secret is shared out of band (``callback_secret``; the client checks it with ``verify_callback``).

Synchronous errors are ``{"error": {"code", "message"}}``: 400 ``invalid_json``, 401 ``unauthorized``,
404 as above, 409 ``order_ref_reused``, 422 ``invalid_request`` (missing/malformed field, unknown type) or
``invalid_iccid`` (bad length, prefix or Luhn check digit), 503 ``unavailable`` (injected).

Test controls (attributes / methods): ``latency`` delays every answer; ``fail_next`` answers that many
requests with ``fail_status``; ``reject_next(code)`` rejects the next accepted order with that reason;
``processing_s`` is how long an order stays pending; ``callback_delay_s`` delays callbacks;
``drop_callbacks`` drops that many callbacks (never sent); ``today`` is the host's date (a callable) for
porting dates; ``reset()`` puts the controls back. Run standalone:
``python -m integrations.provisioning.mvno.simulator --port P``.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import itertools
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

SIGNATURE_HEADER = "X-MVNO-Signature"
ORDER_FIELDS: dict[str, tuple[str, ...]] = {
    "activate": ("msisdn", "iccid", "imsi", "tariff_profile"),
    "suspend": ("msisdn",),
    "resume": ("msisdn",),
    "terminate": ("msisdn",),
    "swap_sim": ("msisdn", "new_iccid"),
    "port_in": ("msisdn", "iccid", "imsi", "tariff_profile", "donor_operator", "port_date"),
}
TRANSITIONS = {
    "suspend": ({"active"}, "suspended"),
    "resume": ({"suspended"}, "active"),
    "terminate": ({"active", "suspended"}, "terminated"),
}
_MSISDN = re.compile(r"^[1-9][0-9]{7,14}$")
_IMSI = re.compile(r"^[0-9]{15}$")


def luhn_check_digit(digits: str) -> str:
    """The Luhn check digit to append to ``digits``."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    return str((10 - total % 10) % 10)


def iccid_valid(iccid: str) -> bool:
    """19 or 20 digits, starting ``89`` (telecom), the last the Luhn check digit of the others."""
    return (
        iccid.isdigit()
        and len(iccid) in (19, 20)
        and iccid.startswith("89")
        and luhn_check_digit(iccid[:-1]) == iccid[-1]
    )


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The ``X-MVNO-Signature`` header value for ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def _utc_today() -> date:
    return datetime.now(UTC).date()


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


class _Rejected(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


@dataclass
class MvnoSimulator:
    api_key: str | None = None
    callback_secret: str = ""
    operator: str = "HOSTNET"
    tariff_profiles: set[str] | None = None
    latency: float = 0.0
    fail_next: int = 0
    fail_status: int = 503
    processing_s: float = 0.05
    callback_delay_s: float = 0.0
    drop_callbacks: int = 0
    callback_attempts: int = 3
    callback_retry_s: float = 0.1
    today: Callable[[], date] = field(default=_utc_today)
    sims: dict[str, dict[str, Any]] = field(default_factory=dict)
    lines: dict[str, dict[str, Any]] = field(default_factory=dict)
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    callbacks_sent: list[dict[str, Any]] = field(default_factory=list)
    callbacks_dropped: list[str] = field(default_factory=list)
    _rejections: list[str] = field(default_factory=list)
    _by_ref: dict[str, tuple[str, str]] = field(default_factory=dict)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    # -- test controls -------------------------------------------------------------------------------------
    def add_sim(self, iccid: str, imsi: str) -> None:
        """Put a SIM in the host's stock (available)."""
        if not iccid_valid(iccid) or not _IMSI.match(imsi):
            raise ValueError(f"bad SIM {iccid}/{imsi}: ICCID needs 89…+Luhn digit, IMSI 15 digits")
        self.sims[iccid] = {"iccid": iccid, "imsi": imsi, "state": "available"}

    def reject_next(self, code: str = "rejected_by_host") -> None:
        """Reject the next accepted order with ``code`` (queued: call twice for two orders)."""
        self._rejections.append(code)

    def reset(self) -> None:
        """Controls back to normal (state is kept)."""
        self.latency, self.fail_next, self.fail_status = 0.0, 0, 503
        self.processing_s, self.callback_delay_s, self.drop_callbacks = 0.05, 0.0, 0
        self.today = _utc_today
        self._rejections.clear()

    # -- HTTP ----------------------------------------------------------------------------------------------
    def app(self) -> Starlette:
        routes = [
            Route("/v1/orders", self._submit, methods=["POST"]),
            Route("/v1/orders", self._find_orders, methods=["GET"]),
            Route("/v1/orders/{oid}", self._get_order, methods=["GET"]),
            Route("/v1/lines/{msisdn}", self._get_line, methods=["GET"]),
            Route("/v1/sims/{iccid}", self._get_sim, methods=["GET"]),
        ]
        return Starlette(routes=routes, middleware=[Middleware(BaseHTTPMiddleware, dispatch=self._gate)])

    async def _gate(self, request: Request, call_next: Any) -> Response:
        if self.latency:
            await asyncio.sleep(self.latency)
        if self.fail_next > 0:
            self.fail_next -= 1
            return _error(self.fail_status, "unavailable", "injected failure")
        if self.api_key and request.headers.get("authorization") != f"Bearer {self.api_key}":
            return _error(401, "unauthorized", "missing or wrong API key")
        response: Response = await call_next(request)
        return response

    async def _get_order(self, request: Request) -> Response:
        order = self.orders.get(request.path_params["oid"])
        if order is None:
            return _error(404, "order_not_found", f"no order {request.path_params['oid']}")
        return JSONResponse(order)

    async def _find_orders(self, request: Request) -> Response:
        ref = request.query_params.get("order_ref")
        found = self._by_ref.get(ref) if ref else None
        return JSONResponse({"data": [self.orders[found[1]]] if found else []})

    async def _get_line(self, request: Request) -> Response:
        line = self.lines.get(request.path_params["msisdn"])
        return JSONResponse(line) if line else _error(404, "line_not_found", "no such line")

    async def _get_sim(self, request: Request) -> Response:
        sim = self.sims.get(request.path_params["iccid"])
        return JSONResponse(sim) if sim else _error(404, "sim_not_found", "no such SIM")

    async def _submit(self, request: Request) -> Response:
        try:
            body = json.loads(await request.body() or b"{}")
        except ValueError:
            return _error(400, "invalid_json", "the body is not JSON")
        if not isinstance(body, dict):
            return _error(422, "invalid_request", "the body must be an object")
        problem = self._validate(body)
        if problem is not None:
            return problem
        digest = json.dumps(body, sort_keys=True)
        ref = body["order_ref"]
        if ref in self._by_ref:
            first, oid = self._by_ref[ref]
            if first != digest:
                return _error(409, "order_ref_reused", f"order_ref {ref} was used for another order")
            return JSONResponse(self.orders[oid], headers={"Idempotent-Replayed": "true"})
        oid = f"ord_{next(self._ids):06d}"
        request_fields = {k: v for k, v in body.items() if k not in ("order_ref", "type", "callback_url")}
        order = {
            "order_id": oid,
            "order_ref": ref,
            "type": body["type"],
            "status": "pending",
            "reason": None,
            "request": request_fields,
            "created_at": datetime.now(UTC).isoformat(),
            "completed_at": None,
        }
        self.orders[oid] = order
        self._by_ref[ref] = (digest, oid)
        task = asyncio.get_running_loop().create_task(self._process(order, body.get("callback_url")))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return JSONResponse(order, status_code=202)

    def _validate(self, body: dict[str, Any]) -> JSONResponse | None:
        kind, ref = body.get("type"), body.get("order_ref")
        if not isinstance(ref, str) or not ref or kind not in ORDER_FIELDS:
            return _error(
                422, "invalid_request", f"order_ref is required and type one of {sorted(ORDER_FIELDS)}"
            )
        missing = [f for f in ORDER_FIELDS[kind] if not isinstance(body.get(f), str) or not body[f]]
        if missing:
            return _error(422, "invalid_request", f"{kind} needs {', '.join(missing)}")
        callback = body.get("callback_url")
        if callback is not None and (not isinstance(callback, str) or not callback.startswith("http")):
            return _error(422, "invalid_request", "callback_url must be an http(s) URL")
        if not _MSISDN.match(body["msisdn"]):
            return _error(422, "invalid_request", "msisdn must be 8 to 15 E.164 digits without +")
        for name in ("iccid", "new_iccid"):
            if name in body and not (isinstance(body[name], str) and iccid_valid(body[name])):
                return _error(
                    422, "invalid_iccid", f"{name} must be 19-20 digits from 89 with a Luhn check digit"
                )
        for name in ("imsi", "new_imsi"):
            if name in body and not (isinstance(body[name], str) and _IMSI.match(body[name])):
                return _error(422, "invalid_request", f"{name} must be 15 digits")
        if kind == "port_in":
            try:
                date.fromisoformat(body["port_date"])
            except ValueError:
                return _error(422, "invalid_request", "port_date must be an ISO date (YYYY-MM-DD)")
        return None

    # -- processing ----------------------------------------------------------------------------------------
    async def _process(self, order: dict[str, Any], callback_url: str | None) -> None:
        await asyncio.sleep(self.processing_s)
        try:
            if self._rejections:
                code = self._rejections.pop(0)
                raise _Rejected(code, "rejected by the host (injected)")
            self._apply(order["type"], order["request"])
        except _Rejected as rejected:
            order.update(status="rejected", reason={"code": rejected.code, "message": rejected.message})
        else:
            order["status"] = "completed"
        order["completed_at"] = datetime.now(UTC).isoformat()
        if callback_url:
            await self._callback(order, callback_url)

    def _apply(self, kind: str, req: dict[str, Any]) -> None:
        """Check everything first, then change state: a rejection changes nothing."""
        msisdn = req["msisdn"]
        line = self.lines.get(msisdn)
        if kind in ("activate", "port_in"):
            if line is not None and line["state"] != "terminated":
                raise _Rejected("msisdn_taken", f"MSISDN {msisdn} is in use on this network")
            sim = self._available_sim(req["iccid"], req.get("imsi"))
            if self.tariff_profiles is not None and req["tariff_profile"] not in self.tariff_profiles:
                raise _Rejected("unknown_tariff_profile", f"no tariff profile {req['tariff_profile']}")
            ported_from = ported_on = None
            if kind == "port_in":
                when = date.fromisoformat(req["port_date"])
                if when < self.today():
                    raise _Rejected("port_date_in_past", f"port date {when} is before {self.today()}")
                if req["donor_operator"].upper() == self.operator.upper():
                    raise _Rejected("donor_is_host", "the number is already on this network")
                ported_from, ported_on = req["donor_operator"], when.isoformat()
            sim["state"] = "in_use"
            self.lines[msisdn] = {
                "msisdn": msisdn,
                "iccid": sim["iccid"],
                "imsi": sim["imsi"],
                "tariff_profile": req["tariff_profile"],
                "state": "active",
                "ported_from": ported_from,
                "ported_on": ported_on,
            }
            return
        if line is None or (line["state"] == "terminated" and kind != "terminate"):
            raise _Rejected("line_not_found", f"no live line {msisdn}")
        if kind == "swap_sim":
            if line["state"] == "terminated":
                raise _Rejected("invalid_state_transition", "a terminated line cannot swap SIM")
            new = self._available_sim(req["new_iccid"], req.get("new_imsi"))
            self.sims[line["iccid"]]["state"] = "retired"
            new["state"] = "in_use"
            line.update(iccid=new["iccid"], imsi=new["imsi"])
            return
        allowed, target = TRANSITIONS[kind]
        if line["state"] not in allowed:
            raise _Rejected("invalid_state_transition", f"cannot {kind} a line that is {line['state']}")
        line["state"] = target
        if target == "terminated":
            self.sims[line["iccid"]]["state"] = "retired"

    def _available_sim(self, iccid: str, imsi: str | None) -> dict[str, Any]:
        sim = self.sims.get(iccid)
        if sim is None:
            raise _Rejected("unknown_iccid", f"ICCID {iccid} is not in the host's stock")
        if sim["state"] == "in_use":
            raise _Rejected("iccid_in_use", f"ICCID {iccid} is already on a line")
        if sim["state"] == "retired":
            raise _Rejected("sim_retired", f"ICCID {iccid} was retired")
        if imsi is not None and imsi != sim["imsi"]:
            raise _Rejected("imsi_mismatch", f"IMSI {imsi} is not the one of ICCID {iccid}")
        return sim

    async def _callback(self, order: dict[str, Any], url: str) -> None:
        if self.callback_delay_s:
            await asyncio.sleep(self.callback_delay_s)
        if self.drop_callbacks > 0:
            self.drop_callbacks -= 1
            self.callbacks_dropped.append(order["order_id"])
            return
        body = json.dumps(order).encode()
        async with httpx.AsyncClient(timeout=5.0) as http:
            for attempt in range(1, self.callback_attempts + 1):
                headers = {"Content-Type": "application/json"}
                headers[SIGNATURE_HEADER] = sign(self.callback_secret, body, int(time.time()))
                try:
                    status = (await http.post(url, content=body, headers=headers)).status_code
                except httpx.TransportError:
                    status = 0
                self.callbacks_sent.append(
                    {"order_id": order["order_id"], "attempt": attempt, "status": status}
                )
                if 200 <= status < 300:
                    return
                await asyncio.sleep(self.callback_retry_s)


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description="MVNO host-network provisioning API simulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8093)
    parser.add_argument("--api-key", default=None)
    parser.add_argument("--callback-secret", default="mvno-callback-secret")
    args = parser.parse_args()
    simulator = MvnoSimulator(api_key=args.api_key, callback_secret=args.callback_secret)
    uvicorn.run(simulator.app(), host=args.host, port=args.port)


if __name__ == "__main__":
    main()
