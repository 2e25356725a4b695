"""Customer care's Temporal activities: each one database transaction (sync: thread pool)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from temporalio import activity

from activities.care import io, sla
from activities.care.io import DeadlineInput, MeasureInput, MilestoneOutcome, MilestoneReached, TicketClock
from models.base import unit_of_work
from runtime.settings import Settings


class CareActivities(io.CareActivities):
    """The TicketEscalation's activities, bound to the database."""

    def __init__(self, settings: Settings) -> None:
        if not settings.database_url:
            raise RuntimeError("DATABASE_URL is not set: care activities need the database")
        self.url = settings.database_url

    @activity.defn(name="ticket_clock")
    def ticket_clock(self, ticket_id: str) -> TicketClock:
        """The ticket's status, first response, reopen count and SLA budgets and milestones."""
        with unit_of_work(self.url) as session:
            return sla.clock(session, ticket_id)

    @activity.defn(name="business_deadline")
    def business_deadline(self, request: DeadlineInput) -> datetime:
        """The instant ``seconds`` of the calendar's working time after ``start`` have passed."""
        with unit_of_work(self.url) as session:
            return sla.deadline(session, request.calendar_id, request.start, request.seconds)

    @activity.defn(name="business_seconds")
    def business_seconds(self, request: MeasureInput) -> int:
        """Working seconds of the calendar between two instants."""
        with unit_of_work(self.url) as session:
            return sla.measure(session, request.calendar_id, request.start, request.end)

    @activity.defn(name="reach_ticket_milestone")
    def reach_milestone(self, request: MilestoneReached) -> MilestoneOutcome:
        """Record a warning or breach, or apply an escalation level (priority, next queue, supervisor),
        with its history line and business event; once per milestone and arm."""
        with unit_of_work(self.url) as session:
            return sla.reach(session, request)

    def all(self) -> list[Any]:
        return [self.ticket_clock, self.business_deadline, self.business_seconds, self.reach_milestone]
