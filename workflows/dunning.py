"""Dunning: walk the operator's ladder for one unpaid invoice until it is paid, or to the end.

Each step waits on a durable timer for its day (counted from the first failed collection); a
``payment_received`` signal ends the wait at once. Retries collect again with the invoice's next
attempt number, which an activity reads from the invoice's payments (so numbers are counted once per
invoice, across the bill run's collection, dunning and staff; each attempt has its own idempotency
key, and the history keeps the number for the collection's retries); suspensions and terminations run
as child SubscriptionAction processes; on payment, anything suspended is resumed at once. Collection
and Onboarding start it for an invoice whose collection failed (:func:`start_dunning`).
"""

from __future__ import annotations

import contextlib
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, Field
from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.dunning.io import DunningActivities, DunningInput, NoticeInput, ServiceActionInput
    from activities.payments.io import CollectInput, PaymentActivities
    from activities.subscriptions.io import ChangePlan
    from domain import process_ids
    from domain.dunning import Ladder
    from domain.process_ids import ProcessLabels
    from workflows.common import COLLECT_RETRY, PERSISTENT_RETRY, NextStep, ShowsStep, start_child
    from workflows.subscription_change import SubscriptionActionWorkflow

ATTEMPTS_FROM_INVOICE = "dunning-attempts-from-invoice"  # before: dunning counted its own from 1
# Before: only the payment_received signal ended a wait, so a signal lost on the way (Temporal not answering
# the API) left a paid invoice in dunning until its next step. Now a wait is cut in slices of at most a day
# and the invoice is read after each slice.
RECHECKS_INVOICE = "dunning-rechecks-invoice-daily"
RECHECK_EVERY = timedelta(days=1)
# Before: a step ran on its day whatever happened to the invoice. Now an invoice a billing dispute holds
# (a ticket, activities/care/disputes.py) waits before each step, re-read daily, until the hold ends.
WAITS_WHILE_HELD = "dunning-waits-while-invoice-held"


class DunningStatus(BaseModel):
    process: str = "Dunning"
    invoice_id: str
    step: str
    day: int
    attempts: int
    suspended: bool
    outcome: str | None = None
    history: list[str]
    next: list[NextStep] = Field(default_factory=list)


@workflow.defn(name="Dunning")
class DunningWorkflow(ShowsStep):
    def __init__(self) -> None:
        self._invoice_id = ""
        self._step = "starting"
        self._ladder: Ladder | None = None
        self._started: datetime | None = None
        self._waiting_for: int | None = None
        self._day = 0
        self._attempts = 0
        self._paid = False
        self._suspended = False
        self._outcome: str | None = None
        self._history: list[str] = []

    @workflow.run
    async def run(self, request: DunningInput) -> DunningStatus:
        self._invoice_id = request.invoice_id
        self._describe(f"Dunning of invoice {request.invoice_id}")
        ladder: Ladder = request.ladder or await self._activity(
            DunningActivities.ladder, request.organisation_id
        )
        state = await self._activity(DunningActivities.invoice_state, request.invoice_id)
        if state.open_minor <= 0:
            return self._finish("paid")
        started = workflow.now()
        self._ladder, self._started = ladder, started
        for step in ladder.steps:
            self._step = f"waiting for day {step.day}"
            self._waiting_for = step.day
            await self._wait_until(started + timedelta(days=step.day), request.invoice_id)
            if not self._paid:
                await self._while_held(request.invoice_id)
            self._waiting_for = None
            if self._paid:
                break
            self._day = step.day
            for action in step.actions:
                await self._act(action, request)
                if self._paid or self._outcome == "written_off":
                    break
            if self._paid or self._outcome == "written_off":
                break
        if self._paid:
            if self._suspended:
                await self._services(request, "resume", "payment received")
            return self._finish("paid")
        return self._finish(self._outcome or "exhausted")

    async def _wait_until(self, when: datetime, invoice_id: str) -> None:
        """Wait for a step's day; a payment (signalled, or found paid at a daily check) ends the wait."""
        if not workflow.patched(RECHECKS_INVOICE):
            wait = when - workflow.now()
            if wait > timedelta(0):
                with contextlib.suppress(TimeoutError):
                    await workflow.wait_condition(lambda: self._paid, timeout=wait)
            return
        while not self._paid:
            wait = when - workflow.now()
            if wait > timedelta(0):
                with contextlib.suppress(TimeoutError):
                    await workflow.wait_condition(lambda: self._paid, timeout=min(wait, RECHECK_EVERY))
                if self._paid:
                    return
            state = await self._activity(DunningActivities.invoice_state, invoice_id)
            if state.open_minor <= 0:
                self._paid = True
            if workflow.now() >= when:
                return

    async def _while_held(self, invoice_id: str) -> None:
        """Before a step: wait while a billing dispute holds the invoice (read daily; a payment ends it)."""
        if not workflow.patched(WAITS_WHILE_HELD):
            return
        while not self._paid:
            state = await self._activity(DunningActivities.invoice_state, invoice_id)
            if state.open_minor <= 0:
                self._paid = True
                return
            if not state.on_hold:
                return
            self._step = "on hold: billing dispute"
            with contextlib.suppress(TimeoutError):
                await workflow.wait_condition(lambda: self._paid, timeout=RECHECK_EVERY)

    async def _act(self, action: str, request: DunningInput) -> None:
        self._step = action
        self._history.append(f"day {self._day}: {action}")
        if action == "retry":
            self._attempts += 1
            attempt = self._attempts
            if workflow.patched(ATTEMPTS_FROM_INVOICE):
                attempt = await workflow.execute_activity_method(
                    PaymentActivities.next_collection_attempt,
                    request.invoice_id,
                    start_to_close_timeout=timedelta(seconds=60),
                    retry_policy=PERSISTENT_RETRY,
                )
            try:
                result = await workflow.execute_activity_method(
                    PaymentActivities.collect_invoice,
                    CollectInput(invoice_id=request.invoice_id, attempt=attempt),
                    start_to_close_timeout=timedelta(minutes=2),
                    retry_policy=COLLECT_RETRY,
                )
            except ActivityError as err:
                self._history.append(f"day {self._day}: collection error {err.cause or err}")
                return
            if result.status == "succeeded":
                self._paid = True
        elif action.startswith("notice:"):
            await self._activity(
                DunningActivities.send_notice,
                NoticeInput(
                    invoice_id=request.invoice_id,
                    kind=action.split(":", 1)[1],
                    process_id=workflow.info().workflow_id,
                ),
            )
        elif action in ("suspend", "terminate"):
            await self._services(request, action, f"dunning of invoice {request.invoice_id}")
            self._suspended = self._suspended or action == "suspend"
        elif action == "write_off":
            await self._activity(DunningActivities.write_off, request.invoice_id)
            self._outcome = "written_off"

    async def _services(self, request: DunningInput, action: str, reason: str) -> None:
        plans: list[ChangePlan] = await self._activity(
            DunningActivities.plan_service_actions,
            ServiceActionInput(
                account_id=request.account_id,
                action=action,
                process_id=workflow.info().workflow_id,
                reason=reason,
                invoice_id=request.invoice_id,
            ),
        )
        for plan in plans:
            child = await start_child(
                SubscriptionActionWorkflow.run,
                plan,
                id=plan.process_id,
                labels=ProcessLabels(
                    process=process_ids.action_process(plan.action),
                    summary=f"{plan.action.capitalize()} of {plan.subscription_id}: {reason}",
                    organisation_id=request.organisation_id,
                    account_id=request.account_id,
                    subscription_id=plan.subscription_id,
                    invoice_id=request.invoice_id,
                ),
            )
            await child
        if action == "resume":
            self._suspended = False

    async def _activity(self, fn: Any, arg: Any) -> Any:
        return await workflow.execute_activity_method(
            fn, arg, start_to_close_timeout=timedelta(seconds=60), retry_policy=PERSISTENT_RETRY
        )

    def _finish(self, outcome: str) -> DunningStatus:
        self._outcome, self._step = outcome, outcome
        return self.status()

    @workflow.signal(name="payment_received")
    def payment_received(self) -> None:
        """The invoice was paid (by any means): stop dunning and resume what was suspended."""
        self._paid = True

    @workflow.query(name="status")
    def status(self) -> DunningStatus:
        return DunningStatus(
            invoice_id=self._invoice_id,
            step=self._step,
            day=self._day,
            attempts=self._attempts,
            suspended=self._suspended,
            outcome=self._outcome,
            history=list(self._history),
            next=self._coming(),
        )

    def _coming(self) -> list[NextStep]:
        """The dated plan of the ladder's steps still to come (none once dunning has ended)."""
        if self._ladder is None or self._started is None or self._outcome is not None or self._paid:
            return []
        started = self._started
        return [
            NextStep(at=started + timedelta(days=step.day), what=f"day {step.day}: {', '.join(step.actions)}")
            for step in self._ladder.steps
            if (step.day >= self._waiting_for if self._waiting_for is not None else step.day > self._day)
        ]


async def start_dunning(invoice_id: str, account_id: str, organisation_id: str) -> None:
    """From a parent workflow: the Dunning of an invoice whose collection failed, labelled by invoice.

    Raises ``WorkflowAlreadyStartedError`` when the invoice is already in dunning.
    """
    await start_child(
        DunningWorkflow.run,
        DunningInput(invoice_id=invoice_id, account_id=account_id, organisation_id=organisation_id),
        id=process_ids.dunning(invoice_id),
        labels=ProcessLabels(
            process="Dunning",
            summary=f"Dunning of invoice {invoice_id}",
            organisation_id=organisation_id,
            account_id=account_id,
            invoice_id=invoice_id,
        ),
    )
