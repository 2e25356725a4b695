"""SportStream as a ``PartnerProvider`` (push: it posts its charges to our webhook, signed).

``parse_pushed_charges`` checks the ``X-SportStream-Signature`` (HMAC-SHA256 under the operator's shared
secret, with a timestamp no older than ``tolerance_seconds``) before reading a byte of the body; decisions
go back through its accept and decline endpoints, at most 20 a call. Errors become ``PartnerError`` with
SportStream's code; 5xx answers, timeouts and connection failures are ``retryable``.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any, Literal

import httpx
from pydantic import BaseModel, ValidationError

from integrations.partners.base import (
    BadSignature,
    Decision,
    FailedDecision,
    Membership,
    PartnerCharge,
    PartnerConnection,
    PartnerError,
    SignUpLink,
    SubscribeRequest,
)
from integrations.partners.sportstream.simulator import (
    MAX_BATCH,
    PARTNER_HEADER,
    SIGNATURE_HEADER,
    signature,
)

NAME = "sportstream"
TOLERANCE_SECONDS = 300


class _Charge(BaseModel):
    charge_number: str
    customer_id: str
    plan: str
    amount: int
    currency: str
    paid_through: date
    created_at: datetime


class _Pushed(BaseModel):
    charges: list[_Charge]


class SportStreamSession:
    def __init__(self, connection: PartnerConnection, timeout_seconds: float, transport: Any) -> None:
        self._http = httpx.Client(
            base_url=connection.base_url,
            timeout=timeout_seconds,
            transport=transport,
            headers={PARTNER_HEADER: connection.partner_id, "Authorization": f"Bearer {connection.secret}"},
        )

    def close(self) -> None:
        self._http.close()

    def _call(self, path: str, body: dict[str, Any] | None = None, *, get: bool = False) -> dict[str, Any]:
        try:
            answer = self._http.get(path) if get else self._http.post(path, json=body or {})
        except httpx.HTTPError as exc:
            raise PartnerError(NAME, "unreachable", f"{type(exc).__name__}: {exc}", retryable=True) from exc
        try:
            data = answer.json()
        except ValueError:
            data = None
        if answer.is_success and isinstance(data, dict):
            return data
        error = data.get("error", {}) if isinstance(data, dict) else {}
        raise PartnerError(
            NAME,
            str(error.get("code", "unexpected_answer")),
            str(error.get("message", answer.text[:200])),
            retryable=answer.status_code >= 500,
        )

    @staticmethod
    def _membership(data: dict[str, Any]) -> Membership:
        return Membership(
            customer_id=data["customer_id"],
            status="ACTIVE" if data["status"] == "ACTIVE" else "ENDED",
            partner_plan=data["plan"],
            end_reason=data.get("end_reason"),
        )

    def subscribe(self, request: SubscribeRequest) -> SignUpLink:
        try:
            data = self._call(
                "/v1/members", {"customer_id": request.customer_id, "plan": request.partner_plan}
            )
        except PartnerError as exc:  # a retry after a lost answer: the member is there already
            if exc.code != "member_exists":
                raise
            data = self._call(f"/v1/members/{request.customer_id}", get=True)
        return SignUpLink(
            customer_id=data["customer_id"],
            signup_url=data["welcome_url"],
            expires_at=datetime.fromisoformat(data["welcome_expires_at"]),
        )

    def membership(self, customer_id: str) -> Membership:
        return self._membership(self._call(f"/v1/members/{customer_id}", get=True))

    def change_plan(self, customer_id: str, partner_plan: str) -> Membership:
        return self._membership(self._call(f"/v1/members/{customer_id}/plan", {"plan": partner_plan}))

    def cancel(self, customer_id: str, reason: str) -> Membership:
        return self._membership(self._call(f"/v1/members/{customer_id}/cancel", {"reason": reason}))

    def pending_charges(self) -> list[PartnerCharge]:
        return []  # pushed to our webhook, never listed

    def accept(self, decisions: list[Decision]) -> list[FailedDecision]:
        return self._answer("/v1/charges/accept", decisions, accept=True)

    def decline(self, decisions: list[Decision]) -> list[FailedDecision]:
        return self._answer("/v1/charges/decline", decisions, accept=False)

    def _answer(self, path: str, decisions: list[Decision], *, accept: bool) -> list[FailedDecision]:
        if not decisions or len(decisions) > MAX_BATCH:
            raise ValueError(f"a batch holds 1..{MAX_BATCH} decisions, got {len(decisions)}: split it")
        items = []
        for d in decisions:
            item: dict[str, Any] = {
                "charge_number": d.charge_number,
                "customer_id": d.customer_id,
                "reference": d.reference,
            }
            if not accept:
                item.update(status=d.status, reason=d.reason)
            items.append(item)
        data = self._call(path, {"charges": items})
        return [FailedDecision.model_validate(f) for f in data.get("failed", [])]


class SportStreamProvider:
    name = NAME
    charges_by: Literal["pull", "push"] = "push"
    max_batch = MAX_BATCH

    def __init__(
        self,
        transport: httpx.BaseTransport | None = None,
        timeout_seconds: float = 10.0,
        tolerance_seconds: int = TOLERANCE_SECONDS,
    ) -> None:
        self._transport, self._timeout, self._tolerance = transport, timeout_seconds, tolerance_seconds

    def connect(self, connection: PartnerConnection) -> SportStreamSession:
        return SportStreamSession(connection, self._timeout, self._transport)

    def parse_pushed_charges(
        self, connection: PartnerConnection, headers: Mapping[str, str], body: bytes
    ) -> list[PartnerCharge]:
        lowered = {k.lower(): v for k, v in headers.items()}
        check_signature(connection.secret, lowered.get(SIGNATURE_HEADER.lower(), ""), body, self._tolerance)
        if lowered.get(PARTNER_HEADER.lower()) != connection.partner_id:
            raise BadSignature(NAME, "wrong_partner", "the push names another partner account")
        try:
            pushed = _Pushed.model_validate(json.loads(body))
        except (ValueError, ValidationError) as exc:
            raise PartnerError(NAME, "invalid_body", f"the pushed charges do not parse: {exc}") from exc
        return [
            PartnerCharge(
                charge_number=c.charge_number,
                customer_id=c.customer_id,
                partner_plan=c.plan,
                amount_minor=c.amount,
                currency=c.currency,
                local_amount_minor=c.amount,
                local_currency=c.currency,
                paid_through=c.paid_through,
                received_at=c.created_at,
            )
            for c in pushed.charges
        ]


def check_signature(secret: str, header: str, body: bytes, tolerance_seconds: int) -> None:
    """Raise ``BadSignature`` unless ``header`` (``t=…,v1=…``) signs ``body`` under ``secret`` recently."""
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        timestamp = int(parts.get("t", ""))
    except ValueError:
        raise BadSignature(
            NAME, "invalid_signature", "the signature header is missing or malformed"
        ) from None
    given = parts.get("v1", "")
    if not hmac.compare_digest(given, signature(secret, timestamp, body)):
        raise BadSignature(NAME, "invalid_signature", "the signature does not match the body")
    age = abs(datetime.now(UTC).timestamp() - timestamp)
    if age > tolerance_seconds:
        raise BadSignature(NAME, "stale_signature", f"the signature is {age:.0f} s old")


def provider_factory(settings: Any) -> SportStreamProvider:
    """The ``multibill.partners`` entry point (SportStream is also registered as a built-in)."""
    return SportStreamProvider()
