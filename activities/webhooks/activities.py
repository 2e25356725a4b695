"""Webhook delivery's Temporal activities: each database step in one transaction, the POST between two."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

from temporalio import activity

from activities.webhooks import alerts, batches, deliveries, io, sending
from activities.webhooks.io import (
    AttemptInput,
    AttemptResult,
    DueEndpoint,
    DueObject,
    FanOut,
    GiveUpInput,
    NextDelivery,
    SendInput,
    SendRound,
)
from domain import webhooks
from integrations.notify.base import Notifier
from models.base import unit_of_work
from models.webhooks import WebhookEndpoint
from runtime.settings import Settings

log = logging.getLogger(__name__)

SEND_THREADS = 16
"""POSTs one batch makes at once (each to a different object, on the shared HTTP client)."""


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

    @activity.defn(name="due_webhook_endpoints")
    def due_endpoints(self, at: datetime) -> list[DueEndpoint]:
        """The enabled endpoints with a delivery due at ``at``."""
        with unit_of_work(self.url) as session:
            return batches.due_endpoints(session, at)

    @activity.defn(name="send_due_webhook_deliveries")
    def send_due(self, request: SendInput) -> SendRound:
        """POST a batch of the endpoint's due deliveries at once (each object's oldest pending one only, so
        an object's events keep their order), record every attempt, give up those past the window."""
        with unit_of_work(self.url) as session:
            batch = batches.due_batch(session, request.endpoint_id, request.at)
        results: list[tuple[deliveries.Outgoing, deliveries.Outcome]] = []
        if batch:
            with ThreadPoolExecutor(max_workers=min(SEND_THREADS, len(batch))) as pool:
                outcomes = pool.map(self._post, batch)
                results = list(zip(batch, outcomes, strict=True))
        with unit_of_work(self.url) as session:
            failures, expired = batches.record_batch(session, request.at, results)
        disabled = None
        if expired:
            with unit_of_work(self.url) as session:
                disabled = batches.give_up_expired(session, request.at, expired)
                if disabled is not None:
                    self._tell_owner(session, disabled)
        with unit_of_work(self.url) as session:
            next_due = batches.next_due(session, request.endpoint_id)
        return SendRound(
            sent=len(results),
            delivered=len(results) - failures,
            failed_attempts=failures,
            gave_up=len(expired),
            endpoint_disabled=disabled is not None,
            full=len(batch) >= batches.BATCH,
            next_due_at=next_due,
        )

    def _post(self, out: deliveries.Outgoing) -> deliveries.Outcome:
        secret = self.vault.open(out.secret_sealed, out.endpoint_id)
        body = sending.body_of(out.payload)
        return sending.post(out.url, secret, out.event_id, body, self.timeout_s, production=self.production)

    def _tell_owner(self, session: Any, endpoint: WebhookEndpoint) -> None:
        """E-mail the owner of an endpoint just disabled (before its disabling commits: a failed send is
        retried with the activity, with the same Message-ID); log it either way."""
        notice = alerts.disabled_notice(session, endpoint) if self.notifier else None
        if notice is not None and self.notifier is not None:
            self.notifier.send_email(notice)
        log.warning(
            "webhook endpoint %s of %s disabled: %s; owner %s",
            endpoint.id,
            endpoint.organisation_id,
            endpoint.disabled_reason,
            f"told at {notice.to}"
            if notice
            else "has no contact email (set contact_email on the organisation)",
        )

    @activity.defn(name="give_up_webhook_delivery")
    def give_up(self, request: GiveUpInput) -> bool:
        """Mark the delivery failed; disable its endpoint (and tell its owner) once it has failed too long."""
        with unit_of_work(self.url) as session:
            disabled = deliveries.give_up(session, request.delivery_id, request.at)
            if disabled is None:
                return False
            self._tell_owner(session, disabled)
        return True

    def all(self) -> list[Any]:
        return [
            self.fan_out,
            self.due_objects,
            self.next_delivery,
            self.attempt,
            self.give_up,
            self.due_endpoints,
            self.send_due,
        ]
