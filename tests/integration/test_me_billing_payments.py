"""/v1/me paying against a real localstripe: an invoice by card through a PaymentIntent that "Stripe.js"
confirms (here the test, with the intent's client secret), settled exactly once whether the webhook or the
confirmation comes first; a declined card; a paid invoice; top-ups within the operator's limit; cards."""

from __future__ import annotations

import uuid

import httpx

from tests.support.billing_factory import Line, make_account, make_invoice
from tests.support.factories import Tenant
from tests.support.localstripe import DECLINED_ON_CHARGE, LocalStripe, signed
from tests.support.payment_support import invoice_row, mandate_body, postings, rows
from tests.support.subscribers import SignedIn, sign_in

FIBRE = [Line("Fibra 600 Mb", 1000, kind="broadband")]  # 1000 + 21% = 1210


def writing(signed_in: SignedIn) -> dict[str, str]:
    return {**signed_in.write_headers, "Idempotency-Key": uuid.uuid4().hex}


def browser_confirms(localstripe: LocalStripe, intent_id: str, card: str | None = None) -> None:
    """What Stripe.js's confirmCardPayment does with the client secret and the card the subscriber typed."""
    client = localstripe.client()
    token = localstripe.card_token(card) if card else localstripe.card_token()
    client.v1.payment_intents.update(intent_id, params={"payment_method": token})
    client.v1.payment_intents.confirm(intent_id)


async def confirm_with_card(
    api: httpx.AsyncClient, me: SignedIn, payment_id: str, token: str | None = None
) -> httpx.Response:
    """The portal's script: the pm_… Stripe.js made of the card, sent to be confirmed server-side."""
    body = {"payment_method_token": token} if token else None
    return await api.post(
        f"/v1/me/payments/{payment_id}/confirmations", json=body, cookies=me.cookies, headers=writing(me)
    )


async def test_pay_an_invoice_by_card_once(
    pay_api: httpx.AsyncClient, operator: Tenant, localstripe: LocalStripe, database_url: str
) -> None:
    account = make_account(database_url, operator.organisation_id)
    invoice = make_invoice(database_url, account, FIBRE)
    me = sign_in(database_url, account)
    url = f"/v1/me/invoices/{invoice}/payments"
    opened = await pay_api.post(url, json={"method": "card"}, cookies=me.cookies, headers=writing(me))
    assert opened.status_code == 201, opened.text
    started = opened.json()
    assert (started["status"], started["amount_minor"], started["currency"]) == ("pending", 1210, "EUR")
    assert started["client_secret"] and started["stripe_js_url"]
    # A second tab answers the same payment and intent: one charge at most.
    again = (await pay_api.post(url, cookies=me.cookies, headers=writing(me))).json()
    assert (again["payment_id"], again["client_secret"]) == (started["payment_id"], started["client_secret"])
    payment = rows(
        database_url, "select gateway_reference from payments where id = :p", p=started["payment_id"]
    )
    intent_id = payment[0]["gateway_reference"]
    assert started["client_secret"].startswith(intent_id)

    confirmed = await confirm_with_card(pay_api, me, started["payment_id"], localstripe.card_token())
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["status"] == "succeeded"
    # Stripe's webhook arrives afterwards: nothing more happens.
    event = {
        "id": f"evt_{uuid.uuid4().hex}",
        "object": "event",
        "type": "payment_intent.succeeded",
        "data": {
            "object": {
                "id": intent_id,
                "object": "payment_intent",
                "metadata": {"payment_id": started["payment_id"]},
            }
        },
    }
    body, header = signed(event)
    hook = await pay_api.post("/v1/webhooks/stripe", content=body, headers={"Stripe-Signature": header})
    assert hook.json()["outcome"] == "no_change", hook.text
    confirmed_again = await pay_api.post(
        f"/v1/me/payments/{started['payment_id']}/confirmations", cookies=me.cookies, headers=writing(me)
    )
    assert confirmed_again.json()["status"] == "succeeded"
    assert invoice_row(database_url, invoice) == {"status": "paid", "paid_minor": 1210, "total_minor": 1210}
    assert postings(database_url, "payment", started["payment_id"]) == [
        ("cash:stripe", 1210, 0),
        ("receivable", 0, 1210),
    ]
    assert len(rows(database_url, "select id from payments where invoice_id = :i", i=invoice)) == 1

    paid = await pay_api.post(url, cookies=me.cookies, headers=writing(me))
    assert paid.status_code == 409 and paid.json()["code"] == "invoice_paid"


async def test_webhook_first_then_confirmation_settles_once(
    pay_api: httpx.AsyncClient, operator: Tenant, localstripe: LocalStripe, database_url: str
) -> None:
    account = make_account(database_url, operator.organisation_id)
    invoice = make_invoice(database_url, account, FIBRE)
    me = sign_in(database_url, account)
    started = (
        await pay_api.post(f"/v1/me/invoices/{invoice}/payments", cookies=me.cookies, headers=writing(me))
    ).json()
    intent_id = rows(
        database_url, "select gateway_reference from payments where id = :p", p=started["payment_id"]
    )[0]["gateway_reference"]
    browser_confirms(localstripe, intent_id)
    event = {
        "id": f"evt_{uuid.uuid4().hex}",
        "object": "event",
        "type": "payment_intent.succeeded",
        "data": {
            "object": {
                "id": intent_id,
                "object": "payment_intent",
                "metadata": {"payment_id": started["payment_id"]},
            }
        },
    }
    body, header = signed(event)
    hook = await pay_api.post("/v1/webhooks/stripe", content=body, headers={"Stripe-Signature": header})
    assert hook.json()["outcome"] == "settled"
    confirmed = await pay_api.post(
        f"/v1/me/payments/{started['payment_id']}/confirmations", cookies=me.cookies, headers=writing(me)
    )
    assert confirmed.json()["status"] == "succeeded"
    assert invoice_row(database_url, invoice)["paid_minor"] == 1210
    assert len(postings(database_url, "payment", started["payment_id"])) == 2


async def test_a_declined_card_is_reported_and_a_new_attempt_pays(
    pay_api: httpx.AsyncClient, operator: Tenant, localstripe: LocalStripe, database_url: str
) -> None:
    account = make_account(database_url, operator.organisation_id)
    invoice = make_invoice(database_url, account, FIBRE)
    me = sign_in(database_url, account)
    url = f"/v1/me/invoices/{invoice}/payments"
    first = (await pay_api.post(url, cookies=me.cookies, headers=writing(me))).json()
    intent_id = rows(
        database_url, "select gateway_reference from payments where id = :p", p=first["payment_id"]
    )[0]["gateway_reference"]
    assert str(intent_id).startswith("pi_")
    declined = await confirm_with_card(
        pay_api, me, first["payment_id"], localstripe.card_token(DECLINED_ON_CHARGE)
    )
    assert declined.status_code == 200, declined.text
    assert declined.json()["status"] == "failed" and declined.json()["decline_code"]
    assert invoice_row(database_url, invoice)["paid_minor"] == 0
    assert postings(database_url, "payment", first["payment_id"]) == []

    second = (await pay_api.post(url, cookies=me.cookies, headers=writing(me))).json()
    assert second["payment_id"] != first["payment_id"] and second["amount_minor"] == 1210
    intent_2 = rows(
        database_url, "select gateway_reference from payments where id = :p", p=second["payment_id"]
    )[0]["gateway_reference"]
    browser_confirms(localstripe, intent_2)
    ok = await pay_api.post(
        f"/v1/me/payments/{second['payment_id']}/confirmations", cookies=me.cookies, headers=writing(me)
    )
    assert ok.json()["status"] == "succeeded"
    assert invoice_row(database_url, invoice)["status"] == "paid"


async def test_others_invoices_void_ones_staff_keys_and_missing_csrf_are_refused(
    pay_api: httpx.AsyncClient, operator: Tenant, database_url: str
) -> None:
    account = make_account(database_url, operator.organisation_id)
    other = make_account(database_url, operator.organisation_id)
    theirs = make_invoice(database_url, other, FIBRE)
    void = make_invoice(database_url, account, FIBRE, status="void")
    me = sign_in(database_url, account)
    hidden = await pay_api.post(f"/v1/me/invoices/{theirs}/payments", cookies=me.cookies, headers=writing(me))
    assert hidden.status_code == 404 and hidden.json()["code"] == "invoice_not_found"
    voided = await pay_api.post(f"/v1/me/invoices/{void}/payments", cookies=me.cookies, headers=writing(me))
    assert voided.status_code == 409 and voided.json()["code"] == "invoice_void"
    staff = await pay_api.post(f"/v1/me/invoices/{theirs}/payments", headers=operator.post_headers())
    assert staff.status_code == 403 and staff.json()["code"] == "subscriber_only"
    mine = make_invoice(database_url, account, FIBRE)
    no_csrf = await pay_api.post(
        f"/v1/me/invoices/{mine}/payments", cookies=me.cookies, headers={"Idempotency-Key": "k1"}
    )
    assert no_csrf.status_code == 403 and no_csrf.json()["code"] == "csrf_token_invalid"
    sepa = await pay_api.post(
        f"/v1/me/invoices/{mine}/payments",
        json={"method": "sepa_debit"},
        cookies=me.cookies,
        headers=writing(me),
    )
    assert sepa.status_code == 409 and sepa.json()["code"] == "no_sepa_debit_method"
    assert rows(database_url, "select id from payments where account_id = :a", a=account) == []
    started = (
        await pay_api.post(f"/v1/me/invoices/{mine}/payments", cookies=me.cookies, headers=writing(me))
    ).json()
    stranger = sign_in(database_url, other)
    peek = await pay_api.post(
        f"/v1/me/payments/{started['payment_id']}/confirmations",
        cookies=stranger.cookies,
        headers=writing(stranger),
    )
    assert peek.status_code == 404 and peek.json()["code"] == "payment_not_found"


async def test_top_up_by_card_within_the_operators_limit(
    pay_api: httpx.AsyncClient, operator: Tenant, localstripe: LocalStripe, database_url: str
) -> None:
    account = make_account(database_url, operator.organisation_id)
    me = sign_in(database_url, account)
    url = "/v1/me/wallets/EUR/top-ups"
    limit = await pay_api.patch(
        f"/v1/organisations/{operator.organisation_id}",
        json={"top_up_max_minor": {"EUR": 5000}},
        headers=operator.auth,
    )
    assert limit.status_code == 200 and limit.json()["top_up_max_minor"] == {"EUR": 5000}, limit.text
    over = await pay_api.post(
        url,
        json={"amount_minor": 5001, "payment_method_token": localstripe.card_token()},
        cookies=me.cookies,
        headers=writing(me),
    )
    assert over.status_code == 422 and over.json()["code"] == "top_up_limit"
    assert "50.00 EUR" in over.json()["detail"]
    unknown = await pay_api.post(
        "/v1/me/wallets/XXZ/top-ups",
        json={"amount_minor": 100, "payment_method_token": "pm_x"},
        cookies=me.cookies,
        headers=writing(me),
    )
    assert unknown.status_code == 422 and unknown.json()["code"] == "currency_unknown"
    declined = await pay_api.post(
        url,
        json={"amount_minor": 2000, "payment_method_token": localstripe.card_token(DECLINED_ON_CHARGE)},
        cookies=me.cookies,
        headers=writing(me),
    )
    assert declined.status_code == 402 and declined.json()["code"] == "top_up_declined", declined.text
    headers = writing(me)
    body = {"amount_minor": 5000, "payment_method_token": localstripe.card_token()}
    done = await pay_api.post(url, json=body, cookies=me.cookies, headers=headers)
    assert done.status_code == 201, done.text
    assert done.json()["wallet"]["balance_minor"] == 5000
    replay = await pay_api.post(url, json=body, cookies=me.cookies, headers=headers)
    assert (
        replay.headers["Idempotent-Replayed"] == "true" and replay.json()["wallet"]["balance_minor"] == 5000
    )
    staff = await pay_api.post(url, json=body, headers=operator.post_headers())
    assert staff.status_code == 403


async def test_save_a_card_with_a_setup_intent_and_list_it(
    pay_api: httpx.AsyncClient, operator: Tenant, localstripe: LocalStripe, database_url: str
) -> None:
    account = make_account(database_url, operator.organisation_id)
    me = sign_in(database_url, account)
    setup = await pay_api.post(
        "/v1/me/payment-methods/setup-intents", cookies=me.cookies, headers=writing(me)
    )
    assert setup.status_code == 201, setup.text
    assert setup.json()["client_secret"].startswith(setup.json()["id"])
    saved = await pay_api.post(
        "/v1/me/payment-methods",
        json={"kind": "card", "token": localstripe.card_token()},
        cookies=me.cookies,
        headers=writing(me),
    )
    assert saved.status_code == 201, saved.text
    assert (saved.json()["last4"], saved.json()["account_id"], saved.json()["is_default"]) == (
        "4242",
        account,
        True,
    )
    listed = await pay_api.get("/v1/me/payment-methods", cookies=me.cookies)
    assert [m["id"] for m in listed.json()] == [saved.json()["id"]]
    other = sign_in(database_url, make_account(database_url, operator.organisation_id))
    assert (await pay_api.get("/v1/me/payment-methods", cookies=other.cookies)).json() == []
    top_up = await pay_api.post(
        "/v1/me/wallets/EUR/top-ups",
        json={"amount_minor": 700, "payment_method_id": saved.json()["id"]},
        cookies=other.cookies,
        headers=writing(other),
    )
    assert top_up.status_code == 404 and top_up.json()["code"] == "payment_method_not_found"


async def test_pay_by_the_accounts_sepa_mandate(
    pay_api: httpx.AsyncClient, operator: Tenant, database_url: str
) -> None:
    account = make_account(database_url, operator.organisation_id)
    invoice = make_invoice(database_url, account, FIBRE)
    mandate = await pay_api.post(
        f"/v1/accounts/{account}/sepa-mandates", json=mandate_body(), headers=operator.post_headers()
    )
    assert mandate.status_code == 201, mandate.text
    me = sign_in(database_url, account)
    url = f"/v1/me/invoices/{invoice}/payments"
    debit = await pay_api.post(url, json={"method": "sepa_debit"}, cookies=me.cookies, headers=writing(me))
    assert debit.status_code == 201, debit.text
    assert (debit.json()["method"], debit.json()["status"], debit.json()["amount_minor"]) == (
        "sepa_debit",
        "pending",
        1210,
    )
    again = await pay_api.post(url, json={"method": "sepa_debit"}, cookies=me.cookies, headers=writing(me))
    assert again.json()["payment_id"] == debit.json()["payment_id"]  # one debit while it is pending
    queued = rows(database_url, "select amount_minor from sepa_debits where account_id = :a", a=account)
    assert [r["amount_minor"] for r in queued] == [1210]
    assert invoice_row(database_url, invoice)["paid_minor"] == 0  # paid when the collection file settles
