"""Webhook delivery's Temporal activities: each database step in one transaction, the POST between two."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from temporalio import activity

from activities.webhooks import alerts, deliveries, io, sending
from activities.webhooks.io import AttemptInput, AttemptResult, DueObject, FanOut, GiveUpInput, NextDelivery
from domain import webhooks
from integrations.notify.base import Notifier
from models.base import unit_of_work
from runtime.settings import Settings

log = logging.getLogger(__name__)


class WebhookActivities(io.WebhookActivities):
    """Webhook delivery's activities, bound to the database and the data key (sync: thread pool)."""

    def __init__(
        self, settings: Settings, notifier: Notifier | None = None, *, timeout_s: float = sending.TIMEOUT_S
    ) -> None:
        if not settings.database_url:
            raise RuntimeError("DATABASE_URL is not set: webhook activities need the database")
        self.url = settings.database_url
        self.vault = webhooks.secret_vault(settings.data_key)
        self.timeout_s = timeout_s
        self.production = settings.environment == "production"
        self.notifier = notifier

    @activity.defn(name="fan_out_webhook_events")
    def fan_out(self, cursor: str | None) -> FanOut:
        """Turn the events after ``cursor`` into deliveries to the endpoints that listen to them."""
        with unit_of_work(self.url) as session:
            return deliveries.fan_out(session, cursor)

    @activity.defn(name="due_webhook_objects")
    def due_objects(self, at: datetime) -> list[DueObject]:
        """The (endpoint, object) pairs with a delivery due at ``at`` on an enabled endpoint."""
        with unit_of_work(self.url) as session:
            return deliveries.due_objects(session, at)

    @activity.defn(name="next_webhook_delivery")
    def next_delivery(self, due: DueObject) -> NextDelivery | None:
        """The oldest pending delivery of the object at the endpoint, if the endpoint is enabled."""
        with unit_of_work(self.url) as session:
            return deliveries.next_delivery(session, due)

    @activity.defn(name="attempt_webhook_delivery")
    def attempt(self, request: AttemptInput) -> AttemptResult:
        """POST the event, signed, to the endpoint once; record the attempt and its outcome."""
        with unit_of_work(self.url) as session:
            out = deliveries.outgoing(session, request.delivery_id)
        if out is None:
            return AttemptResult(delivered=False, skipped=True)
        secret = self.vault.open(out.secret_sealed, out.endpoint_id)
        body = sending.body_of(out.payload)
        outcome = sending.post(
            out.url, secret, out.event_id, body, self.timeout_s, production=self.production
        )
        with unit_of_work(self.url) as session:
            deliveries.record_attempt(session, request, outcome)
        return AttemptResult(
            delivered=outcome.delivered, status_code=outcome.status_code, error=outcome.error
        )

    @activity.defn(name="give_up_webhook_delivery")
    def give_up(self, request: GiveUpInput) -> bool:
        """Mark the delivery failed; disable its endpoint (and tell its owner) once it has failed too long."""
        with unit_of_work(self.url) as session:
            disabled = deliveries.give_up(session, request.delivery_id, request.at)
            if disabled is None:
                return False
            notice = alerts.disabled_notice(session, disabled) if self.notifier else None
            if notice is not None and self.notifier is not None:
                # Sent before the endpoint's disabling commits: if sending fails the activity is retried and
                # disables and writes again (same Message-ID), so the owner is never left untold.
                self.notifier.send_email(notice)
            endpoint_id, organisation_id, reason = (
                disabled.id,
                disabled.organisation_id,
                disabled.disabled_reason,
            )
        log.warning(
            "webhook endpoint %s of %s disabled: %s; owner %s",
            endpoint_id,
            organisation_id,
            reason,
            f"told at {notice.to}"
            if notice
            else "has no contact email (set contact_email on the organisation)",
        )
        return True

    def all(self) -> list[Any]:
        return [self.fan_out, self.due_objects, self.next_delivery, self.attempt, self.give_up]
