"""Recovering a collection whose PaymentIntent was left unfinished (a crash, 3-D Secure): every intent
state means succeeded, still pending or declined; an intent the card never reached is not a decline."""

from __future__ import annotations

from typing import Any

import httpx
import sqlalchemy as sa

from activities.payments.collector import Collector
from activities.payments.io import CollectInput
from domain.payments import collection_key
from integrations.payments.base import GatewayRegistry
from integrations.payments.stripe_gateway import KEY_FIELD, StripeConfig, StripeGateway
from models.base import engine_for
from tests.support.billing_factory import Line, make_account, make_invoice
from tests.support.factories import Tenant
from tests.support.localstripe import API_KEY, LocalStripe
from tests.support.payment_support import add_card, invoice_row, postings, rows

FIBRE = [Line("Fibra 600 Mb", 1000, kind="broadband")]  # 1000 + 21% = 1210
NEEDS_AUTHENTICATION = "4000002500003155"  # localstripe: every charge asks for 3-D Secure


def collector_for(database_url: str, stripe_url: str) -> Collector:
    registry = GatewayRegistry()
    registry.register(StripeGateway(StripeConfig(API_KEY, stripe_url, 5.0, off_session_on_confirm=False)))
    return Collector(database_url, registry)


async def card_account(
    api: httpx.AsyncClient,
    operator: Tenant,
    stripe: LocalStripe,
    database_url: str,
    number: str | None = None,
) -> tuple[str, str, dict[str, Any]]:
    account = make_account(database_url, operator.organisation_id)
    invoice = make_invoice(database_url, account, FIBRE)
    added = await (
        add_card(api, operator, account, stripe, number)
        if number
        else add_card(api, operator, account, stripe)
    )
    assert added.status_code == 201, added.text
    method = rows(
        database_url,
        "select gateway_token, gateway_customer from payment_methods where id = :i",
        i=added.json()["id"],
    )[0]
    return account, invoice, method


def crashed_before_confirm(
    database_url: str, stripe: LocalStripe, invoice: str, method: dict[str, Any], *, with_method: bool = True
) -> str:
    """What a worker killed between creating the intent and confirming it leaves behind: a pending payment
    whose intent is recorded on it but was never confirmed (the card was never charged)."""
    collector = collector_for(database_url, stripe.url)
    done, payment, _ = collector.prepare(CollectInput(invoice_id=invoice, attempt=1))
    assert done is None and payment is not None
    params: dict[str, Any] = {
        "amount": 1210,
        "currency": "eur",
        "customer": method["gateway_customer"],
        "metadata": {KEY_FIELD: collection_key(invoice, 1), "payment_id": payment.id},
    }
    if with_method:
        params["payment_method"] = method["gateway_token"]
    intent = stripe.client().v1.payment_intents.create(params=params)  # type: ignore[arg-type]
    with engine_for(database_url).begin() as conn:  # as the collector records it before confirming
        conn.execute(
            sa.text("update payments set gateway_reference = :r where id = :i"),
            {"r": intent.id, "i": payment.id},
        )
    return str(intent.id)


async def test_an_intent_never_confirmed_is_confirmed_on_recovery_not_declined(
    pay_api: httpx.AsyncClient, operator: Tenant, localstripe: LocalStripe, database_url: str
) -> None:
    _, invoice, method = await card_account(pay_api, operator, localstripe, database_url)
    intent_id = crashed_before_confirm(database_url, localstripe, invoice, method)
    assert [i["status"] for i in localstripe.intents_with_key(collection_key(invoice, 1))] == [
        "requires_confirmation"
    ]

    result = collector_for(database_url, localstripe.url).collect(CollectInput(invoice_id=invoice, attempt=1))
    assert (result.status, result.decline_code) == ("succeeded", None)
    intents = localstripe.intents_with_key(collection_key(invoice, 1))
    assert [(i["id"], i["status"], i["amount"]) for i in intents] == [(intent_id, "succeeded", 1210)]
    assert invoice_row(database_url, invoice) == {"status": "paid", "paid_minor": 1210, "total_minor": 1210}
    assert postings(database_url, "payment", result.payment_id or "") == [
        ("cash:stripe", 1210, 0),
        ("receivable", 0, 1210),
    ]


async def test_an_intent_without_its_payment_method_gets_it_and_is_charged(
    pay_api: httpx.AsyncClient, operator: Tenant, localstripe: LocalStripe, database_url: str
) -> None:
    _, invoice, method = await card_account(pay_api, operator, localstripe, database_url)
    intent_id = crashed_before_confirm(database_url, localstripe, invoice, method, with_method=False)
    assert [i["status"] for i in localstripe.intents_with_key(collection_key(invoice, 1))] == [
        "requires_payment_method"
    ]
    result = collector_for(database_url, localstripe.url).collect(CollectInput(invoice_id=invoice, attempt=1))
    assert result.status == "succeeded"
    intents = localstripe.intents_with_key(collection_key(invoice, 1))
    assert [(i["id"], i["status"], i["payment_method"]) for i in intents] == [
        (intent_id, "succeeded", method["gateway_token"])
    ]
    assert invoice_row(database_url, invoice)["paid_minor"] == 1210


async def test_an_intent_waiting_for_authentication_stays_pending_until_it_is_resolved(
    pay_api: httpx.AsyncClient, operator: Tenant, localstripe: LocalStripe, database_url: str
) -> None:
    _, invoice, _ = await card_account(pay_api, operator, localstripe, database_url, NEEDS_AUTHENTICATION)
    key = collection_key(invoice, 1)
    first = collector_for(database_url, localstripe.url).collect(CollectInput(invoice_id=invoice, attempt=1))
    assert (first.status, first.decline_code) == ("pending", None)  # not a decline: no dunning
    [intent] = localstripe.intents_with_key(key)
    assert intent["status"] == "requires_action"
    assert rows(
        database_url, "select status, gateway_reference from payments where idempotency_key = :k", k=key
    ) == [{"status": "pending", "gateway_reference": intent["id"]}]
    again = collector_for(database_url, localstripe.url).collect(CollectInput(invoice_id=invoice, attempt=1))
    assert (again.status, again.payment_id) == ("pending", first.payment_id)  # asked again, not charged again

    # The customer authenticates (what Stripe.js does on-session): the next resolution settles it.
    localstripe.client().raw_request(
        "post",
        f"/v1/payment_intents/{intent['id']}/_authenticate",
        client_secret=intent["client_secret"],
        success="true",
    )
    settled = collector_for(database_url, localstripe.url).collect(
        CollectInput(invoice_id=invoice, attempt=1)
    )
    assert (settled.status, settled.payment_id) == ("succeeded", first.payment_id)
    assert [i["status"] for i in localstripe.intents_with_key(key)] == ["succeeded"]
    assert invoice_row(database_url, invoice) == {"status": "paid", "paid_minor": 1210, "total_minor": 1210}
