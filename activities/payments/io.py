"""Inputs and outputs of the payment activities, and the activities as workflows call them.

Attempts are numbered once per invoice (activities/payments/collector.py ``next_attempts``): a collection
run plans each invoice's number, a dunning retry asks ``next_collection_attempt``; both are reads whose
answer the workflow history keeps, so a retried activity charges with the same number (the same key).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field
from temporalio import activity

from domain.principal import Principal

CollectStatus = Literal["succeeded", "declined", "failed", "pending", "nothing_due", "no_method"]


class CollectInput(BaseModel):
    """Collect one invoice's open amount, with this attempt number (the charge's idempotency key)."""

    invoice_id: str
    attempt: int = 1


class CollectResult(BaseModel):
    """What one collection attempt came to."""

    invoice_id: str = ""  # always set; a default so that results recorded without it still replay
    status: CollectStatus
    payment_id: str | None = None
    decline_code: str | None = None
    account_id: str | None = None
    organisation_id: str | None = None


class CollectionInput(BaseModel):
    """A collection run: the due invoices of one issuer (or of one bill run), in batches."""

    organisation_id: str = Field(description="the issuer whose invoices are collected")
    billing_run_id: str | None = Field(default=None, description="only this run's invoices; None: all due")
    attempt: int = 1
    batch_size: int = Field(default=100, ge=1)
    heartbeat_seconds: int = Field(default=60, ge=1)


class CollectBatch(BaseModel):
    """One batch of a collection run: invoices and each one's planned attempt number."""

    invoice_ids: list[str]
    attempt: int = 1
    attempts: dict[str, int] = Field(
        default_factory=dict, description="each invoice's attempt number (planned); else ``attempt``"
    )

    def attempt_for(self, invoice_id: str) -> int:
        return self.attempts.get(invoice_id, self.attempt)


class PaymentActivities:
    """Payment activities as workflows call them (implemented in activities/payments/activities.py)."""

    @activity.defn(name="collect_invoice")
    def collect_invoice(self, request: CollectInput) -> CollectResult:
        """Charge the invoice's open amount once per (invoice, attempt); see payments/collector.py."""
        raise NotImplementedError

    @activity.defn(name="next_collection_attempt")
    def next_collection_attempt(self, invoice_id: str) -> int:
        """The invoice's next attempt number (a read: the caller's history keeps it for retries)."""
        raise NotImplementedError

    @activity.defn(name="plan_collection")
    def plan_collection(self, run: CollectionInput) -> list[CollectBatch]:
        """Due invoices of auto-collecting accounts with a default method, in batches (oldest first)."""
        raise NotImplementedError

    @activity.defn(name="collect_batch")
    def collect_batch(self, batch: CollectBatch) -> list[CollectResult]:
        """Collect a batch, heartbeating per invoice; fails (to be retried) if an outcome is unknown."""
        raise NotImplementedError


class RefundInput(BaseModel):
    """A refund of (part of) a payment, once per ``key``."""

    payment_id: str
    amount_minor: int = Field(gt=0)
    reason: str | None = None
    key: str


class RefundCall(BaseModel):
    """A refund as the API accepted it, with the caller (whose subtree the payment must be in)."""

    principal: Principal
    request: RefundInput


class RefundDone(BaseModel):
    """The refund row after the gateway answered (``succeeded``, ``failed`` or still ``pending``)."""

    id: str
    payment_id: str
    amount_minor: int
    currency: str
    status: str
    reason: str | None
    gateway_reference: str | None
    created_at: datetime


class RefundActivities:
    """The PaymentRefund process's activity as workflows call it (implemented in payments/activities.py)."""

    @activity.defn(name="refund_payment")
    def refund(self, call: RefundCall) -> RefundDone:
        """Reserve, refund through the gateway once per key, then post to the ledger (or release)."""
        raise NotImplementedError


__all__ = [
    "CollectBatch",
    "CollectInput",
    "CollectResult",
    "CollectStatus",
    "CollectionInput",
    "PaymentActivities",
    "RefundActivities",
    "RefundCall",
    "RefundDone",
    "RefundInput",
]
