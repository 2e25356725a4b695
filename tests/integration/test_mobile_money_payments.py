"""Mobile money through the API and a worker, against the push-payment simulator over HTTP: an invoice paid on
the handset, a wallet top-up, a timeout and a late callback resolved by status query (counted once), a
duplicate callback, a callback with a bad signature (refused, nothing changed), a cancel, another request in
progress on the phone (pushed again later), a collection run (a refusal starts dunning), bad input."""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from typing import Any

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from activities.payments.io import CollectionInput
from integrations.payments.mobile_money import MobileMoneyClient, PushRequest
from integrations.payments.mobile_money.simulator import sign
from tests.support.billing_factory import Line, make_account, make_invoice
from tests.support.eventually import eventually
from tests.support.factories import Tenant
from tests.support.mobile_money_api import MomoApi, answer_prompt, while_answering
from tests.support.mobile_money_simulator import (
    CALLBACK_SECRET,
    CALLBACK_TIMEOUT_S,
    CONSUMER_KEY,
    CONSUMER_SECRET,
    CallbackReceiver,
    Handset,
)
from tests.support.payment_support import invoice_row, postings, rows
from workflows.collection import CollectionWorkflow

AIRTIME = [Line("Bundle 10 GB", 1000)]  # 1000 + 21% = 1210
PIN = "1234"


async def account_with_phone(momo_api: MomoApi, operator: Tenant, handset: Handset) -> str:
    """A KES account whose default payment method is the handset's number; its id."""
    account = make_account(momo_api.settings.database_url or "", operator.organisation_id, currency="KES")
    added = await momo_api.client.post(
        f"/v1/accounts/{account}/payment-methods",
        headers=operator.post_headers(),
        json={"kind": "mobile_money", "msisdn": handset.msisdn},
    )
    assert added.status_code == 201, added.text
    method = added.json()
    assert (method["kind"], method["gateway"], method["last4"]) == (
        "mobile_money",
        "mobile_money",
        handset.msisdn[-4:],
    )
    return account


def pushes_to(momo_api: MomoApi, msisdn: str) -> list[dict[str, Any]]:
    return [p for p in momo_api.gateway.simulator.payments.values() if p["msisdn"] == msisdn]


def events_of(database_url: str, checkout_request_id: str) -> list[dict[str, Any]]:
    return rows(
        database_url,
        "select event_id, outcome from payment_webhook_events where gateway = 'mobile_money'"
        " and event_id like :c order by id",
        c=f"{checkout_request_id}:%",
    )


async def collect(momo_api: MomoApi, operator: Tenant, invoice: str) -> httpx.Response:
    return await momo_api.client.post(f"/v1/invoices/{invoice}/collect", headers=operator.post_headers())


async def test_an_invoice_is_paid_on_the_handset_once(momo_api: MomoApi, operator: Tenant) -> None:
    db = momo_api.settings.database_url or ""
    handset = momo_api.handset(balance=5000)
    account = await account_with_phone(momo_api, operator, handset)
    invoice = make_invoice(db, account, AIRTIME, currency="KES")

    answer = answer_prompt(handset, lambda: handset.approve(PIN))
    response = await while_answering(collect(momo_api, operator, invoice), answer)

    assert response.status_code == 200, response.text
    result = response.json()
    assert (result["status"], result["attempt"]) == ("succeeded", 1)
    assert invoice_row(db, invoice) == {"status": "paid", "paid_minor": 1210, "total_minor": 1210}
    assert postings(db, "payment", result["payment_id"]) == [
        ("cash:mobile_money", 1210, 0),
        ("receivable", 0, 1210),
    ]
    assert handset.state()["balance"] == 5000 - 1210
    [push] = pushes_to(momo_api, handset.msisdn)
    assert (push["amount"], push["currency"]) == (1210, "KES")
    cid = push["checkout_request_id"]
    eventually(lambda: events_of(db, cid), what="the callback recorded")
    assert [e["outcome"] for e in events_of(db, cid)] in (["settled"], ["no_change"])
    payments = rows(db, "select status, gateway_reference from payments where invoice_id = :i", i=invoice)
    assert payments == [{"status": "succeeded", "gateway_reference": cid}]


async def test_a_wallet_top_up_is_credited_once_the_subscriber_approves(
    momo_api: MomoApi, operator: Tenant
) -> None:
    db = momo_api.settings.database_url or ""
    handset = momo_api.handset(balance=10_000)
    account = make_account(db, operator.organisation_id, currency="KES")
    top_up = momo_api.client.post(
        f"/v1/accounts/{account}/wallets/KES/top-ups",
        headers=operator.post_headers(),
        json={"method": "mobile_money", "amount_minor": 2500, "msisdn": handset.msisdn},
    )
    response = await while_answering(top_up, answer_prompt(handset, lambda: handset.approve(PIN)))

    assert response.status_code == 201, response.text
    body = response.json()
    assert body["wallet"]["balance_minor"] == 2500
    assert body["transaction"]["method"] == "mobile_money"
    assert handset.state()["balance"] == 7500
    assert len(pushes_to(momo_api, handset.msisdn)) == 1


async def test_a_timed_out_prompt_is_resolved_by_status_query_without_a_callback(
    momo_api: MomoApi, operator: Tenant
) -> None:
    db = momo_api.settings.database_url or ""
    momo_api.gateway.simulator.callback_copies = 0  # the callback never comes
    handset = momo_api.handset()
    account = await account_with_phone(momo_api, operator, handset)
    invoice = make_invoice(db, account, AIRTIME, currency="KES")

    response = await collect(momo_api, operator, invoice)  # nobody answers: the prompt times out

    assert response.status_code == 200, response.text
    result = response.json()
    assert (result["status"], result["decline_code"]) == ("declined", "timed_out")
    assert invoice_row(db, invoice) == {"status": "issued", "paid_minor": 0, "total_minor": 1210}
    assert postings(db, "payment", result["payment_id"]) == []
    [push] = pushes_to(momo_api, handset.msisdn)
    assert events_of(db, push["checkout_request_id"]) == []


async def test_a_late_callback_after_the_status_query_counts_once(
    momo_api: MomoApi, operator: Tenant
) -> None:
    db = momo_api.settings.database_url or ""
    momo_api.gateway.simulator.callback_delay = 2.0
    handset = momo_api.handset(balance=5000)
    account = await account_with_phone(momo_api, operator, handset)
    invoice = make_invoice(db, account, AIRTIME, currency="KES")

    answer = answer_prompt(handset, lambda: handset.approve(PIN))
    result = (await while_answering(collect(momo_api, operator, invoice), answer)).json()
    assert result["status"] == "succeeded"  # by status query: the callback is still on its way
    [push] = pushes_to(momo_api, handset.msisdn)
    cid = push["checkout_request_id"]

    await asyncio.to_thread(eventually, lambda: events_of(db, cid), timeout=15, what="the late callback")
    assert events_of(db, cid) == [{"event_id": f"{cid}:0", "outcome": "no_change"}]
    assert invoice_row(db, invoice) == {"status": "paid", "paid_minor": 1210, "total_minor": 1210}
    assert postings(db, "payment", result["payment_id"]) == [
        ("cash:mobile_money", 1210, 0),
        ("receivable", 0, 1210),
    ]
    assert handset.state()["balance"] == 5000 - 1210


async def test_a_duplicate_callback_is_counted_once(momo_api: MomoApi, operator: Tenant) -> None:
    db = momo_api.settings.database_url or ""
    momo_api.gateway.simulator.callback_copies = 2
    handset = momo_api.handset(balance=5000)
    account = await account_with_phone(momo_api, operator, handset)
    invoice = make_invoice(db, account, AIRTIME, currency="KES")

    answer = answer_prompt(handset, lambda: handset.approve(PIN))
    result = (await while_answering(collect(momo_api, operator, invoice), answer)).json()
    assert result["status"] == "succeeded"
    [push] = pushes_to(momo_api, handset.msisdn)
    cid = push["checkout_request_id"]

    delivered = lambda: [d for d in momo_api.gateway.simulator.deliveries if d[0] == cid]  # noqa: E731
    await asyncio.to_thread(
        eventually, lambda: len(delivered()) == 2, timeout=2 * CALLBACK_TIMEOUT_S, what="both copies sent"
    )
    assert delivered() == [(cid, 200), (cid, 200)]  # both answered, though only the first moved money
    await asyncio.to_thread(eventually, lambda: events_of(db, cid), timeout=30, what="the callback recorded")
    assert len(events_of(db, cid)) == 1  # the second copy is a duplicate of the same event
    assert postings(db, "payment", result["payment_id"]) == [
        ("cash:mobile_money", 1210, 0),
        ("receivable", 0, 1210),
    ]
    assert invoice_row(db, invoice)["paid_minor"] == 1210


async def test_a_callback_with_a_bad_signature_is_refused_and_changes_nothing(
    momo_api: MomoApi, operator: Tenant, caplog: pytest.LogCaptureFixture
) -> None:
    db = momo_api.settings.database_url or ""
    simulator = momo_api.gateway.simulator
    simulator.bad_signature_next = 1
    simulator.callback_delay = 0.0
    handset = momo_api.handset(balance=5000)
    account = await account_with_phone(momo_api, operator, handset)
    invoice = make_invoice(db, account, AIRTIME, currency="KES")
    simulator.fail_next = 0

    # The subscriber cancels; the callback saying so is signed with a wrong secret: refused.
    answer = answer_prompt(handset, handset.cancel)
    result = (await while_answering(collect(momo_api, operator, invoice), answer)).json()
    [push] = pushes_to(momo_api, handset.msisdn)
    cid = push["checkout_request_id"]
    await asyncio.to_thread(
        eventually,
        lambda: [d for d in simulator.deliveries if d[0] == cid],
        timeout=CALLBACK_TIMEOUT_S,
        what="the callback delivered",
    )
    assert [d for d in simulator.deliveries if d[0] == cid] == [(cid, 400)]
    assert events_of(db, cid) == []
    # The status query resolved it anyway, with the provider's reason.
    assert (result["status"], result["decline_code"]) == ("declined", "cancelled_by_user")

    # A forged "success" for that request is refused too, and the payment stays failed.
    body = json.dumps(
        {
            "checkout_request_id": cid,
            "merchant_request_id": push["merchant_request_id"],
            "msisdn": handset.msisdn,
            "result_code": 0,
            "result_description": "ok",
            "amount": 1210,
            "currency": "KES",
            "receipt_number": "FORGED",
        }
    ).encode()
    with caplog.at_level(logging.WARNING, logger="activities.payments.gateway_webhooks"):
        forged = await momo_api.client.post(
            "/v1/webhooks/mobile_money",
            content=body,
            headers={"X-MoMo-Signature": sign("not-the-secret", body, int(time.time()))},
        )
    assert forged.status_code == 400
    assert forged.json()["code"] == "invalid_signature"
    assert forged.headers["content-type"].startswith("application/problem+json")
    logged = [r.getMessage() for r in caplog.records if r.name == "activities.payments.gateway_webhooks"]
    assert any("refused a mobile_money webhook" in line for line in logged), logged  # refused and logged
    assert events_of(db, cid) == []
    assert invoice_row(db, invoice) == {"status": "issued", "paid_minor": 0, "total_minor": 1210}
    stored = rows(db, "select status, decline_code from payments where invoice_id = :i", i=invoice)
    assert stored == [{"status": "failed", "decline_code": "cancelled_by_user"}]

    genuine = await momo_api.client.post(
        "/v1/webhooks/mobile_money",
        content=body,
        headers={"X-MoMo-Signature": sign(CALLBACK_SECRET, body, int(time.time()))},
    )
    assert genuine.status_code == 200  # signed right, but the payment already failed: no money moves
    assert invoice_row(db, invoice)["paid_minor"] == 0


@pytest.mark.parametrize(
    ("answer", "code"),
    [("cancel", "cancelled_by_user"), ("wrong_pin", "wrong_pin"), ("poor", "insufficient_funds")],
)
async def test_a_refused_push_is_a_declined_payment_with_the_providers_reason(
    momo_api: MomoApi, operator: Tenant, answer: str, code: str
) -> None:
    db = momo_api.settings.database_url or ""
    handset = momo_api.handset(balance=100 if answer == "poor" else 5000)
    account = await account_with_phone(momo_api, operator, handset)
    invoice = make_invoice(db, account, AIRTIME, currency="KES")
    actions = {"cancel": handset.cancel, "wrong_pin": lambda: handset.approve("0000")}
    action = actions.get(answer, lambda: handset.approve(PIN))

    result = (
        await while_answering(collect(momo_api, operator, invoice), answer_prompt(handset, action))
    ).json()

    assert (result["status"], result["decline_code"]) == ("declined", code)
    assert invoice_row(db, invoice) == {"status": "issued", "paid_minor": 0, "total_minor": 1210}
    assert postings(db, "payment", result["payment_id"]) == []


async def test_bad_phone_numbers_are_refused_naming_the_field(momo_api: MomoApi, operator: Tenant) -> None:
    db = momo_api.settings.database_url or ""
    account = make_account(db, operator.organisation_id, currency="KES")
    method = await momo_api.client.post(
        f"/v1/accounts/{account}/payment-methods",
        headers=operator.post_headers(),
        json={"kind": "mobile_money", "msisdn": "0712345678"},
    )
    assert method.status_code == 422
    assert "msisdn" in method.text
    top_up = await momo_api.client.post(
        f"/v1/accounts/{account}/wallets/KES/top-ups",
        headers=operator.post_headers(),
        json={"method": "mobile_money", "amount_minor": 100, "msisdn": "12345"},
    )
    assert top_up.status_code == 422
    assert top_up.json()["code"] == "invalid_msisdn"
    assert rows(db, "select count(*) as n from payment_methods where account_id = :a", a=account) == [
        {"n": 0}
    ]


async def test_another_request_in_progress_is_pushed_again_later(
    momo_api: MomoApi, operator: Tenant, momo_callbacks: CallbackReceiver
) -> None:
    db = momo_api.settings.database_url or ""
    momo_api.gateway.simulator.prompt_timeout = 30.0  # the other prompt stays open until cancelled
    handset = momo_api.handset(balance=5000)
    account = await account_with_phone(momo_api, operator, handset)
    invoice = make_invoice(db, account, AIRTIME, currency="KES")
    with MobileMoneyClient(momo_api.gateway.url, CONSUMER_KEY, CONSUMER_SECRET) as other_merchant:
        other = other_merchant.request_payment(
            PushRequest(handset.msisdn, 500, "KES", "OTHER-1", "another shop", momo_callbacks.url)
        )

    def ours() -> list[dict[str, Any]]:
        pushes = pushes_to(momo_api, handset.msisdn)
        return [p for p in pushes if p["checkout_request_id"] != other.checkout_request_id]

    async def answer() -> None:
        busy = await asyncio.to_thread(
            eventually,
            ours,
            until=lambda pushes: bool(pushes) and pushes[0]["result_code"] is not None,
            what="our push, refused as in progress",
        )
        assert [p["result_code"] for p in busy] == [1001]
        assert handset.cancel().status_code == 200  # the other prompt ends: the phone is free again
        await asyncio.to_thread(eventually, lambda: len(ours()) == 2, what="our push again")
        await answer_prompt(handset, lambda: handset.approve(PIN))

    result = (await while_answering(collect(momo_api, operator, invoice), answer())).json()

    assert (result["status"], result["attempt"]) == ("succeeded", 1)
    assert [p["result_code"] for p in ours()] == [1001, 0]
    assert invoice_row(db, invoice) == {"status": "paid", "paid_minor": 1210, "total_minor": 1210}
    assert handset.state()["balance"] == 5000 - 1210


async def test_a_collection_run_charges_by_phone_and_a_refusal_goes_to_dunning(
    momo_api: MomoApi, operator: Tenant, dev_env: WorkflowEnvironment
) -> None:
    db = momo_api.settings.database_url or ""
    momo_api.gateway.simulator.prompt_timeout = 30.0
    payer, refuser = momo_api.handset(balance=5000), momo_api.handset(balance=5000)
    paid = make_invoice(db, await account_with_phone(momo_api, operator, payer), AIRTIME, currency="KES")
    refused = make_invoice(db, await account_with_phone(momo_api, operator, refuser), AIRTIME, currency="KES")

    run = dev_env.client.execute_workflow(
        CollectionWorkflow.run,
        CollectionInput(organisation_id=operator.organisation_id, batch_size=10),
        id=f"collection-{uuid.uuid4().hex[:8]}",
        task_queue=momo_api.settings.task_queue,
    )
    answers = asyncio.gather(
        answer_prompt(payer, lambda: payer.approve(PIN)), answer_prompt(refuser, refuser.cancel)
    )
    summary, _ = await asyncio.gather(run, answers)

    assert (summary.invoices, summary.counts) == (2, {"succeeded": 1, "declined": 1})
    assert summary.dunning_started == [refused]
    assert invoice_row(db, paid) == {"status": "paid", "paid_minor": 1210, "total_minor": 1210}
    assert invoice_row(db, refused) == {"status": "issued", "paid_minor": 0, "total_minor": 1210}
    stored = rows(db, "select status, decline_code from payments where invoice_id = :i", i=refused)
    assert stored == [{"status": "failed", "decline_code": "cancelled_by_user"}]
    assert len(pushes_to(momo_api, payer.msisdn)) == len(pushes_to(momo_api, refuser.msisdn)) == 1
