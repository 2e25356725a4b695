"""Netflix partner billing as a ``PartnerProvider`` (pull: we list pending charges and decide in batches).

The protocol is the one ``simulator`` documents; ``client.NetflixClient`` speaks it. Errors become
``PartnerError`` with Netflix's code; 5xx answers, timeouts and connection failures are ``retryable``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Literal, TypeVar

import httpx

from integrations.partners.base import (
    Decision,
    FailedDecision,
    Membership,
    PartnerCharge,
    PartnerConnection,
    PartnerError,
    SignUpLink,
    SubscribeRequest,
)
from integrations.partners.netflix.client import (
    MAX_BATCH,
    ChargeDecision,
    NetflixClient,
    NetflixError,
    PartnerSubscriber,
)

T = TypeVar("T")
NAME = "netflix"


class NetflixSession:
    def __init__(self, client: NetflixClient) -> None:
        self._client = client

    def close(self) -> None:
        self._client.close()

    def subscribe(self, request: SubscribeRequest) -> SignUpLink:
        signup = _call(
            lambda: self._client.create_subscriber(
                request.customer_id,
                channel=request.channel,
                plan=request.partner_plan,
                promotion_code=request.promotion_code,
                token_validity_seconds=request.signup_validity_seconds,
                name=request.name,
                address=request.address,
                email=request.email,
                phone=request.phone,
            )
        )
        return SignUpLink(
            customer_id=signup.billing_system_customer_identifier,
            signup_url=signup.signup_url,
            expires_at=signup.token_expires_at,
        )

    def membership(self, customer_id: str) -> Membership:
        return _membership(_call(lambda: self._client.subscriber(customer_id)))

    def change_plan(self, customer_id: str, partner_plan: str) -> Membership:
        return _membership(_call(lambda: self._client.change_plan(customer_id, partner_plan)))

    def cancel(self, customer_id: str, reason: str) -> Membership:
        return _membership(_call(lambda: self._client.cancel(customer_id, reason[:200] or "cancelled")))

    def pending_charges(self) -> list[PartnerCharge]:
        return [
            PartnerCharge(
                charge_number=c.charge_number,
                customer_id=c.billing_system_customer_identifier,
                partner_plan=c.plan,
                amount_minor=c.amount,
                currency=c.currency,
                local_amount_minor=c.local_amount,
                local_currency=c.local_currency,
                paid_through=c.paid_through_date,
                received_at=c.received_at,
            )
            for c in _call(lambda: self._client.charges("PENDING"))
        ]

    def accept(self, decisions: list[Decision]) -> list[FailedDecision]:
        return _failed(_call(lambda: self._client.accept([_decision(d) for d in decisions])))

    def decline(self, decisions: list[Decision]) -> list[FailedDecision]:
        return _failed(_call(lambda: self._client.decline([_decision(d) for d in decisions])))


class NetflixProvider:
    name = NAME
    charges_by: Literal["pull", "push"] = "pull"
    max_batch = MAX_BATCH

    def __init__(self, transport: httpx.BaseTransport | None = None, timeout_seconds: float = 10.0) -> None:
        self._transport, self._timeout = transport, timeout_seconds

    def connect(self, connection: PartnerConnection) -> NetflixSession:
        return NetflixSession(
            NetflixClient(
                connection.base_url,
                connection.partner_id,
                connection.secret,
                timeout_seconds=self._timeout,
                transport=self._transport,
            )
        )

    def parse_pushed_charges(
        self, connection: PartnerConnection, headers: Mapping[str, str], body: bytes
    ) -> list[PartnerCharge]:
        raise PartnerError(NAME, "not_supported", "Netflix charges are pulled, never pushed")


def provider_factory(settings: Any) -> NetflixProvider:
    """The ``multibill.partners`` entry point."""
    return NetflixProvider()


def _call(fn: Callable[[], T]) -> T:
    try:
        return fn()
    except NetflixError as exc:
        raise PartnerError(NAME, exc.code, exc.message, retryable=exc.status >= 500) from exc
    except httpx.HTTPError as exc:
        raise PartnerError(NAME, "unreachable", f"{type(exc).__name__}: {exc}", retryable=True) from exc


def _membership(sub: PartnerSubscriber) -> Membership:
    return Membership(
        customer_id=sub.billing_system_customer_identifier,
        status=sub.status,
        partner_plan=sub.plan,
        end_reason=sub.end_reason,
        signup_url=sub.signup_url,
        signup_expires_at=sub.token_expires_at,
    )


def _decision(d: Decision) -> ChargeDecision:
    return ChargeDecision(
        charge_number=d.charge_number,
        billing_system_customer_identifier=d.customer_id,
        reference_number=d.reference,
        status=d.status,
        reason=d.reason,
    )


def _failed(items: list[Any]) -> list[FailedDecision]:
    return [
        FailedDecision(charge_number=i.charge_number, error_code=i.error_code, description=i.description)
        for i in items
    ]
