"""Stripe for a subscriber at the browser: a PaymentIntent (or SetupIntent) that Stripe.js confirms with
the card the subscriber types — the card never reaches our servers — and reading an intent's outcome.

The intent is created once per idempotency key (Stripe's ``Idempotency-Key`` header and the intent's
metadata); the caller keeps its id on a pending payment and settles that payment from the outcome (the
``payment_intent.succeeded`` webhook, or ``outcome`` read after Stripe.js returns), exactly once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from integrations.payments.base import ChargeResult, GatewayUnavailable
from integrations.payments.stripe_gateway import KEY_FIELD, StripeGateway, _unavailable_on_outage
from integrations.payments.stripe_intents import charge_result


@dataclass(frozen=True)
class BrowserIntent:
    id: str
    client_secret: str


def _as_intent(obj: Any) -> BrowserIntent:
    data = obj.to_dict()
    return BrowserIntent(id=str(data["id"]), client_secret=str(data["client_secret"]))


def open_browser_payment(
    gateway: StripeGateway,
    *,
    key: str,
    amount_minor: int,
    currency: str,
    account_id: str,
    customer: str | None,
    metadata: dict[str, str],
) -> BrowserIntent:
    """A PaymentIntent for Stripe.js to confirm (once per ``key``)."""
    params: dict[str, Any] = {
        "amount": amount_minor,
        "currency": currency.lower(),
        "payment_method_types": ["card"],
        "metadata": {**metadata, KEY_FIELD: key, "account_id": account_id},
    }
    if customer:
        params["customer"] = customer
    with _unavailable_on_outage(f"create {key}"):
        intent = gateway.client.v1.payment_intents.create(
            params=params,  # type: ignore[arg-type]
            options={"idempotency_key": key},
        )
    return _as_intent(intent)


def browser_payment(gateway: StripeGateway, reference: str) -> BrowserIntent:
    """The intent again (a repeated request answers the same client secret)."""
    with _unavailable_on_outage(f"retrieve {reference}"):
        return _as_intent(gateway.client.v1.payment_intents.retrieve(reference))


def outcome(gateway: StripeGateway, reference: str) -> ChargeResult:
    """What became of the intent: succeeded, declined (with the decline code) or still pending."""
    with _unavailable_on_outage(f"retrieve {reference}"):
        return charge_result(gateway.client.v1.payment_intents.retrieve(reference).to_dict())


def open_card_setup(gateway: StripeGateway, *, key: str, customer: str) -> BrowserIntent:
    """A SetupIntent for Stripe.js to save a card on the customer (``confirmCardSetup``)."""
    with _unavailable_on_outage(f"setup {key}"):
        intent = gateway.client.v1.setup_intents.create(
            params={"customer": customer, "payment_method_types": ["card"], "usage": "off_session"},  # type: ignore[arg-type]
            options={"idempotency_key": key},
        )
    return _as_intent(intent)


def ensure_customer(gateway: StripeGateway, *, account_id: str, email: str, name: str) -> str:
    """The account's Stripe customer, created once per account (as card registration does)."""
    with _unavailable_on_outage(f"customer {account_id}"):
        created = gateway.client.v1.customers.create(
            params={"email": email, "name": name, "metadata": {"account_id": account_id}},
            options={"idempotency_key": f"customer:{account_id}"},
        )
    return str(created.id)


__all__ = [
    "BrowserIntent",
    "GatewayUnavailable",
    "browser_payment",
    "ensure_customer",
    "open_browser_payment",
    "open_card_setup",
    "outcome",
]
