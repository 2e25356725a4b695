"""Collection after a bill run on the dev server: batches, real localstripe charges, dunning for failures;
and a worker killed (SIGKILL) between the gateway call and its record charges exactly once."""

from __future__ import annotations

import asyncio
import signal
import uuid
from pathlib import Path

import httpx
from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment

from activities.payments.io import CollectionInput
from domain import process_ids
from runtime.settings import Settings
from runtime.worker import build_worker
from tests.support.billing_factory import Line, make_account, make_invoice
from tests.support.eventually import eventually_async
from tests.support.factories import Tenant
from tests.support.localstripe import DECLINED_ON_CHARGE, LocalStripe
from tests.support.payment_support import add_card, invoice_row, postings, rows
from tests.support.worker_process import stripe_env, worker_process
from workflows.collection import CollectionSummary, CollectionWorkflow
from workflows.common import ACCOUNT_ID, INVOICE_ID, ORGANISATION_ID, PROCESS

FIBRE = [Line("Fibra 600 Mb", 1000, kind="broadband")]  # 1210


async def test_collection_charges_in_batches_and_starts_dunning_for_failures(
    pay_api: httpx.AsyncClient,
    pay_settings: Settings,
    operator: Tenant,
    localstripe: LocalStripe,
    database_url: str,
    dev_env: WorkflowEnvironment,
) -> None:
    good = [make_account(database_url, operator.organisation_id) for _ in range(2)]
    bad = make_account(database_url, operator.organisation_id)
    off = make_account(database_url, operator.organisation_id)
    for account in good:
        assert (await add_card(pay_api, operator, account, localstripe)).status_code == 201
    assert (await add_card(pay_api, operator, bad, localstripe, DECLINED_ON_CHARGE)).status_code == 201
    resp = await pay_api.post(
        f"/v1/accounts/{off}/payment-methods",
        headers=operator.post_headers(),
        json={"kind": "card", "token": localstripe.card_token(), "auto_collect": False},
    )
    assert resp.status_code == 201
    paid = [make_invoice(database_url, a, FIBRE) for a in good]
    failing = make_invoice(database_url, bad, FIBRE)
    skipped = make_invoice(database_url, off, FIBRE)

    summary = await run_collection(dev_env, pay_settings, operator)
    assert summary.batches == 2
    assert summary.counts == {"succeeded": 2, "declined": 1}
    assert summary.dunning_started == [failing]
    for invoice in paid:
        assert invoice_row(database_url, invoice) == {
            "status": "paid",
            "paid_minor": 1210,
            "total_minor": 1210,
        }
    assert invoice_row(database_url, skipped)["paid_minor"] == 0
    dunning = await dev_env.client.get_workflow_handle(process_ids.dunning(failing)).describe()
    assert dunning.workflow_type == "Dunning"
    labels = dunning.typed_search_attributes  # staff find the child by invoice and account too
    assert labels.get(INVOICE_ID) == failing
    assert labels.get(ACCOUNT_ID) == bad
    assert labels.get(ORGANISATION_ID) == operator.organisation_id
    assert labels.get(PROCESS) == "Dunning"
    assert await dunning.static_summary() == f"Dunning of invoice {failing}"
    assert (await dunning.memo()) == {
        "organisation_id": operator.organisation_id,
        "account_id": bad,
        "invoice_id": failing,
    }


async def run_collection(
    dev_env: WorkflowEnvironment, settings: Settings, operator: Tenant
) -> CollectionSummary:
    """A worker with the default activities (payments through localstripe) runs one collection."""
    queue_settings = settings.model_copy(update={"task_queue": f"collect-{uuid.uuid4().hex[:8]}"})
    async with build_worker(dev_env.client, queue_settings):
        return await dev_env.client.execute_workflow(
            CollectionWorkflow.run,
            CollectionInput(organisation_id=operator.organisation_id, batch_size=2),
            id=f"collection-{uuid.uuid4().hex[:8]}",
            task_queue=queue_settings.task_queue,
        )


def paying_env(stripe_url: str, pause: float) -> dict[str, str]:
    """A worker's environment for localstripe, pausing ``pause`` seconds between the charge and its record."""
    return {**stripe_env(stripe_url), "MULTIBILL_PAYMENTS_PAUSE_AFTER_GATEWAY_SECONDS": str(pause)}


async def test_a_worker_killed_after_the_charge_charges_once(
    pay_api: httpx.AsyncClient,
    pay_settings: Settings,
    operator: Tenant,
    localstripe: LocalStripe,
    database_url: str,
    dev_env: WorkflowEnvironment,
    tmp_path: Path,
) -> None:
    account = make_account(database_url, operator.organisation_id)
    assert (await add_card(pay_api, operator, account, localstripe)).status_code == 201
    invoice = make_invoice(database_url, account, FIBRE)
    key = f"{invoice}:attempt:1"
    queue = f"paykill-{uuid.uuid4().hex[:8]}"
    address = dev_env.client.service_client.config.target_host
    log = tmp_path / "worker.log"
    with worker_process(pay_settings, address, queue, log, **paying_env(localstripe.url, 120)) as first:
        handle = await dev_env.client.start_workflow(
            CollectionWorkflow.run,
            CollectionInput(organisation_id=operator.organisation_id, batch_size=10, heartbeat_seconds=5),
            id=f"collection-kill-{queue}",
            task_queue=queue,
        )
        await eventually_async(  # charged: the intent is created, its id stored, then confirmed
            lambda: asyncio.to_thread(localstripe.intents_with_key, key),
            until=lambda intents: [i["status"] for i in intents] == ["succeeded"],
            timeout=30,
            what=f"the payment intent of {key} succeeded",
        )
        first.send_signal(signal.SIGKILL)  # charged at Stripe, nothing recorded yet
        first.wait(timeout=10)
        assert len(localstripe.intents_with_key(key)) == 1, log.read_text()
        assert [
            p["status"]
            for p in rows(database_url, "select status from payments where idempotency_key = :k", k=key)
        ] == ["pending"]
        with worker_process(
            pay_settings, address, queue, log, **paying_env(localstripe.url, 0), graceful=True
        ):
            summary = await asyncio.wait_for(handle.result(), timeout=120)
    assert summary.counts == {"succeeded": 1}
    assert len(localstripe.intents_with_key(key)) == 1
    payments = rows(database_url, "select id, status from payments where invoice_id = :i", i=invoice)
    assert [p["status"] for p in payments] == ["succeeded"]
    assert postings(database_url, "payment", payments[0]["id"]) == [
        ("cash:stripe", 1210, 0),
        ("receivable", 0, 1210),
    ]
    assert (
        len(
            rows(
                database_url,
                "select id from ledger_entries where kind = 'payment' and account_id = :a",
                a=account,
            )
        )
        == 1
    )
    assert (await handle.describe()).status == WorkflowExecutionStatus.COMPLETED
