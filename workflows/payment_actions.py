"""Payment actions a caller waits for: collect an invoice now (CollectNow) and refund a payment
(PaymentRefund). Each is one request's process, its id derived from the request's Idempotency-Key, so a
retried request joins it instead of charging or refunding again.
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel
from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.payments.io import (
        CollectInput,
        CollectResult,
        PaymentActivities,
        RefundActivities,
        RefundCall,
        RefundDone,
    )
    from workflows.common import GATEWAY_RETRY, READ_RETRY, show_details


class CollectNowInput(BaseModel):
    invoice_id: str


class CollectNowResult(BaseModel):
    """The attempt's outcome and its number (attempts count from the invoice's earlier collections)."""

    result: CollectResult
    attempt: int


@workflow.defn(name="CollectNow")
class CollectNowWorkflow:
    """One collection attempt of an invoice, numbered after the invoice's earlier attempts."""

    @workflow.run
    async def run(self, request: CollectNowInput) -> CollectNowResult:
        show_details(f"Collection of invoice {request.invoice_id} now", "charging")
        attempt = await workflow.execute_activity_method(
            PaymentActivities.next_collection_attempt,
            request.invoice_id,
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=READ_RETRY,
        )
        result = await workflow.execute_activity_method(
            PaymentActivities.collect_invoice,
            CollectInput(invoice_id=request.invoice_id, attempt=attempt),
            start_to_close_timeout=timedelta(minutes=2),
            retry_policy=GATEWAY_RETRY,
        )
        return CollectNowResult(result=result, attempt=attempt)


@workflow.defn(name="PaymentRefund")
class PaymentRefundWorkflow:
    """Refund (part of) a payment through its gateway: reserve, refund, post (or release)."""

    @workflow.run
    async def run(self, call: RefundCall) -> RefundDone:
        show_details(f"Refund of payment {call.request.payment_id}", "refunding")
        return await workflow.execute_activity_method(
            RefundActivities.refund,
            call,
            start_to_close_timeout=timedelta(minutes=2),
            retry_policy=GATEWAY_RETRY,
        )
