"""Payment activities for Temporal: collect one invoice, plan a collection run, collect a batch; refund a
payment (the PaymentRefund process; the transaction scripts are in refunds.py).

Collection after a bill run is batched (one activity per batch of invoices, heartbeating per invoice),
never a workflow per invoice. A batch in which some outcome is unknown (gateway timeout) records every
other outcome, then fails so Temporal retries it; the retry resolves the unknown ones by lookup.
"""

from __future__ import annotations

from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.payments import io
from activities.payments.collector import Collector, collectable_invoices, next_attempt, next_attempts
from activities.payments.io import (
    CollectBatch,
    CollectInput,
    CollectionInput,
    CollectResult,
    RefundCall,
    RefundDone,
)
from activities.payments.refunds import refund_payment
from activities.shared.failures import refusals_fail_the_process
from activities.shared.heartbeat import heartbeating
from integrations.payments.base import GatewayRegistry, GatewayUnavailable
from models.base import unit_of_work
from runtime.settings import Settings


class PaymentActivities(io.PaymentActivities):
    """Sync activities, run by the worker on its thread pool."""

    def __init__(self, settings: Settings, gateways: GatewayRegistry) -> None:
        if not settings.database_url:
            raise RuntimeError("DATABASE_URL is not set: payment activities need the database")
        self.url = settings.database_url
        self.collector = Collector(self.url, gateways, settings.payments_pause_after_gateway_seconds)

    @activity.defn(name="collect_invoice")
    def collect_invoice(self, request: CollectInput) -> CollectResult:
        """Charge the invoice's open amount once per (invoice, attempt); see payments/collector.py."""
        try:
            return self.collector.collect(request)
        except GatewayUnavailable as exc:
            raise ApplicationError(str(exc), type="GatewayUnavailable") from exc

    @activity.defn(name="next_collection_attempt")
    def next_collection_attempt(self, invoice_id: str) -> int:
        """The invoice's next attempt number (a read: the caller's history keeps it for retries)."""
        with unit_of_work(self.url) as session:
            return next_attempt(session, invoice_id)

    @activity.defn(name="plan_collection")
    def plan_collection(self, run: CollectionInput) -> list[CollectBatch]:
        """Due invoices of auto-collecting accounts with a default method, in batches (oldest first)."""
        with heartbeating(), unit_of_work(self.url) as session:  # the query may take long
            ids = collectable_invoices(session, run.organisation_id, run.billing_run_id)
            attempts = next_attempts(session, ids)
        size = run.batch_size
        return [
            CollectBatch(
                invoice_ids=ids[i : i + size],
                attempt=run.attempt,
                attempts={invoice_id: attempts[invoice_id] for invoice_id in ids[i : i + size]},
            )
            for i in range(0, len(ids), size)
        ]

    @activity.defn(name="collect_batch")
    def collect_batch(self, batch: CollectBatch) -> list[CollectResult]:
        """Collect a batch, heartbeating per invoice; fails (to be retried) if an outcome is unknown."""
        with heartbeating():  # also while one gateway call takes long: the timeout can stay short
            return self._collect_batch(batch)

    def _collect_batch(self, batch: CollectBatch) -> list[CollectResult]:
        results: list[CollectResult] = []
        unknown: list[str] = []
        for position, invoice_id in enumerate(batch.invoice_ids):
            activity.heartbeat(position)
            try:
                results.append(
                    self.collector.collect(
                        CollectInput(invoice_id=invoice_id, attempt=batch.attempt_for(invoice_id))
                    )
                )
            except GatewayUnavailable:
                unknown.append(invoice_id)
        if unknown:
            raise ApplicationError(
                f"outcome unknown for {len(unknown)} invoice(s), e.g. {unknown[0]}: retrying resolves them",
                type="GatewayUnavailable",
            )
        return results

    def all(self) -> list[Any]:
        return [self.collect_invoice, self.next_collection_attempt, self.plan_collection, self.collect_batch]


class RefundActivities(io.RefundActivities):
    """The PaymentRefund process's activity, with the worker's payment gateways."""

    def __init__(self, settings: Settings, gateways: GatewayRegistry) -> None:
        self.url = settings.database_url or ""
        self.gateways = gateways

    @activity.defn(name="refund_payment")
    def refund(self, call: RefundCall) -> RefundDone:
        """Reserve, refund through the gateway once per key, then post to the ledger (or release)."""
        with refusals_fail_the_process():
            refund = refund_payment(self.url, self.gateways, call.principal, call.request)
        return RefundDone.model_validate(refund, from_attributes=True)

    def all(self) -> list[Any]:
        return [self.refund]


__all__ = ["PaymentActivities", "RefundActivities"]
