"""Webhook delivery: the WebhookRelay turns new business events into deliveries and starts (or wakes)
the WebhookSender of each endpoint with deliveries due; a sender sends its endpoint's due deliveries in
batches, each object's oldest pending one only (so an object's events arrive in order), retrying a failed
one with a growing wait for up to three days while the other objects go on.

The relay is one durable process for the platform (started with the worker); it pauses between
rounds and continues as new every ``rounds_per_run`` rounds (or when Temporal suggests it), carrying its
cursor. WebhookDelivery (one object at a time) is what the relay started before the senders: kept so
the processes already running finish and their histories replay.
"""

from __future__ import annotations

import contextlib
from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import WorkflowAlreadyStartedError

with workflow.unsafe.imports_passed_through():
    from activities.webhooks.io import (
        AttemptInput,
        DueEndpoint,
        DueObject,
        GiveUpInput,
        RelayInput,
        SendInput,
        WebhookActivities,
    )
    from domain import process_ids
    from domain.process_ids import ProcessLabels
    from domain.webhooks import DELIVERY_WINDOW, retry_delay
    from workflows.common import DB_RETRY, show_details, start_child

DB_STEP = timedelta(minutes=1)
ATTEMPT_TIMEOUT = timedelta(minutes=1)
DELIVERIES_PER_RUN = 50
FAN_OUT_PAGES_PER_ROUND = 20
# Before: the relay started a WebhookDelivery per (endpoint, object) with deliveries due, each sending one
# event at a time with three activities: a few deliveries a second in all (bench/webhooks.py). Now it wakes
# one WebhookSender per endpoint, which sends the endpoint's due deliveries in batches, and the relay
# continues as new as soon as Temporal suggests it.
RELAY_WAKES_SENDERS = "webhook-relay-wakes-senders"
SEND_STEP = timedelta(minutes=5)
SENDER_ROUNDS_PER_RUN = 500
IDLE_PAUSE = timedelta(seconds=1)


@workflow.defn(name="WebhookSender")
class WebhookSenderWorkflow:
    """Send one endpoint's due deliveries in batches until none is pending (each object's events in
    order; a failed one again after its backoff, for up to three days); how many were delivered. The
    relay wakes it (``deliveries_due``) when new deliveries are due while it waits for a retry."""

    def __init__(self) -> None:
        self._woken = False

    @workflow.run
    async def run(self, due: DueEndpoint) -> int:
        delivered = 0
        for _ in range(SENDER_ROUNDS_PER_RUN):
            self._woken = False
            sent = await workflow.execute_activity_method(
                WebhookActivities.send_due,
                SendInput(endpoint_id=due.endpoint_id, at=workflow.now()),
                start_to_close_timeout=SEND_STEP,  # 200 POSTs, 16 at a time, 10 s each at worst: ~2 min
                retry_policy=DB_RETRY,
            )
            delivered += sent.delivered
            if sent.endpoint_disabled or sent.next_due_at is None:
                return delivered
            if workflow.info().is_continue_as_new_suggested():
                break
            if sent.full:
                continue
            wait = max(sent.next_due_at - workflow.now(), IDLE_PAUSE if sent.sent == 0 else timedelta(0))
            if wait > timedelta(0):
                with contextlib.suppress(TimeoutError):
                    await workflow.wait_condition(lambda: self._woken, timeout=wait)
        workflow.continue_as_new(due)

    @workflow.signal(name="deliveries_due")
    def deliveries_due(self) -> None:
        """New deliveries are due: stop waiting for the next retry and send."""
        self._woken = True


@workflow.defn(name="WebhookDelivery")
class WebhookDeliveryWorkflow:
    """Deliver one object's pending events to one endpoint, in order; how many were delivered."""

    @workflow.run
    async def run(self, due: DueObject) -> int:
        show_details(f"Webhooks of {due.object_id} to endpoint {due.endpoint_id}", "delivering")
        delivered = 0
        for _ in range(DELIVERIES_PER_RUN):
            found = await workflow.execute_activity_method(
                WebhookActivities.next_delivery, due, start_to_close_timeout=DB_STEP, retry_policy=DB_RETRY
            )
            if found is None:
                return delivered
            if await self._deliver(found.delivery_id):
                delivered += 1
        workflow.continue_as_new(due)

    async def _deliver(self, delivery_id: str) -> bool:
        """Attempt until delivered, skipped (endpoint disabled, delivery closed) or the window is over."""
        started = workflow.now()
        failures = 0
        while True:
            now = workflow.now()
            remaining = started + DELIVERY_WINDOW - now
            delay = min(retry_delay(failures + 1), max(remaining, timedelta(0)))
            result = await workflow.execute_activity_method(
                WebhookActivities.attempt,
                AttemptInput(delivery_id=delivery_id, at=now, retry_at=now + delay),
                start_to_close_timeout=ATTEMPT_TIMEOUT,
                retry_policy=DB_RETRY,
            )
            if result.delivered or result.skipped:
                return result.delivered
            failures += 1
            if remaining <= timedelta(0):  # the last attempt was at the end of the window
                await workflow.execute_activity_method(
                    WebhookActivities.give_up,
                    GiveUpInput(delivery_id=delivery_id, at=now),
                    start_to_close_timeout=DB_STEP,
                    retry_policy=DB_RETRY,
                )
                return False
            await workflow.sleep(delay)


@workflow.defn(name="WebhookRelay")
class WebhookRelayWorkflow:
    """Fan events out into deliveries and start a WebhookDelivery for each object with some due."""

    @workflow.run
    async def run(self, state: RelayInput) -> None:
        show_details("Webhook relay", "fanning business events out to endpoints")
        cursor = state.cursor
        for _ in range(state.rounds_per_run):
            for _page in range(FAN_OUT_PAGES_PER_ROUND):
                fanned = await workflow.execute_activity_method(
                    WebhookActivities.fan_out, cursor, start_to_close_timeout=DB_STEP, retry_policy=DB_RETRY
                )
                cursor = fanned.cursor
                if not fanned.full:
                    break
            if workflow.patched(RELAY_WAKES_SENDERS):
                endpoints = await workflow.execute_activity_method(
                    WebhookActivities.due_endpoints,
                    workflow.now(),
                    start_to_close_timeout=DB_STEP,
                    retry_policy=DB_RETRY,
                )
                for endpoint in endpoints:
                    await self._wake_sender(endpoint)
                if workflow.info().is_continue_as_new_suggested():
                    break
            else:
                due = await workflow.execute_activity_method(
                    WebhookActivities.due_objects,
                    workflow.now(),
                    start_to_close_timeout=DB_STEP,
                    retry_policy=DB_RETRY,
                )
                for item in due:
                    await self._start_delivery(item)
            await workflow.sleep(timedelta(seconds=state.interval_s))
        workflow.continue_as_new(state.model_copy(update={"cursor": cursor}))

    async def _wake_sender(self, due: DueEndpoint) -> None:
        """Start the endpoint's WebhookSender, or tell the running one that deliveries are due."""
        process_id = process_ids.webhook_sender(due.endpoint_id)
        labels = ProcessLabels(
            process="WebhookSender",
            summary=f"Webhooks to endpoint {due.endpoint_id}",
            organisation_id=due.organisation_id,
            memo_extra={"endpoint_id": due.endpoint_id},
        )
        try:
            await start_child(WebhookSenderWorkflow.run, due, id=process_id, labels=labels)
        except WorkflowAlreadyStartedError:
            # It may end before the signal lands: then the next round starts it again.
            with contextlib.suppress(Exception):
                await workflow.get_external_workflow_handle(process_id).signal(
                    WebhookSenderWorkflow.deliveries_due
                )

    async def _start_delivery(self, due: DueObject) -> None:
        labels = ProcessLabels(
            process="WebhookDelivery",
            summary=f"Webhooks of {due.object_id} to endpoint {due.endpoint_id}",
            organisation_id=due.organisation_id,
            memo_extra={"endpoint_id": due.endpoint_id, "object_id": due.object_id},
        )
        # A running one (WorkflowAlreadyStartedError) takes the object's new deliveries too.
        with contextlib.suppress(WorkflowAlreadyStartedError):
            await start_child(
                WebhookDeliveryWorkflow.run,
                due,
                id=process_ids.webhook_delivery(due.endpoint_id, due.object_id),
                labels=labels,
            )
