"""Dunning on the time-skipping server: retries at +1, +9, +13 and +20 days with a warning, a
suspension and a termination; a payment stops it and resumes the services at once."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from temporalio import activity
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from activities.dunning.io import DunningInput
from activities.subscriptions import records as store
from domain import process_ids
from domain.principal import Principal
from models.base import engine_for, unit_of_work
from runtime.settings import Settings
from tests.support.billing_factory import Line, make_invoice
from tests.support.onboarding_worker import onboarding_input, worker_for
from tests.support.smtp import SmtpSink
from tests.support.subscription_support import Shop
from workflows.common import ACCOUNT_ID, INVOICE_ID, ORGANISATION_ID, PROCESS, SUBSCRIPTION_ID
from workflows.dunning import DunningWorkflow
from workflows.onboarding import OnboardingWorkflow


@dataclass
class Gateway:
    """Collection that declines until told to succeed at an attempt; ``earlier`` attempts were made
    before dunning started (the bill run's collection)."""

    succeed_at: int | None = None
    earlier: int = 0
    attempts: list[tuple[str, int]] = field(default_factory=list)

    @activity.defn(name="next_collection_attempt")
    def next_attempt(self, invoice_id: str) -> int:
        return self.earlier + sum(1 for i, _ in self.attempts if i == invoice_id) + 1

    @activity.defn(name="collect_invoice")
    def collect(self, request: dict[str, Any]) -> dict[str, Any]:
        self.attempts.append((request["invoice_id"], request["attempt"]))
        ok = self.succeed_at is not None and request["attempt"] >= self.succeed_at
        return {"status": "succeeded" if ok else "declined", "payment_id": None, "decline_code": None}


def build(env: WorkflowEnvironment, settings: Settings, gateway: Gateway) -> tuple[Any, Settings, Any]:
    return worker_for(env, settings, gateway.collect, gateway.next_attempt)


def invoice_number(database_url: str, invoice_id: str) -> str:
    with engine_for(database_url).connect() as conn:
        return str(
            conn.execute(sa.text("select number from invoices where id=:i"), {"i": invoice_id}).scalar_one()
        )


def invoice_for(database_url: str, account_id: str) -> str:
    return make_invoice(
        database_url,
        account_id,
        [Line("Fibre", 3100, "ES-standard", "21")],
        issue_date=date(2024, 1, 1),
        due_date=date(2024, 1, 15),
    )


async def test_the_ladder_retries_warns_suspends_terminates_and_writes_off(
    time_skipping_env: WorkflowEnvironment,
    settings: Settings,
    database_url: str,
    smtp_server: SmtpSink,
    onboarding_shop: tuple[Shop, Principal],
) -> None:
    made, principal = onboarding_shop
    gateway = Gateway(earlier=1)  # the bill run's collection declined attempt 1
    already = len(smtp_server.messages)  # the sink is shared: invoice numbers repeat across tenants
    worker, queue, adapter = build(time_skipping_env, settings, gateway)
    order = onboarding_input(database_url, made, principal, made.cheap)
    async with worker:
        await time_skipping_env.client.execute_workflow(
            OnboardingWorkflow.run, order, id=order.process_id, task_queue=queue.task_queue
        )
        invoice_id = invoice_for(database_url, order.account_id)
        result = await time_skipping_env.client.execute_workflow(
            DunningWorkflow.run,
            DunningInput(
                invoice_id=invoice_id, account_id=order.account_id, organisation_id=order.organisation_id
            ),
            id=process_ids.dunning(invoice_id),
            task_queue=queue.task_queue,
        )
        suspension = time_skipping_env.client.get_workflow_handle(
            process_ids.service_action(process_ids.dunning(invoice_id), "suspend", order.subscription_id)
        )
        described = await suspension.describe()  # the child is found by invoice, account and subscription
    assert described.typed_search_attributes.get(PROCESS) == "SubscriptionSuspend"
    assert described.typed_search_attributes.get(INVOICE_ID) == invoice_id
    assert described.typed_search_attributes.get(ACCOUNT_ID) == order.account_id
    assert described.typed_search_attributes.get(SUBSCRIPTION_ID) == order.subscription_id
    assert described.typed_search_attributes.get(ORGANISATION_ID) == order.organisation_id
    assert await described.static_summary() == (
        f"Suspend of {order.subscription_id}: dunning of invoice {invoice_id}"
    )
    assert result.outcome == "written_off" and result.attempts == 4
    assert [a for _, a in gateway.attempts] == [2, 3, 4, 5]  # numbered after the bill run's attempt
    assert [h for h in result.history if not h.endswith("retry")] == [
        "day 9: notice:reminder",
        "day 13: notice:warning",
        "day 20: suspend",
        "day 40: notice:final",
        "day 40: terminate",
        "day 60: write_off",
    ]
    assert [h.split(":")[0] for h in result.history if h.endswith("retry")] == [
        "day 1",
        "day 9",
        "day 13",
        "day 20",
    ]
    with unit_of_work(database_url) as session:
        sub = store.load(session, order.subscription_id)
        assert sub.status == "terminated"
    assert [a for a, _ in adapter.actions()] == ["activate", "suspend", "terminate"]
    with engine_for(database_url).connect() as conn:
        status = conn.execute(
            sa.text("select status from invoices where id=:i"), {"i": invoice_id}
        ).scalar_one()
        bad_debt = conn.execute(
            sa.text(
                "select p.debit_minor from ledger_postings p join ledger_entries e on e.id = p.entry_id "
                "where e.source_id = :i and e.kind = 'write_off' and p.ledger_account = 'bad_debt'"
            ),
            {"i": invoice_id},
        ).scalar_one()
    assert status == "written_off" and bad_debt == 3751
    subjects = [
        m["Subject"]
        for m in smtp_server.messages[already:]
        if invoice_number(database_url, invoice_id) in m["Subject"]
    ]
    assert [s.split(":")[0] for s in subjects] == ["Reminder", "Warning", "Final notice"]
    with engine_for(database_url).connect() as conn:
        steps = conn.execute(
            sa.text(
                "select data->>'step' from business_events where type = 'dunning.step' and object_id = :i "
                "order by id"
            ),
            {"i": invoice_id},
        ).scalars()
        assert list(steps) == [
            "notice:reminder",
            "notice:warning",
            "suspend",
            "notice:final",
            "terminate",
            "write_off",
        ]


async def paid_after_suspension(
    env: WorkflowEnvironment,
    settings: Settings,
    database_url: str,
    onboarding_shop: tuple[Shop, Principal],
    pay: Callable[[WorkflowHandle[Any, Any], str], Awaitable[None]],
) -> tuple[Any, Any, Any]:
    """A Dunning past its suspension (day 25) whose invoice ``pay`` then pays: (result, order, adapter)."""
    made, principal = onboarding_shop
    worker, queue, adapter = build(env, settings, Gateway())
    order = onboarding_input(database_url, made, principal, made.cheap)
    async with worker:
        await env.client.execute_workflow(
            OnboardingWorkflow.run, order, id=order.process_id, task_queue=queue.task_queue
        )
        invoice_id = invoice_for(database_url, order.account_id)
        handle = await env.client.start_workflow(
            DunningWorkflow.run,
            DunningInput(
                invoice_id=invoice_id, account_id=order.account_id, organisation_id=order.organisation_id
            ),
            id=process_ids.dunning(invoice_id),
            task_queue=queue.task_queue,
        )
        await env.sleep(timedelta(days=25))
        assert (await handle.query(DunningWorkflow.status)).suspended
        await pay(handle, invoice_id)
        return await handle.result(), order, adapter


async def test_a_payment_stops_dunning_and_resumes_services(
    time_skipping_env: WorkflowEnvironment,
    settings: Settings,
    database_url: str,
    onboarding_shop: tuple[Shop, Principal],
) -> None:
    async def signal(handle: WorkflowHandle[Any, Any], invoice_id: str) -> None:
        await handle.signal(DunningWorkflow.payment_received)

    result, order, adapter = await paid_after_suspension(
        time_skipping_env, settings, database_url, onboarding_shop, signal
    )
    assert result.outcome == "paid" and not result.suspended
    with unit_of_work(database_url) as session:
        assert store.load(session, order.subscription_id).status == "active"
    assert [a for a, _ in adapter.actions()] == ["activate", "suspend", "resume"]


async def test_a_paid_invoice_whose_signal_was_lost_ends_dunning_at_the_next_daily_check(
    time_skipping_env: WorkflowEnvironment,
    settings: Settings,
    database_url: str,
    onboarding_shop: tuple[Shop, Principal],
) -> None:
    """The API could not tell the Dunning (Temporal did not answer): the invoice read each day stops it."""

    async def paid_unsaid(handle: WorkflowHandle[Any, Any], invoice_id: str) -> None:
        with engine_for(database_url).begin() as conn:  # paid, and nobody signals the process
            conn.execute(
                sa.text("update invoices set paid_minor = total_minor, status = 'paid' where id = :i"),
                {"i": invoice_id},
            )

    result, _, adapter = await paid_after_suspension(
        time_skipping_env, settings, database_url, onboarding_shop, paid_unsaid
    )
    assert result.outcome == "paid" and not result.suspended
    assert not [h for h in result.history if h.startswith(("day 40", "day 60"))], result.history
    assert [a for a, _ in adapter.actions()] == ["activate", "suspend", "resume"]
