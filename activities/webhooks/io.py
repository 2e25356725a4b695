"""Webhook delivery's activities as workflows call them, and their inputs and outputs (no SQLAlchemy here)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel
from temporalio import activity


class RelayInput(BaseModel):
    """The webhook relay's state: the last event fanned out, the pause between rounds, rounds per run."""

    cursor: str | None = None
    interval_s: float = 5.0
    rounds_per_run: int = 200


class FanOut(BaseModel):
    """Events after ``cursor`` turned into deliveries: how many, the new cursor, whether the page was full
    (more events wait)."""

    cursor: str | None
    deliveries: int
    full: bool = False


class DueObject(BaseModel):
    """An object with deliveries due at one endpoint (delivered in order by one WebhookDelivery)."""

    endpoint_id: str
    object_id: str
    organisation_id: str


class NextDelivery(BaseModel):
    """The oldest pending delivery of an object at an endpoint."""

    delivery_id: str
    event_id: str


class AttemptInput(BaseModel):
    """One attempt at a delivery at the workflow's time ``at``; ``retry_at``: when the next one would be."""

    delivery_id: str
    at: datetime
    retry_at: datetime


class AttemptResult(BaseModel):
    """What one attempt got: ``delivered`` on a 2xx; ``skipped`` when the endpoint is gone or disabled."""

    delivered: bool
    skipped: bool = False
    status_code: int | None = None
    error: str | None = None


class GiveUpInput(BaseModel):
    """A delivery that failed for the whole window, at the workflow's time ``at``."""

    delivery_id: str
    at: datetime


class DueEndpoint(BaseModel):
    """An enabled endpoint with deliveries due: its WebhookSender sends them."""

    endpoint_id: str
    organisation_id: str


class SendInput(BaseModel):
    """Send a batch of the endpoint's due deliveries at the workflow's time ``at``."""

    endpoint_id: str
    at: datetime


class SendRound(BaseModel):
    """What one batch did, and when the endpoint next has a delivery due (None: nothing pending)."""

    sent: int = 0
    delivered: int = 0
    failed_attempts: int = 0
    gave_up: int = 0
    endpoint_disabled: bool = False
    full: bool = False
    next_due_at: datetime | None = None


class WebhookActivities:
    """Webhook delivery's activities (implemented in activities/webhooks/activities.py)."""

    @activity.defn(name="fan_out_webhook_events")
    def fan_out(self, cursor: str | None) -> FanOut:
        """Turn the events after ``cursor`` into deliveries to the endpoints that listen to them."""
        raise NotImplementedError

    @activity.defn(name="due_webhook_objects")
    def due_objects(self, at: datetime) -> list[DueObject]:
        """The (endpoint, object) pairs with a delivery due at ``at`` on an enabled endpoint."""
        raise NotImplementedError

    @activity.defn(name="next_webhook_delivery")
    def next_delivery(self, due: DueObject) -> NextDelivery | None:
        """The oldest pending delivery of the object at the endpoint, if the endpoint is enabled."""
        raise NotImplementedError

    @activity.defn(name="attempt_webhook_delivery")
    def attempt(self, request: AttemptInput) -> AttemptResult:
        """POST the event, signed, to the endpoint once; record the attempt and its outcome."""
        raise NotImplementedError

    @activity.defn(name="due_webhook_endpoints")
    def due_endpoints(self, at: datetime) -> list[DueEndpoint]:
        """The enabled endpoints with a delivery due at ``at``."""
        raise NotImplementedError

    @activity.defn(name="send_due_webhook_deliveries")
    def send_due(self, request: SendInput) -> SendRound:
        """POST a batch of the endpoint's due deliveries at once (each object's oldest pending one only, so
        an object's events keep their order), record every attempt, give up those past the window."""
        raise NotImplementedError

    @activity.defn(name="give_up_webhook_delivery")
    def give_up(self, request: GiveUpInput) -> bool:
        """Mark the delivery failed; disable its endpoint (and tell its owner) once it has failed too long."""
        raise NotImplementedError
