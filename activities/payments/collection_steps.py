"""Payment activities for Temporal: collect one invoice, plan a collection run, collect a batch.

Attempts are numbered once per invoice (activities/payments/collector.py ``next_attempts``): a collection run
plans each invoice's number, a dunning retry asks ``next_collection_attempt``; both are reads whose
answer the workflow history keeps, so a retried activity charges with the same number (the same key).

Collection after a bill run is batched (one activity per batch of invoices, heartbeating per invoice),
never a workflow per invoice. A batch in which some outcome is unknown (gateway timeout) records every
other outcome, then fails so Temporal retries it; the retry resolves the unknown ones by lookup.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import and_, or_, select
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.payments.collector import CollectInput, Collector, CollectResult, next_attempt, next_attempts
from activities.shared.heartbeat import heartbeating
from domain.payments import PAYABLE_INVOICE_STATES
from integrations.payments.base import GatewayRegistry, GatewayUnavailable
from models.base import unit_of_work
from models.billing import Invoice
from models.payments import AccountPaymentSettings, PaymentMethod
from runtime.settings import Settings

__all__ = ["CollectBatch", "CollectInput", "CollectResult", "CollectionInput", "PaymentActivities"]


class CollectionInput(BaseModel):
    organisation_id: str = Field(description="the issuer whose invoices are collected")
    billing_run_id: str | None = Field(default=None, description="only this run's invoices; None: all due")
    attempt: int = 1
    batch_size: int = Field(default=100, ge=1)
    heartbeat_seconds: int = Field(default=60, ge=1)


class CollectBatch(BaseModel):
    invoice_ids: list[str]
    attempt: int = 1
    attempts: dict[str, int] = Field(
        default_factory=dict, description="each invoice's attempt number (planned); else ``attempt``"
    )

    def attempt_for(self, invoice_id: str) -> int:
        return self.attempts.get(invoice_id, self.attempt)


class PaymentActivities:
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
        stmt = (
            select(Invoice.id)
            .join(
                PaymentMethod,
                and_(
                    PaymentMethod.account_id == Invoice.account_id,
                    PaymentMethod.is_default.is_(True),
                    PaymentMethod.status == "active",
                ),
            )
            .outerjoin(AccountPaymentSettings, AccountPaymentSettings.account_id == Invoice.account_id)
            .where(
                Invoice.status.in_(sorted(PAYABLE_INVOICE_STATES)),
                Invoice.total_minor > Invoice.paid_minor,
                or_(
                    AccountPaymentSettings.auto_collect.is_(None),
                    AccountPaymentSettings.auto_collect.is_(True),
                ),
            )
            .order_by(Invoice.id)
        )
        if run.billing_run_id is not None:  # the run's invoices (their issuer may be the run's root)
            stmt = stmt.where(Invoice.billing_run_id == run.billing_run_id)
        else:
            stmt = stmt.where(Invoice.organisation_id == run.organisation_id)
        with heartbeating(), unit_of_work(self.url) as session:  # the query may take long
            ids = [str(i) for i in session.execute(stmt).scalars()]
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
