"""A typed client of the host network's MVNO provisioning API (protocol documented in ``simulator``).

Orders are asynchronous: ``submit`` returns the order as accepted (``pending``); its outcome comes later by
``order``/``order_by_ref`` (status query) or by a signed callback, checked with ``verify_callback`` and read
with ``parse_order``. Submitting again with the same ``order_ref`` returns the same order (safe to retry).

Errors raise ``MvnoError`` with the HTTP status (0 for no answer), the API's error code and whether a retry
may succeed (timeouts, refused connections, 5xx, 408/425/429).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

import httpx

SIGNATURE_HEADER = "X-MVNO-Signature"
RETRYABLE_4XX = (408, 425, 429)

OrderType = Literal["activate", "suspend", "resume", "terminate", "swap_sim", "port_in"]
OrderStatus = Literal["pending", "completed", "rejected"]
LineState = Literal["active", "suspended", "terminated"]


class MvnoError(Exception):
    def __init__(self, status: int, code: str, message: str, retryable: bool) -> None:
        super().__init__(f"MVNO API answered {status or 'nothing'} {code}: {message}")
        self.status, self.code, self.message, self.retryable = status, code, message, retryable


@dataclass(frozen=True)
class Rejection:
    code: str
    message: str


@dataclass(frozen=True)
class Order:
    order_id: str
    order_ref: str
    type: OrderType
    status: OrderStatus
    reason: Rejection | None
    request: dict[str, str]
    replayed: bool = False


@dataclass(frozen=True)
class Line:
    msisdn: str
    iccid: str
    imsi: str
    tariff_profile: str
    state: LineState
    ported_from: str | None
    ported_on: date | None


def parse_order(data: dict[str, Any], replayed: bool = False) -> Order:
    reason = data.get("reason")
    return Order(
        order_id=data["order_id"],
        order_ref=data["order_ref"],
        type=data["type"],
        status=data["status"],
        reason=Rejection(reason["code"], reason["message"]) if reason else None,
        request=dict(data.get("request") or {}),
        replayed=replayed,
    )


def verify_callback(
    secret: str, header: str, body: bytes, *, now: float | None = None, tolerance_s: int = 300
) -> bool:
    """True when ``header`` (``t=<unix>,v1=<hex>``) signs ``body`` with ``secret`` within ``tolerance_s``."""
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        timestamp, given = int(parts["t"]), parts["v1"]
    except (ValueError, KeyError):
        return False
    if abs((time.time() if now is None else now) - timestamp) > tolerance_s:
        return False
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, given)


class MvnoClient:
    def __init__(
        self,
        base_url: str,
        api_key: str = "",
        *,
        timeout_seconds: float = 5.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"),
            timeout=httpx.Timeout(timeout_seconds),
            headers=headers,
            transport=transport,
        )
        self.timeout_seconds = timeout_seconds

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> MvnoClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TimeoutException as exc:
            raise MvnoError(0, "timeout", f"{method} {path} after {self.timeout_seconds}s", True) from exc
        except httpx.TransportError as exc:
            raise MvnoError(0, "transport", f"{method} {path}: {exc.__class__.__name__}", True) from exc
        if response.is_success:
            return response
        try:
            error = response.json()["error"]
            code, message = str(error["code"]), str(error["message"])
        except (ValueError, KeyError, TypeError):
            code, message = "unexpected", response.text[:200]
        retryable = response.status_code >= 500 or response.status_code in RETRYABLE_4XX
        raise MvnoError(response.status_code, code, message, retryable)

    def submit(
        self, order_ref: str, type: OrderType, *, callback_url: str | None = None, **fields: str
    ) -> Order:
        """Send an order (fields per type, see the simulator); the answer is the accepted order."""
        body: dict[str, Any] = {"order_ref": order_ref, "type": type, **fields}
        if callback_url is not None:
            body["callback_url"] = callback_url
        response = self._call("POST", "/v1/orders", content=json.dumps(body, sort_keys=True))
        return parse_order(response.json(), response.headers.get("Idempotent-Replayed") == "true")

    def activate(
        self,
        order_ref: str,
        *,
        msisdn: str,
        iccid: str,
        imsi: str,
        tariff_profile: str,
        callback_url: str | None = None,
    ) -> Order:
        return self.submit(
            order_ref, "activate", callback_url=callback_url,
            msisdn=msisdn, iccid=iccid, imsi=imsi, tariff_profile=tariff_profile,
        )  # fmt: skip

    def port_in(
        self,
        order_ref: str,
        *,
        msisdn: str,
        iccid: str,
        imsi: str,
        tariff_profile: str,
        donor_operator: str,
        port_date: date,
        callback_url: str | None = None,
    ) -> Order:
        return self.submit(
            order_ref, "port_in", callback_url=callback_url, msisdn=msisdn, iccid=iccid, imsi=imsi,
            tariff_profile=tariff_profile, donor_operator=donor_operator, port_date=port_date.isoformat(),
        )  # fmt: skip

    def swap_sim(
        self,
        order_ref: str,
        *,
        msisdn: str,
        new_iccid: str,
        new_imsi: str | None = None,
        callback_url: str | None = None,
    ) -> Order:
        extra = {"new_imsi": new_imsi} if new_imsi else {}
        return self.submit(
            order_ref, "swap_sim", callback_url=callback_url, msisdn=msisdn, new_iccid=new_iccid, **extra
        )

    def change_state(
        self,
        order_ref: str,
        type: Literal["suspend", "resume", "terminate"],
        *,
        msisdn: str,
        callback_url: str | None = None,
    ) -> Order:
        return self.submit(order_ref, type, callback_url=callback_url, msisdn=msisdn)

    def order(self, order_id: str) -> Order:
        return parse_order(self._call("GET", f"/v1/orders/{order_id}").json())

    def order_by_ref(self, order_ref: str) -> Order | None:
        found = self._call("GET", "/v1/orders", params={"order_ref": order_ref}).json()["data"]
        return parse_order(found[0]) if found else None

    def line(self, msisdn: str) -> Line | None:
        try:
            data = self._call("GET", f"/v1/lines/{msisdn}").json()
        except MvnoError as exc:
            if exc.status == 404:
                return None
            raise
        return Line(
            msisdn=data["msisdn"],
            iccid=data["iccid"],
            imsi=data["imsi"],
            tariff_profile=data["tariff_profile"],
            state=data["state"],
            ported_from=data.get("ported_from"),
            ported_on=date.fromisoformat(data["ported_on"]) if data.get("ported_on") else None,
        )
