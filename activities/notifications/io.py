"""Notification delivery's activities as workflows call them, and their inputs and outputs (no SQLAlchemy)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel
from temporalio import activity


class NotifyRelayInput(BaseModel):
    """The notification relay's state: the last event turned into messages, the pause between rounds,
    rounds per run."""

    cursor: str | None = None
    interval_s: float = 5.0
    rounds_per_run: int = 200


class FanOutInput(BaseModel):
    """Turn the events after ``cursor`` into messages at the workflow's time ``at`` (quiet hours)."""

    cursor: str | None
    at: datetime


class FanOutResult(BaseModel):
    """The new cursor, how many messages were made, whether the page was full (more events wait)."""

    cursor: str | None
    messages: int
    full: bool = False


class SendDueInput(BaseModel):
    """Send a batch of the messages due at the workflow's time ``at``."""

    at: datetime


class SendRound(BaseModel):
    """What one batch did: sent, tried again later (a temporary failure), failed for good; ``full``: more
    are due; ``next_due_at``: when the next queued message is due (None: none queued)."""

    sent: int = 0
    retrying: int = 0
    failed: int = 0
    unknown: int = 0
    full: bool = False
    next_due_at: datetime | None = None


class NotificationActivities:
    """Notification delivery's activities (implemented in activities/notifications/activities.py)."""

    @activity.defn(name="fan_out_notification_events")
    def fan_out(self, request: FanOutInput) -> FanOutResult:
        """Turn the events after the cursor into messages (rendered, suppressed, or deferred)."""
        raise NotImplementedError

    @activity.defn(name="send_due_notifications")
    def send_due(self, request: SendDueInput) -> SendRound:
        """Claim a batch of due messages (marked ``sending`` first), send each once, record the outcome."""
        raise NotImplementedError
