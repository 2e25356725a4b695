"""A billing dispute holds its invoice: Dunning (time-skipping server) takes no step while the hold stands,
and goes on with the ladder once the dispute is rejected."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from temporalio import activity
from temporalio.testing import WorkflowEnvironment

from activities.care import disputes
from activities.dunning.io import DunningInput
from domain import process_ids
from models.base import unit_of_work
from runtime.settings import Settings
from tests.support.billing_factory import Line, make_invoice
from tests.support.care_support import load_ticket, make_care, raise_ticket
from tests.support.onboarding_worker import worker_for
from workflows.dunning import DunningStatus, DunningWorkflow


class DecliningGateway:
    """Collection that always declines, counting the attempts."""

    def __init__(self) -> None:
        self.attempts: list[int] = []

    @activity.defn(name="next_collection_attempt")
    def next_attempt(self, invoice_id: str) -> int:
        return len(self.attempts) + 2  # the bill run's collection made attempt 1

    @activity.defn(name="collect_invoice")
    def collect(self, request: dict[str, Any]) -> dict[str, Any]:
        self.attempts.append(request["attempt"])
        return {"status": "declined", "payment_id": None, "decline_code": None}


async def test_dunning_waits_while_a_dispute_holds_the_invoice(
    time_skipping_env: WorkflowEnvironment, settings: Settings, database_url: str
) -> None:
    env = time_skipping_env
    care = make_care(database_url, action="billing_dispute")
    invoice_id = make_invoice(
        database_url,
        care.account_id,
        [Line("Fibre", 3100, "ES-standard", "21")],
        issue_date=date(2024, 1, 1),
        due_date=date(2024, 1, 15),
    )
    ticket = raise_ticket(database_url, care, invoice_id=invoice_id)
    with unit_of_work(database_url) as session:
        disputes.hold_invoice(session, care.principal, ticket.id)
    gateway = DecliningGateway()
    worker, queue, _ = worker_for(env, settings, gateway.collect, gateway.next_attempt)
    async with worker:
        handle = await env.client.start_workflow(
            DunningWorkflow.run,
            DunningInput(
                invoice_id=invoice_id, account_id=care.account_id, organisation_id=care.tenant.organisation_id
            ),
            id=process_ids.dunning(invoice_id),
            task_queue=queue.task_queue,
        )
        await env.sleep(timedelta(days=5))  # past the day-1 retry; before any notice (no e-mail is sent)
        held: DunningStatus = await handle.query(DunningWorkflow.status)
        attempts_while_held = list(gateway.attempts)
        with unit_of_work(database_url) as session:
            disputes.reject_dispute(session, care.principal, ticket.id, "The charge is right")
        await env.sleep(timedelta(days=2))  # the next daily read finds the hold released
        going: DunningStatus = await handle.query(DunningWorkflow.status)
        await handle.terminate("test over")
    assert (held.step, held.attempts, held.history) == ("on hold: billing dispute", 0, [])
    assert attempts_while_held == []
    # Released on day 5 and found at the next daily read: the day-1 retry runs; day 9 is still to come.
    assert going.history == ["day 1: retry"], going.history
    assert gateway.attempts == [2]
    assert going.step == "waiting for day 9"
    assert load_ticket(database_url, ticket.id).status == "resolved"
