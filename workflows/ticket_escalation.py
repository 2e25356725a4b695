"""TicketEscalation: the SLA clocks of one ticket, from its creation until it is closed.

The clocks (first response and resolution, in business time of the category's calendar) run while the
ticket is new or open, and stand still while it waits on the customer or is resolved. The workflow keeps
the business seconds used (``elapsed``) and sleeps on a durable timer until the next milestone of the
category's policy: a warning (at ``warn_percent``), the breach (100%), then each escalation level
(re-prioritise, move to the next queue, tell the supervisor). The instant of a milestone is computed by an
activity from the calendar (``business_deadline``), the time used by another (``business_seconds``), so
the workflow itself only reads ``workflow.now()``.

A ``ticket_changed`` signal (sent by the API after every change) wakes it; it then reads the ticket (so a
lost signal is caught up at the daily recheck). A reopened ticket re-arms the clocks: ``elapsed`` starts
from zero and the milestones can be reached again (their history keys carry the reopen count).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, Field
from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.care.io import (
        CareActivities,
        DeadlineInput,
        EscalationInput,
        MeasureInput,
        MilestoneReached,
        TicketClock,
    )
    from domain.care import Milestone, Target, TicketStatus, budget_at
    from workflows.common import DB_RETRY, NextStep, ShowsStep

PROCESS = "TicketEscalation"
RECHECK_EVERY = timedelta(days=1)
RUNNING = (TicketStatus.NEW.value, TicketStatus.OPEN.value)


class EscalationStatus(BaseModel):
    process: str = PROCESS
    ticket_id: str
    step: str
    ticket_status: str
    elapsed_seconds: int
    arm: int
    reached: list[str] = Field(default_factory=list)
    next: list[NextStep] = Field(default_factory=list)


@workflow.defn(name=PROCESS)
class TicketEscalationWorkflow(ShowsStep):
    def __init__(self) -> None:
        self._ticket_id = ""
        self._step = "starting"
        self._status = TicketStatus.NEW.value
        self._changes = 0
        self._seen = 0
        self._elapsed = 0
        self._arm = 0
        self._reached: list[str] = []
        self._next: NextStep | None = None

    @workflow.run
    async def run(self, request: EscalationInput) -> EscalationStatus:
        self._ticket_id = request.ticket_id
        self._describe(f"SLA of ticket {request.ticket_id}")
        clock = await self._read(request.ticket_id)
        self._arm = clock.reopens
        while clock.status != TicketStatus.CLOSED:
            self._status = clock.status
            if clock.reopens != self._arm:
                self._arm, self._elapsed = clock.reopens, 0
            pending = self._pending(clock)
            if clock.status in RUNNING and pending:
                await self._run_clock(clock, pending)
            else:
                self._step = (
                    "clock running, nothing due" if clock.status in RUNNING else f"paused: {clock.status}"
                )
                self._next = None
                await self._wait_for_change(workflow.now() + RECHECK_EVERY)
            clock = await self._read(request.ticket_id)
        self._status = clock.status
        self._step, self._next = "closed", None
        return self.status()

    async def _read(self, ticket_id: str) -> TicketClock:
        self._seen = self._changes  # a signal from now on wakes the next wait
        clock: TicketClock = await self._activity(CareActivities.ticket_clock, ticket_id)
        return clock

    def _pending(self, clock: TicketClock) -> list[tuple[int, Milestone]]:
        """The milestones not yet reached on this arm, by the business seconds at which they fall."""
        found = []
        for milestone in clock.milestones:
            if milestone.target == Target.FIRST_RESPONSE and (clock.responded or self._arm > 0):
                continue
            if f"{self._arm}:{milestone.key}" in self._reached:
                continue
            budget = (
                clock.first_response_seconds
                if milestone.target == Target.FIRST_RESPONSE
                else clock.resolution_seconds
            )
            found.append((budget_at(budget, milestone.percent), milestone))
        return sorted(found, key=lambda pair: pair[0])

    async def _run_clock(self, clock: TicketClock, pending: list[tuple[int, Milestone]]) -> None:
        threshold, first = pending[0]
        start = workflow.now()
        due: datetime = await self._activity(
            CareActivities.business_deadline,
            DeadlineInput(
                calendar_id=clock.calendar_id, start=start, seconds=max(0, threshold - self._elapsed)
            ),
        )
        self._step = f"clock running: next {first.target} {first.kind}"
        self._next = NextStep(at=due, what=f"{first.target} {first.kind} ({first.percent}%)")
        woken = await self._wait_for_change(min(due, start + RECHECK_EVERY))
        if not woken and workflow.now() >= due:
            self._elapsed = max(self._elapsed, threshold)
            for at_seconds, milestone in pending:
                if at_seconds <= self._elapsed:
                    await self._reach(clock, milestone)
            return
        used: int = await self._activity(
            CareActivities.business_seconds,
            MeasureInput(calendar_id=clock.calendar_id, start=start, end=workflow.now()),
        )
        self._elapsed += used

    async def _reach(self, clock: TicketClock, milestone: Milestone) -> None:
        self._step = f"{milestone.target} {milestone.kind}"
        await self._activity(
            CareActivities.reach_milestone,
            MilestoneReached(
                ticket_id=clock.ticket_id, milestone=milestone, arm=self._arm, at=workflow.now()
            ),
        )
        self._reached.append(f"{self._arm}:{milestone.key}")

    async def _wait_for_change(self, until: datetime) -> bool:
        """Sleep until ``until`` or a ``ticket_changed`` since the ticket was read; whether one came."""
        seen = self._seen
        wait = until - workflow.now()
        if wait <= timedelta(0):
            return self._changes != seen
        try:
            await workflow.wait_condition(lambda: self._changes != seen, timeout=wait)
        except TimeoutError:
            return False
        return True

    async def _activity(self, fn: Any, arg: Any) -> Any:
        return await workflow.execute_activity_method(
            fn, arg, start_to_close_timeout=timedelta(seconds=60), retry_policy=DB_RETRY
        )

    @workflow.signal(name="ticket_changed")
    def ticket_changed(self) -> None:
        """The ticket changed (status, first response, reopen): read it again and re-plan the clocks."""
        self._changes += 1

    @workflow.query(name="status")
    def status(self) -> EscalationStatus:
        return EscalationStatus(
            ticket_id=self._ticket_id,
            step=self._step,
            ticket_status=self._status,
            elapsed_seconds=self._elapsed,
            arm=self._arm,
            reached=list(self._reached),
            next=[self._next] if self._next is not None else [],
        )
