"""The refund of a payment through its gateway, as the PaymentRefund process's activity.

The transaction scripts are ``activities/payments/refunds.py`` (reserve, gateway refund, finish); this
module only runs them from a Temporal worker, with the worker's gateways.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel
from temporalio import activity

from activities.payments.refunds import RefundInput, refund_payment
from activities.shared.failures import refusals_fail_the_process
from activities.shared.visibility import Principal
from integrations.payments.base import GatewayRegistry
from runtime.settings import Settings


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
