"""A typed client of Netflix partner billing (the protocol documented in ``simulator``), over httpx.

It logs in on first use and once more when the access token has expired; any other error answer raises
``NetflixError`` with the partner's code, and a timeout or connection failure raises ``httpx`` errors.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

import httpx
from pydantic import BaseModel, Field

Channel = Literal["WEB", "STORE", "MOBILE", "BROADBAND", "OTHER"]
ChargeStatus = Literal["PENDING", "APPROVED", "DECLINED", "BAD_REQUEST", "REJECTED"]
DeclineStatus = Literal["DECLINED", "BAD_REQUEST", "REJECTED"]
MAX_BATCH = 50


class NetflixError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"Netflix answered {status} {code}: {message}")
        self.status, self.code, self.message = status, code, message


class PartnerSubscriber(BaseModel):
    billing_system_customer_identifier: str
    status: Literal["PENDING_SIGNUP", "ACTIVE", "ENDED"]
    plan: str
    channel: Channel
    promotion_code: str | None = None
    end_reason: str | None = None
    paid_through_date: date | None = None
    signup_url: str | None = None
    token_expires_at: datetime | None = None


class SignUp(PartnerSubscriber):
    signup_token: str
    signup_url: str
    token_expires_at: datetime


class StatusChange(BaseModel):
    status: ChargeStatus
    at: datetime


class Charge(BaseModel):
    charge_number: str
    billing_system_customer_identifier: str
    plan: str
    amount: int
    currency: str
    local_amount: int
    local_currency: str
    paid_through_date: date
    status: ChargeStatus
    reference_number: str | None = None
    received_at: datetime
    status_changes: list[StatusChange] = Field(default_factory=list)


class ChargeDecision(BaseModel):
    """One item of an accept or decline batch (``status``/``reason`` only matter when declining)."""

    charge_number: str
    billing_system_customer_identifier: str
    reference_number: str | None = None
    status: DeclineStatus = "DECLINED"
    reason: str | None = None


class FailedCharge(BaseModel):
    charge_number: str | None
    error_code: str
    description: str


class NetflixClient:
    def __init__(
        self,
        base_url: str,
        partner_id: str,
        secret: str,
        *,
        timeout_seconds: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._partner_id, self._secret = partner_id, secret
        self._http = httpx.Client(base_url=base_url, timeout=timeout_seconds, transport=transport)
        self._token: str | None = None

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> NetflixClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def login(self) -> str:
        answer = self._http.post("/v1/login", json={"partner_id": self._partner_id, "secret": self._secret})
        self._token = str(self._json(answer)["access_token"])
        return self._token

    def create_subscriber(
        self,
        customer_id: str,
        *,
        channel: Channel = "OTHER",
        plan: str = "STANDARD",
        promotion_code: str | None = None,
        token_validity_seconds: int = 3600,
        name: str | None = None,
        address: str | None = None,
        email: str | None = None,
        phone: str | None = None,
    ) -> SignUp:
        body = {
            "billing_system_customer_identifier": customer_id,
            "channel": channel,
            "plan": plan,
            "promotion_code": promotion_code,
            "token_validity": token_validity_seconds,
            "name": name,
            "address": address,
            "email": email,
            "phone": phone,
        }
        return SignUp.model_validate(self._call("POST", "/v1/partner_subscribers", json=body))

    def subscriber(self, customer_id: str) -> PartnerSubscriber:
        return PartnerSubscriber.model_validate(self._call("GET", f"/v1/partner_subscribers/{customer_id}"))

    def change_plan(self, customer_id: str, plan: str) -> PartnerSubscriber:
        """Move the member to ``plan`` at once (the next charges are at its price)."""
        answer = self._call("POST", f"/v1/partner_subscribers/{customer_id}/plan", json={"plan": plan})
        return PartnerSubscriber.model_validate(answer)

    def cancel(self, customer_id: str, reason: str) -> PartnerSubscriber:
        """End the membership (safe to retry: an ended one is answered unchanged)."""
        answer = self._call("POST", f"/v1/partner_subscribers/{customer_id}/cancel", json={"reason": reason})
        return PartnerSubscriber.model_validate(answer)

    def charges(self, status: ChargeStatus = "PENDING") -> list[Charge]:
        answer = self._call("GET", "/v1/charges", params={"status": status})
        return [Charge.model_validate(item) for item in answer["data"]]

    def accept(self, decisions: list[ChargeDecision]) -> list[FailedCharge]:
        items = [
            d.model_dump(include={"charge_number", "billing_system_customer_identifier", "reference_number"})
            for d in decisions
        ]
        return self._batch("/v1/charges/accept", items)

    def decline(self, decisions: list[ChargeDecision]) -> list[FailedCharge]:
        return self._batch("/v1/charges/decline", [d.model_dump() for d in decisions])

    def _batch(self, path: str, items: list[dict[str, Any]]) -> list[FailedCharge]:
        if not items or len(items) > MAX_BATCH:
            raise ValueError(f"a batch holds 1..{MAX_BATCH} charges, got {len(items)}: split it")
        answer = self._call("POST", path, json={"charges": items})
        return [FailedCharge.model_validate(item) for item in answer["failed"]]

    def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        token = self._token or self.login()
        answer = self._http.request(method, path, headers={"Authorization": f"Bearer {token}"}, **kwargs)
        if answer.status_code == 401 and self._code(answer) == "token_expired":
            token = self.login()
            answer = self._http.request(method, path, headers={"Authorization": f"Bearer {token}"}, **kwargs)
        return self._json(answer)

    @staticmethod
    def _code(answer: httpx.Response) -> str:
        try:
            return str(answer.json()["error"]["code"])
        except (ValueError, KeyError, TypeError):
            return "unexpected_answer"

    def _json(self, answer: httpx.Response) -> dict[str, Any]:
        if answer.is_success:
            body = answer.json()
            if isinstance(body, dict):
                return body
        try:
            message = str(answer.json()["error"]["message"])
        except (ValueError, KeyError, TypeError):
            message = answer.text[:200]
        raise NetflixError(answer.status_code, self._code(answer), message)


def complete_signup(
    signup_url: str, simulator_base_url: str, *, plan: str | None = None
) -> PartnerSubscriber:
    """The member's side, for tests and demos: finish the sign-up a ``SignUp`` points to, on the simulator."""
    token = signup_url.rsplit("token=", 1)[-1]
    answer = httpx.post(
        f"{simulator_base_url}/signup/{token}", json={"plan": plan} if plan else {}, timeout=10
    )
    if not answer.is_success:
        body = answer.json().get("error", {})
        raise NetflixError(answer.status_code, str(body.get("code")), str(body.get("message")))
    return PartnerSubscriber.model_validate(answer.json())
