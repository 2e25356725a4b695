"""The NotificationRelay on the time-skipping server: it turns a new event into a message, sends it
through a real SMTP server that refuses it once, sends it again after its back-off (once only), and
continues as new after its rounds carrying its cursor."""

from __future__ import annotations

import asyncio
import uuid
from concurrent.futures import ThreadPoolExecutor

from temporalio.client import WorkflowExecutionDescription, WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment

from activities.notifications.io import NotifyRelayInput
from domain import process_ids
from models.notifications import NotificationMessage
from runtime.settings import Settings
from runtime.worker import ACTIVITY_THREADS, build_worker
from tests.support.billing_factory import MIXED_LINES, make_account, make_invoice
from tests.support.eventually import eventually_async
from tests.support.factories import make_operator
from tests.support.notification_support import (
    FlakySink,
    engine,
    flaky_smtp,
    messages_of,
    record_invoice_issued,
    start_cursor,
)
from workflows.notifications import NotificationRelayWorkflow

__all__ = ["flaky_smtp"]


async def test_the_relay_sends_retries_once_and_continues_as_new(
    own_time_skipping_env: WorkflowEnvironment, settings: Settings, flaky_smtp: FlakySink
) -> None:
    url = settings.database_url or ""
    operator = make_operator(url)
    email = f"relay.{uuid.uuid4().hex[:8]}@example.com"
    account = make_account(url, operator.organisation_id, email=email)
    invoice = make_invoice(url, account, MIXED_LINES)
    flaky_smtp.refuse, flaky_smtp.refuse_to = 1, {email}
    queue = settings.model_copy(update={"task_queue": f"notify-{uuid.uuid4().hex[:8]}"})
    client = own_time_skipping_env.client
    with ThreadPoolExecutor(max_workers=ACTIVITY_THREADS) as pool:
        async with build_worker(
            client, queue, activity_executor=pool, activities=engine(queue, flaky_smtp).all()
        ):
            relay = await client.start_workflow(
                NotificationRelayWorkflow.run,
                NotifyRelayInput(cursor=start_cursor(), interval_s=60, rounds_per_run=4),
                id=f"{process_ids.NOTIFICATION_RELAY}-{uuid.uuid4().hex[:8]}",
                task_queue=queue.task_queue,
            )
            try:
                event = await asyncio.to_thread(record_invoice_issued, url, invoice)

                async def a_minute_later() -> list[NotificationMessage]:
                    await own_time_skipping_env.sleep(61)  # the relay's pause between rounds
                    return await asyncio.to_thread(messages_of, url, event)

                await eventually_async(
                    a_minute_later,
                    until=lambda found: [m.status for m in found] == ["sent"],
                    timeout=60,
                    what="the invoice email sent by the relay after one refusal",
                )
                first_run = client.get_workflow_handle(relay.id, run_id=relay.result_run_id)

                async def described() -> WorkflowExecutionDescription:
                    await own_time_skipping_env.sleep(61)
                    return await first_run.describe()

                await eventually_async(
                    described,
                    until=lambda run: run.status == WorkflowExecutionStatus.CONTINUED_AS_NEW,
                    timeout=60,
                    what="the relay continued as new after its rounds",
                )
            finally:
                await relay.terminate("test over")
    [message] = messages_of(url, event)
    assert (message.attempts, flaky_smtp.refused) == (2, 1)
    assert len(flaky_smtp.to(message.recipient or "")) == 1
