"""Plug-ins from an installed package (tests/plugins/acme_multibill), used through the public API.

The AcmePay gateway registers a card from its form's token, collects a real invoice, refunds, and its
signed webhooks settle a pending charge at /v1/webhooks/acmepay (a forged one is refused). A factory that
raises disables only its plug-in (logged, shown by /healthz); a name claimed twice is refused at start-up.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import uuid
from types import ModuleType
from typing import Any

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from activities.dunning.io import DunningInput
from activities.payments.io import CollectionInput
from api.app import create_app
from domain import process_ids
from domain.dunning import Ladder, Step
from integrations.plugins import PluginNameTaken
from runtime.payments import build_gateways
from runtime.settings import Settings
from runtime.worker import build_worker
from tests.support.billing_factory import Line, make_account, make_invoice
from tests.support.eventually import eventually_async
from tests.support.factories import Tenant, make_operator, person
from tests.support.payment_support import invoice_row, postings, rows
from tests.support.provisioning_factory import line, make_subscription
from workflows.collection import CollectionWorkflow
from workflows.dunning import DunningWorkflow

FIBRE = [Line("Fibra 600 Mb", 1000, kind="broadband")]  # 1000 + 21% = 1210


@pytest.fixture
def acmepay(acme_plugin: None) -> ModuleType:
    """AcmePay's (fake) client library, as the plug-in package ships it."""
    return importlib.import_module("acme_multibill.acmepay")


async def card_on_file(
    api: httpx.AsyncClient, acmepay: ModuleType, operator: Tenant, database_url: str, number: str
) -> tuple[str, httpx.Response]:
    """A FIBRE invoice of a new account and the answer to registering an AcmePay card for it."""
    account = make_account(database_url, operator.organisation_id)
    invoice = make_invoice(database_url, account, FIBRE)
    token = acmepay.Client.tokenize(number)  # what AcmePay's form hands the browser
    resp = await api.post(
        f"/v1/accounts/{account}/payment-methods",
        headers=operator.post_headers(),
        json={"kind": "card", "gateway": "acmepay", "token": token},
    )
    return invoice, resp


async def pending_charge(
    api: httpx.AsyncClient, acmepay: ModuleType, operator: Tenant, database_url: str
) -> str:
    """A FIBRE invoice whose AcmePay charge is pending (its webhook will tell); the invoice."""
    invoice, resp = await card_on_file(api, acmepay, operator, database_url, acmepay.PENDING)
    assert resp.status_code == 201, resp.text
    result = (await api.post(f"/v1/invoices/{invoice}/collect", headers=operator.post_headers())).json()
    assert result["status"] == "pending", result
    return invoice


async def test_an_acmepay_card_is_registered_collected_and_refunded(
    plugin_api: httpx.AsyncClient, acmepay: ModuleType, operator: Tenant, database_url: str
) -> None:
    invoice, resp = await card_on_file(plugin_api, acmepay, operator, database_url, "4242424242424242")
    assert resp.status_code == 201, resp.text
    card = resp.json()
    assert (card["gateway"], card["brand"], card["last4"], card["is_default"]) == (
        "acmepay",
        "acmecard",
        "4242",
        True,
    )

    collected = await plugin_api.post(f"/v1/invoices/{invoice}/collect", headers=operator.post_headers())
    assert collected.status_code == 200, collected.text
    result = collected.json()
    assert (result["status"], result["attempt"]) == ("succeeded", 1)
    assert invoice_row(database_url, invoice) == {"status": "paid", "paid_minor": 1210, "total_minor": 1210}
    assert postings(database_url, "payment", result["payment_id"]) == [
        ("cash:acmepay", 1210, 0),
        ("receivable", 0, 1210),
    ]
    assert acmepay.SERVICE.txs[f"{invoice}:attempt:1"].amount == 1210

    refunded = await plugin_api.post(
        f"/v1/payments/{result['payment_id']}/refunds",
        headers=operator.post_headers(),
        json={"amount_minor": 210},
    )
    assert refunded.status_code == 201, refunded.text
    refund = refunded.json()
    assert refund["status"] == "succeeded" and refund["gateway_reference"].startswith("acme_re_")
    assert acmepay.SERVICE.txs[f"{invoice}:attempt:1"].refunded == 210
    assert invoice_row(database_url, invoice)["paid_minor"] == 1000


async def test_a_card_acmepay_refuses_is_not_stored(
    plugin_api: httpx.AsyncClient, acmepay: ModuleType, operator: Tenant, database_url: str
) -> None:
    _, resp = await card_on_file(plugin_api, acmepay, operator, database_url, acmepay.REFUSED)
    assert (resp.status_code, resp.json()["code"]) == (422, "card_refused")


async def test_acmepay_webhooks_are_verified_and_settle_a_pending_charge(
    plugin_api: httpx.AsyncClient, acmepay: ModuleType, operator: Tenant, database_url: str
) -> None:
    invoice = await pending_charge(plugin_api, acmepay, operator, database_url)
    tx = acmepay.SERVICE.txs[f"{invoice}:attempt:1"]
    body, headers = acmepay.Client("sk_test_acme", "whsec_test_acme").settle_pending(tx.id, paid=True)

    forged = acmepay.Client("sk_test_acme", "not-our-secret").sign(body)
    bad = await plugin_api.post("/v1/webhooks/acmepay", content=body, headers={"Acme-Signature": forged})
    assert (bad.status_code, bad.json()["code"]) == (400, "invalid_signature")
    unsigned = await plugin_api.post("/v1/webhooks/acmepay", content=body)
    assert unsigned.status_code == 400
    assert invoice_row(database_url, invoice)["status"] != "paid"

    good = await plugin_api.post("/v1/webhooks/acmepay", content=body, headers=headers)
    assert good.status_code == 200, good.text
    assert good.json()["outcome"] == "settled"
    assert invoice_row(database_url, invoice) == {"status": "paid", "paid_minor": 1210, "total_minor": 1210}
    again = await plugin_api.post("/v1/webhooks/acmepay", content=body, headers=headers)
    assert again.json()["outcome"] == "duplicate"
    stored = rows(database_url, "select outcome from payment_webhook_events where gateway = 'acmepay'")
    assert {"outcome": "settled"} in stored

    nobody = await plugin_api.post("/v1/webhooks/nopay", content=body, headers=headers)
    assert (nobody.status_code, nobody.json()["code"]) == (404, "webhook_gateway_not_found")


async def test_an_acmepay_webhook_that_settles_an_invoice_stops_its_dunning(
    plugin_api: httpx.AsyncClient,
    acmepay: ModuleType,
    operator: Tenant,
    database_url: str,
    settings: Settings,
    dev_env: WorkflowEnvironment,
) -> None:
    """The gateway's own webhook is a payment like any other: the invoice's running Dunning is told."""
    invoice = await pending_charge(plugin_api, acmepay, operator, database_url)
    account = rows(database_url, "select account_id from invoices where id = :i", i=invoice)[0]["account_id"]
    queue = settings.model_copy(update={"task_queue": f"dunning-{uuid.uuid4().hex[:8]}"})
    async with build_worker(dev_env.client, queue):
        handle = await dev_env.client.start_workflow(
            DunningWorkflow.run,
            DunningInput(
                invoice_id=invoice,
                account_id=account,
                organisation_id=operator.organisation_id,
                ladder=Ladder(steps=[Step(day=30, actions=["retry"])]),  # 30 real days away
            ),
            id=process_ids.dunning(invoice),
            task_queue=queue.task_queue,
        )
        tx = acmepay.SERVICE.txs[f"{invoice}:attempt:1"]
        body, headers = acmepay.Client("sk_test_acme", "whsec_test_acme").settle_pending(tx.id, paid=True)
        good = await plugin_api.post("/v1/webhooks/acmepay", content=body, headers=headers)
        assert (good.status_code, good.json()["outcome"]) == (200, "settled"), good.text
        ended = await asyncio.wait_for(handle.result(), timeout=60)
    assert ended.outcome == "paid" and ended.attempts == 0


async def test_the_acme_iot_adapter_provisions_and_reports_for_resync(
    plugin_api: httpx.AsyncClient, acme_plugin: None, database_url: str
) -> None:
    platform = importlib.import_module("acme_multibill.provisioning")
    operator = make_operator(database_url)
    missing, stale = line(), line()
    make_subscription(database_url, operator, {missing: "acme-iot:active", stale: "acme-iot:suspended"})
    platform.STATE[stale] = platform.ServiceState(service_id=stale, active=True)

    resp = await plugin_api.post("/v1/provisioning/resync", headers=operator.post_headers())
    assert resp.status_code == 200, resp.text
    report = resp.json()
    assert "acme-iot" in report["adapters"] and report["errors"] == {}
    assert sorted((o["service_id"], o["action"], o["state"]) for o in report["orders"]) == sorted(
        [(missing, "activate", "done"), (stale, "suspend", "done")]
    )
    assert platform.STATE[missing].active and platform.STATE[stale].suspended
    again = (await plugin_api.post("/v1/provisioning/resync", headers=operator.post_headers())).json()
    assert again["orders"] == []


async def test_notices_go_through_the_chosen_plugin_channel(
    plugin_api: httpx.AsyncClient, acme_plugin: None, database_url: str
) -> None:
    chat = importlib.import_module("acme_multibill.notifier")
    operator = make_operator(database_url)
    body = person(verify=True)
    created = await plugin_api.post("/v1/accounts", json=body, headers=operator.post_headers())
    assert created.status_code in (201, 202), created.text

    async def delivered() -> list[Any]:
        return [m for m in chat.SENT if m.to == body["email"]]

    sent = await eventually_async(
        delivered,
        timeout=15,
        what="the verification notice in Acme chat",
    )
    assert "verif" in sent[0].subject.lower() or "confirm" in sent[0].subject.lower()


async def test_a_broken_plugin_is_reported_by_healthz_and_the_api_and_worker_start(
    acme_plugin: None,
    settings: Settings,
    dev_env: WorkflowEnvironment,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ACME_MULTIBILL_BREAK", "1")
    queue = settings.model_copy(update={"task_queue": f"broken-{uuid.uuid4().hex[:8]}"})
    app = create_app(queue, temporal_client=dev_env.client)
    async with (
        build_worker(dev_env.client, queue),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client,
    ):
        health = await client.get("/healthz")
    assert health.status_code == 200, health.text
    assert health.json()["plugins"]["disabled"] == [
        {
            "group": "multibill.gateways",
            "entry_point": "acme-broken",
            "package": "acme-multibill",
            "error": "RuntimeError: AcmePay credentials are missing (ACME_MULTIBILL_BREAK)",
        }
    ]


def test_a_factory_that_raises_disables_only_its_plugin(
    acme_plugin: None, settings: Settings, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("ACME_MULTIBILL_BREAK", "1")
    with caplog.at_level(logging.ERROR, logger="multibill.plugins"):
        registry = build_gateways(settings)
    assert "acmepay" in registry.names()
    assert [(d.entry_point, d.package) for d in registry.disabled] == [("acme-broken", "acme-multibill")]
    assert "ACME_MULTIBILL_BREAK" in registry.disabled[0].error
    assert "'acme-broken'" in caplog.text and "'acme-multibill'" in caplog.text
    assert "RuntimeError: AcmePay credentials are missing" in caplog.text


def test_a_gateway_name_claimed_twice_is_refused_naming_both_packages(
    acme_plugin: None, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ACME_MULTIBILL_TWIN", "cash")
    with pytest.raises(PluginNameTaken, match=r"by package 'multibill' and by package 'acme-multibill'"):
        create_app(settings)
    with pytest.raises(
        RuntimeError, match=r"'cash' is claimed twice: by package 'multibill' and by package 'acme-multibill'"
    ):
        build_gateways(settings)


async def test_the_collection_after_a_bill_run_charges_acmepay_cards(
    plugin_api: httpx.AsyncClient,
    acmepay: ModuleType,
    settings: Settings,
    dev_env: WorkflowEnvironment,
    database_url: str,
) -> None:
    operator = make_operator(database_url)
    paid, _ = await card_on_file(plugin_api, acmepay, operator, database_url, "4242424242424242")
    declined, _ = await card_on_file(plugin_api, acmepay, operator, database_url, acmepay.DECLINED)
    queue = settings.model_copy(update={"task_queue": f"acme-collect-{uuid.uuid4().hex[:8]}"})
    async with build_worker(dev_env.client, queue):
        summary = await dev_env.client.execute_workflow(
            CollectionWorkflow.run,
            CollectionInput(organisation_id=operator.organisation_id, batch_size=10),
            id=f"collection-{uuid.uuid4().hex[:8]}",
            task_queue=queue.task_queue,
        )
    assert summary.counts == {"succeeded": 1, "declined": 1}
    assert summary.dunning_started == [declined]
    assert invoice_row(database_url, paid)["status"] == "paid"
    assert acmepay.SERVICE.txs[f"{declined}:attempt:1"].code == "card_declined"
