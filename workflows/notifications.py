"""Notification delivery: the NotificationRelay turns new business events into messages (rendered from
the operator's templates, suppressed by the subscriber's choices, held back by quiet hours) and sends the
due ones in batches; a message whose send failed for a while is due again after its back-off, so the
relay is the durable process that retries it (never a second time once it may have gone:
activities/notifications/sending.py).

One relay for the platform (started with the worker, like the WebhookRelay); it pauses between rounds
and continues as new every ``rounds_per_run`` rounds or when Temporal suggests it, carrying its cursor.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.notifications.io import (
        FanOutInput,
        NotificationActivities,
        NotifyRelayInput,
        SendDueInput,
    )
    from workflows.common import DB_RETRY, show_details

DB_STEP = timedelta(minutes=1)
SEND_STEP = timedelta(minutes=5)  # 100 messages, an SMTP connection each: well under the sending lease
FAN_OUT_PAGES_PER_ROUND = 20
SEND_BATCHES_PER_ROUND = 20


@workflow.defn(name="NotificationRelay")
class NotificationRelayWorkflow:
    """Turn business events into messages and send the due ones, round after round."""

    @workflow.run
    async def run(self, state: NotifyRelayInput) -> None:
        show_details("Notification relay", "turning business events into messages and sending them")
        cursor = state.cursor
        for _ in range(state.rounds_per_run):
            for _page in range(FAN_OUT_PAGES_PER_ROUND):
                fanned = await workflow.execute_activity_method(
                    NotificationActivities.fan_out,
                    FanOutInput(cursor=cursor, at=workflow.now()),
                    start_to_close_timeout=DB_STEP,
                    retry_policy=DB_RETRY,
                )
                cursor = fanned.cursor
                if not fanned.full:
                    break
            for _batch in range(SEND_BATCHES_PER_ROUND):
                sent = await workflow.execute_activity_method(
                    NotificationActivities.send_due,
                    SendDueInput(at=workflow.now()),
                    start_to_close_timeout=SEND_STEP,
                    retry_policy=DB_RETRY,
                )
                if not sent.full:
                    break
            if workflow.info().is_continue_as_new_suggested():
                break
            await workflow.sleep(timedelta(seconds=state.interval_s))
        workflow.continue_as_new(state.model_copy(update={"cursor": cursor}))
