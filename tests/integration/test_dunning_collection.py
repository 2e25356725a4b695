"""Collection and dunning number their attempts once per invoice, end to end with localstripe.

A bill-run collection declines (attempt 1) and starts Dunning; the customer adds a card that works (it
becomes the default) before the first retry: that retry is attempt 2 with its own idempotency key, so it
reaches the gateway, charges the new card, and dunning ends paid on day 1.
"""

from __future__ import annotations

import asyncio
import uuid

import httpx
from temporalio.testing import WorkflowEnvironment

from activities.payments.io import CollectionInput
from domain import process_ids
from runtime.settings import Settings
from runtime.worker import build_worker
from tests.support.billing_factory import Line, make_account, make_invoice
from tests.support.factories import Tenant
from tests.support.localstripe import DECLINED_ON_CHARGE, LocalStripe
from tests.support.payment_support import add_card, invoice_row, postings, rows
from workflows.collection import CollectionWorkflow
from workflows.dunning import DunningWorkflow

FIBRE = [Line("Fibra 600 Mb", 1000, kind="broadband")]  # 1000 + 21% = 1210


async def test_the_first_dunning_retry_charges_the_new_default_card(
    pay_api: httpx.AsyncClient,
    pay_settings: Settings,
    operator: Tenant,
    localstripe: LocalStripe,
    database_url: str,
    own_time_skipping_env: WorkflowEnvironment,
) -> None:
    time_skipping_env = own_time_skipping_env  # Dunning outlives its parent Collection
    account = make_account(database_url, operator.organisation_id)
    assert (await add_card(pay_api, operator, account, localstripe, DECLINED_ON_CHARGE)).status_code == 201
    invoice = make_invoice(database_url, account, FIBRE)
    queue = pay_settings.model_copy(update={"task_queue": f"dun-{uuid.uuid4().hex[:8]}"})
    client = time_skipping_env.client
    async with build_worker(client, queue):
        summary = await client.execute_workflow(
            CollectionWorkflow.run,
            CollectionInput(organisation_id=operator.organisation_id, batch_size=10),
            id=f"collection-{uuid.uuid4().hex[:8]}",
            task_queue=queue.task_queue,
        )
        assert summary.counts == {"declined": 1} and summary.dunning_started == [invoice]

        good = await add_card(pay_api, operator, account, localstripe)  # becomes the default
        assert good.status_code == 201 and good.json()["is_default"] is True
        handle = client.get_workflow_handle_for(DunningWorkflow.run, process_ids.dunning(invoice))
        async with time_skipping_env.time_skipping_unlocked():  # type: ignore[attr-defined]
            status = await asyncio.wait_for(handle.result(), timeout=120)
    assert (status.outcome, status.day, status.attempts) == ("paid", 1, 1)

    payments = rows(
        database_url,
        "select attempt, status, idempotency_key, method_id, decline_code from payments"
        " where invoice_id = :i order by attempt",
        i=invoice,
    )
    assert [(p["attempt"], p["status"], p["idempotency_key"]) for p in payments] == [
        (1, "failed", f"{invoice}:attempt:1"),
        (2, "succeeded", f"{invoice}:attempt:2"),
    ]
    assert payments[0]["decline_code"] == "card_declined"
    assert payments[1]["method_id"] == good.json()["id"]
    token = rows(database_url, "select gateway_token from payment_methods where id = :i", i=good.json()["id"])
    charged = localstripe.intents_with_key(f"{invoice}:attempt:2")
    assert [(i["status"], i["amount"], i["payment_method"]) for i in charged] == [
        ("succeeded", 1210, token[0]["gateway_token"])
    ]
    assert invoice_row(database_url, invoice) == {"status": "paid", "paid_minor": 1210, "total_minor": 1210}
    paid = rows(database_url, "select id from payments where idempotency_key = :k", k=f"{invoice}:attempt:2")
    assert postings(database_url, "payment", paid[0]["id"]) == [
        ("cash:stripe", 1210, 0),
        ("receivable", 0, 1210),
    ]
