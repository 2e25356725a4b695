"""Customer care's activities as the TicketEscalation workflow calls them, and their inputs and outputs
(no SQLAlchemy here)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel
from temporalio import activity

from domain.care import Milestone


class EscalationInput(BaseModel):
    """The TicketEscalation of one ticket."""

    ticket_id: str
    account_id: str
    organisation_id: str


class TicketClock(BaseModel):
    """What the SLA clock of a ticket needs to know now: its status, whether staff answered, how many
    times it was reopened (each reopen re-arms the clocks), its budgets and milestones."""

    ticket_id: str
    status: str
    responded: bool
    reopens: int
    calendar_id: str
    first_response_seconds: int
    resolution_seconds: int
    milestones: list[Milestone]


class DeadlineInput(BaseModel):
    """``seconds`` of business time of ``calendar_id`` after ``start``."""

    calendar_id: str
    start: datetime
    seconds: int


class MeasureInput(BaseModel):
    """Business seconds of ``calendar_id`` in ``[start, end)``."""

    calendar_id: str
    start: datetime
    end: datetime


class MilestoneReached(BaseModel):
    """A milestone of the ticket's clock (``arm``: its reopen count) reached at the workflow's ``at``."""

    ticket_id: str
    milestone: Milestone
    arm: int
    at: datetime


class MilestoneOutcome(BaseModel):
    """What reaching it did: ``applied`` False when it was applied before (a retry) or the ticket is done."""

    applied: bool
    escalation_level: int = 0
    priority: str | None = None
    queue_id: str | None = None
    supervisor: str | None = None


class CareActivities:
    """Customer care's activities (implemented in activities/care/activities.py)."""

    @activity.defn(name="ticket_clock")
    def ticket_clock(self, ticket_id: str) -> TicketClock:
        """The ticket's status, first response, reopen count and SLA budgets and milestones."""
        raise NotImplementedError

    @activity.defn(name="business_deadline")
    def business_deadline(self, request: DeadlineInput) -> datetime:
        """The instant ``seconds`` of the calendar's working time after ``start`` have passed."""
        raise NotImplementedError

    @activity.defn(name="business_seconds")
    def business_seconds(self, request: MeasureInput) -> int:
        """Working seconds of the calendar between two instants."""
        raise NotImplementedError

    @activity.defn(name="reach_ticket_milestone")
    def reach_milestone(self, request: MilestoneReached) -> MilestoneOutcome:
        """Record a warning or breach, or apply an escalation level (priority, next queue, supervisor),
        with its history line and business event; once per milestone and arm."""
        raise NotImplementedError
