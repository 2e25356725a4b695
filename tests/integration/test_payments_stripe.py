"""Cards and collection against a real localstripe: register, charge, decline, timeout, webhooks."""

from __future__ import annotations

import socket

import httpx
import pytest

from activities.payments.collector import Collector
from activities.payments.io import CollectInput, CollectResult
from integrations.payments.base import GatewayRegistry, GatewayUnavailable
from integrations.payments.stripe_gateway import StripeConfig, StripeGateway
from runtime.settings import Settings
from tests.support.billing_factory import Line, make_account, make_invoice
from tests.support.factories import Tenant
from tests.support.localstripe import (
    API_KEY,
    DECLINED_ON_ATTACH,
    DECLINED_ON_CHARGE,
    DroppingProxy,
    LocalStripe,
    signed,
)
from tests.support.payment_support import add_card, invoice_row, postings, rows

FIBRE = [Line("Fibra 600 Mb", 1000, kind="broadband")]  # 1000 + 21% = 1210


def registry_for(url: str, timeout: float = 5.0) -> GatewayRegistry:
    registry = GatewayRegistry()
    registry.register(StripeGateway(StripeConfig(API_KEY, url, timeout, off_session_on_confirm=False)))
    return registry


async def invoice_with_card(
    pay_api: httpx.AsyncClient, operator: Tenant, localstripe: LocalStripe, database_url: str, **card: str
) -> str:
    """A FIBRE invoice of a new account with a card on file (``number=`` another test card); its id."""
    account = make_account(database_url, operator.organisation_id)
    invoice = make_invoice(database_url, account, FIBRE)
    assert (await add_card(pay_api, operator, account, localstripe, **card)).status_code == 201
    return invoice


def collect(database_url: str, gateway_url: str, invoice: str, timeout: float = 5.0) -> CollectResult:
    """The invoice's first collection attempt, through the Stripe gateway at ``gateway_url``."""
    return Collector(database_url, registry_for(gateway_url, timeout)).collect(
        CollectInput(invoice_id=invoice, attempt=1)
    )


def collect_through_a_dropping_proxy(
    database_url: str, localstripe: LocalStripe, invoice: str, answered: int = 0
) -> DroppingProxy:
    """The first attempt through a proxy to localstripe that drops the answers after the first
    ``answered``: the gateway is unavailable. Returns the (closed) proxy."""
    proxy = DroppingProxy(int(localstripe.url.rsplit(":", 1)[1]), answered=answered)
    try:
        with pytest.raises(GatewayUnavailable):
            collect(database_url, proxy.url, invoice)
    finally:
        proxy.close()
    return proxy


async def test_a_card_is_stored_as_token_and_collected_once(
    pay_api: httpx.AsyncClient, operator: Tenant, localstripe: LocalStripe, database_url: str
) -> None:
    account = make_account(database_url, operator.organisation_id)
    invoice = make_invoice(database_url, account, FIBRE)
    resp = await add_card(pay_api, operator, account, localstripe)
    assert resp.status_code == 201, resp.text
    card = resp.json()
    assert (card["brand"], card["last4"], card["exp_month"], card["exp_year"]) == ("visa", "4242", 12, 2031)
    assert card["is_default"] is True
    stored = rows(database_url, "select gateway_token from payment_methods where id = :i", i=card["id"])
    assert stored[0]["gateway_token"].startswith("pm_")
    assert "4242424242424242" not in str(
        rows(database_url, "select * from payment_methods where id = :i", i=card["id"])
    )

    resp = await pay_api.post(f"/v1/invoices/{invoice}/collect", headers=operator.post_headers())
    assert resp.status_code == 200, resp.text
    result = resp.json()
    assert (result["status"], result["attempt"]) == ("succeeded", 1)
    assert invoice_row(database_url, invoice) == {"status": "paid", "paid_minor": 1210, "total_minor": 1210}
    assert postings(database_url, "payment", result["payment_id"]) == [
        ("cash:stripe", 1210, 0),
        ("receivable", 0, 1210),
    ]
    assert len(localstripe.intents_with_key(f"{invoice}:attempt:1")) == 1
    payment = (await pay_api.get(f"/v1/payments/{result['payment_id']}", headers=operator.auth)).json()
    assert payment["allocations"] == [{"invoice_id": invoice, "amount_minor": 1210, "reversed_minor": 0}]

    again = await pay_api.post(f"/v1/invoices/{invoice}/collect", headers=operator.post_headers())
    assert again.json()["status"] == "nothing_due"
    assert len(localstripe.intents_with_key(f"{invoice}:attempt:1")) == 1


async def test_a_declined_charge_moves_nothing(
    pay_api: httpx.AsyncClient, operator: Tenant, localstripe: LocalStripe, database_url: str
) -> None:
    invoice = await invoice_with_card(pay_api, operator, localstripe, database_url, number=DECLINED_ON_CHARGE)
    result = (await pay_api.post(f"/v1/invoices/{invoice}/collect", headers=operator.post_headers())).json()
    assert result["status"] == "declined"
    assert result["decline_code"] == "card_declined"
    assert invoice_row(database_url, invoice) == {"status": "issued", "paid_minor": 0, "total_minor": 1210}
    assert postings(database_url, "payment", result["payment_id"]) == []
    second = (await pay_api.post(f"/v1/invoices/{invoice}/collect", headers=operator.post_headers())).json()
    assert (second["status"], second["attempt"]) == ("declined", 2)


@pytest.mark.parametrize(
    ("token", "code"), [(None, "card_declined"), ("pm_doesnotexist", "invalid_card_token")]
)
async def test_a_refused_card_is_not_stored(
    pay_api: httpx.AsyncClient,
    operator: Tenant,
    localstripe: LocalStripe,
    database_url: str,
    token: str | None,
    code: str,
) -> None:
    account = make_account(database_url, operator.organisation_id)
    resp = await pay_api.post(
        f"/v1/accounts/{account}/payment-methods",
        headers=operator.post_headers(),
        json={"kind": "card", "token": token or localstripe.card_token(DECLINED_ON_ATTACH)},
    )
    assert resp.status_code == 422, resp.text
    assert resp.json()["code"] == code
    assert rows(database_url, "select id from payment_methods where account_id = :a", a=account) == []


async def test_a_lost_answer_is_looked_up_not_charged_again(
    pay_api: httpx.AsyncClient, operator: Tenant, localstripe: LocalStripe, database_url: str
) -> None:
    invoice = await invoice_with_card(pay_api, operator, localstripe, database_url)
    # the intent is created; the answer to its confirmation is lost
    proxy = collect_through_a_dropping_proxy(database_url, localstripe, invoice, answered=1)
    assert proxy.forwarded == 1
    key = f"{invoice}:attempt:1"
    [intent] = localstripe.intents_with_key(key)
    assert intent["status"] == "succeeded"  # charged at the gateway, answer lost
    pending = rows(
        database_url, "select id, status, gateway_reference from payments where idempotency_key = :k", k=key
    )
    assert [(p["status"], p["gateway_reference"]) for p in pending] == [("pending", intent["id"])]
    assert invoice_row(database_url, invoice)["paid_minor"] == 0

    result = collect(database_url, localstripe.url, invoice)
    assert result.status == "succeeded"
    assert result.payment_id == pending[0]["id"]
    assert [i["id"] for i in localstripe.intents_with_key(key)] == [intent["id"]]  # resolved, not recharged
    assert invoice_row(database_url, invoice) == {"status": "paid", "paid_minor": 1210, "total_minor": 1210}
    assert postings(database_url, "payment", pending[0]["id"]) == [
        ("cash:stripe", 1210, 0),
        ("receivable", 0, 1210),
    ]


async def test_a_lost_create_answer_charges_once(
    pay_api: httpx.AsyncClient, operator: Tenant, localstripe: LocalStripe, database_url: str
) -> None:
    """The intent was created but its id never came back: it was never confirmed, so it never charges;
    the retry opens and confirms another (real Stripe returns the same one for the Idempotency-Key)."""
    invoice = await invoice_with_card(pay_api, operator, localstripe, database_url)
    collect_through_a_dropping_proxy(database_url, localstripe, invoice)
    key = f"{invoice}:attempt:1"
    assert [i["status"] for i in localstripe.intents_with_key(key)] == ["requires_confirmation"]
    result = collect(database_url, localstripe.url, invoice)
    assert result.status == "succeeded"
    charged = [i for i in localstripe.intents_with_key(key) if i["status"] == "succeeded"]
    assert [(i["id"], i["amount"]) for i in charged] == [
        (
            rows(database_url, "select gateway_reference from payments where id = :i", i=result.payment_id)[
                0
            ]["gateway_reference"],
            1210,
        )
    ]
    assert invoice_row(database_url, invoice) == {"status": "paid", "paid_minor": 1210, "total_minor": 1210}


async def test_a_gateway_that_never_answers_is_unavailable(
    pay_api: httpx.AsyncClient, operator: Tenant, localstripe: LocalStripe, database_url: str
) -> None:
    invoice = await invoice_with_card(pay_api, operator, localstripe, database_url)
    with socket.create_server(("127.0.0.1", 0)) as silent:  # accepts (backlog) and never answers
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        with pytest.raises(GatewayUnavailable):
            collect(database_url, url, invoice, timeout=1.0)
    assert localstripe.intents_with_key(f"{invoice}:attempt:1") == []
    result = collect(database_url, localstripe.url, invoice)
    assert result.status == "succeeded"  # the gateway never saw the key: lookup finds nothing, charge once
    assert len(localstripe.intents_with_key(f"{invoice}:attempt:1")) == 1


def _intent_event(
    event_id: str, kind: str, payment_id: str, intent_id: str = "pi_webhook"
) -> dict[str, object]:
    return {
        "id": event_id,
        "object": "event",
        "type": kind,
        "data": {
            "object": {"id": intent_id, "object": "payment_intent", "metadata": {"payment_id": payment_id}}
        },
    }


async def test_webhooks_are_verified_and_applied_once(
    pay_api: httpx.AsyncClient,
    operator: Tenant,
    localstripe: LocalStripe,
    database_url: str,
    pay_settings: Settings,
) -> None:
    invoice = await invoice_with_card(pay_api, operator, localstripe, database_url)
    collect_through_a_dropping_proxy(database_url, localstripe, invoice)
    payment_id = rows(database_url, "select id from payments where invoice_id = :i", i=invoice)[0]["id"]
    event = _intent_event(f"evt_{payment_id}", "payment_intent.succeeded", payment_id)

    body, _ = signed(event)
    _, forged = signed(event, secret="whsec_someone_else")
    bad = await pay_api.post("/v1/webhooks/stripe", content=body, headers={"Stripe-Signature": forged})
    assert (bad.status_code, bad.json()["code"]) == (400, "invalid_signature")
    assert invoice_row(database_url, invoice)["paid_minor"] == 0

    body, header = signed(event)
    first = await pay_api.post("/v1/webhooks/stripe", content=body, headers={"Stripe-Signature": header})
    assert first.json()["outcome"] == "settled", first.text
    body, header = signed(event)
    duplicate = await pay_api.post("/v1/webhooks/stripe", content=body, headers={"Stripe-Signature": header})
    assert (duplicate.status_code, duplicate.json()["outcome"]) == (200, "duplicate")
    assert invoice_row(database_url, invoice) == {"status": "paid", "paid_minor": 1210, "total_minor": 1210}
    assert postings(database_url, "payment", payment_id) == [
        ("cash:stripe", 1210, 0),
        ("receivable", 0, 1210),
    ]
    # The activity's retry then finds the payment settled and charges nothing more.
    result = collect(database_url, localstripe.url, invoice)
    assert (result.status, result.payment_id) == ("succeeded", payment_id)
    assert len(localstripe.intents_with_key(f"{invoice}:attempt:1")) == 1


async def test_a_card_refund_goes_to_the_gateway_and_the_ledger(
    pay_api: httpx.AsyncClient, operator: Tenant, localstripe: LocalStripe, database_url: str
) -> None:
    invoice = await invoice_with_card(pay_api, operator, localstripe, database_url)
    payment_id = (
        await pay_api.post(f"/v1/invoices/{invoice}/collect", headers=operator.post_headers())
    ).json()["payment_id"]
    too_much = await pay_api.post(
        f"/v1/payments/{payment_id}/refunds", headers=operator.post_headers(), json={"amount_minor": 1211}
    )
    assert (too_much.status_code, too_much.json()["code"]) == (422, "refund_exceeds_payment")
    resp = await pay_api.post(
        f"/v1/payments/{payment_id}/refunds", headers=operator.post_headers(), json={"amount_minor": 210}
    )
    assert resp.status_code == 201, resp.text
    refund = resp.json()
    assert refund["status"] == "succeeded"
    assert refund["gateway_reference"].startswith("re_")
    assert postings(database_url, "refund", refund["id"]) == [("cash:stripe", 0, 210), ("receivable", 210, 0)]
    assert invoice_row(database_url, invoice) == {
        "status": "partially_paid",
        "paid_minor": 1000,
        "total_minor": 1210,
    }
    payment = (await pay_api.get(f"/v1/payments/{payment_id}", headers=operator.auth)).json()
    assert (payment["status"], payment["refunded_minor"]) == ("partially_refunded", 210)
