"""The contract every payment gateway implements (Stripe, SEPA, wallet, voucher, cash, third parties).

A charge carries an idempotency key derived from the invoice and the attempt: the same key twice is
one charge at the gateway. When the outcome of a charge is unknown (a timeout), the caller asks the
gateway with ``lookup`` instead of charging again; a ``StagedGateway`` is asked by the reference the
caller stored before the charge was attempted. Gateways import nothing from ``models``.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, Field


class ChargeStatus(StrEnum):
    SUCCEEDED = "succeeded"
    PENDING = "pending"  # e.g. a SEPA debit waiting for the bank file
    DECLINED = "declined"  # final for this attempt: retry later with a new attempt number
    FAILED = "failed"  # the gateway could not process it (bad data): do not retry as is


class ChargeRequest(BaseModel):
    idempotency_key: str = Field(description="e.g. '<invoice id>:attempt:<n>'")
    account_id: str
    invoice_id: str | None = None
    amount_minor: int = Field(gt=0)
    currency: str
    method_token: str = Field(description="the gateway's token for the payment method (never a card number)")
    description: str = ""
    metadata: dict[str, str] = Field(default_factory=dict)


class ChargeResult(BaseModel):
    status: ChargeStatus
    gateway_reference: str | None = None
    decline_code: str | None = None
    message: str = ""


class RefundRequest(BaseModel):
    idempotency_key: str
    gateway_reference: str
    amount_minor: int = Field(gt=0)
    currency: str


class RefundResult(BaseModel):
    status: Literal["succeeded", "pending", "failed"]
    gateway_reference: str | None = None
    message: str = ""


class GatewayUnavailable(Exception):
    """The gateway did not answer (timeout, connection): the outcome is unknown; look it up."""


class PaymentGateway(Protocol):
    name: str  # "stripe", "sepa", "wallet", "voucher", "cash", or a third party's

    def charge(self, request: ChargeRequest) -> ChargeResult:
        """Charge once per idempotency key; raise GatewayUnavailable when the outcome is unknown."""
        ...

    def lookup(self, idempotency_key: str) -> ChargeResult | None:
        """The outcome of an earlier charge with this key, or None if the gateway never saw it."""
        ...

    def refund(self, request: RefundRequest) -> RefundResult: ...


@runtime_checkable
class StagedGateway(Protocol):
    """A gateway whose charge is opened first and attempted only after the caller has stored its
    reference (Stripe: a PaymentIntent created unconfirmed, then confirmed). A caller that crashed
    finds the charge again by that reference: no search by key, no scan of recent charges."""

    def open_charge(self, request: ChargeRequest) -> str:
        """Create the charge without attempting it; its gateway reference."""
        ...

    def complete_charge(self, reference: str, request: ChargeRequest, *, fresh: bool = False) -> ChargeResult:
        """Attempt the opened charge if it never was, else report how it stands. Safe to repeat;
        ``fresh``: it was opened just now (skip asking how it stands)."""
        ...


class GatewayRegistry:
    """Gateways by name; third-party packages add theirs through the ``multibill.gateways`` entry point."""

    ENTRY_POINT_GROUP = "multibill.gateways"

    def __init__(self) -> None:
        self._gateways: dict[str, PaymentGateway] = {}

    def register(self, gateway: PaymentGateway) -> None:
        if gateway.name in self._gateways:
            raise ValueError(f"a payment gateway named {gateway.name!r} is already registered")
        self._gateways[gateway.name] = gateway

    def get(self, name: str) -> PaymentGateway:
        try:
            return self._gateways[name]
        except KeyError:
            known = ", ".join(sorted(self._gateways)) or "none"
            raise LookupError(f"no payment gateway {name!r} is registered (registered: {known})") from None

    def names(self) -> list[str]:
        return sorted(self._gateways)

    def load_entry_points(self, settings: Any) -> None:
        """Register gateways that installed packages publish: each entry point is ``factory(settings)``."""
        from importlib.metadata import entry_points

        for entry in entry_points(group=self.ENTRY_POINT_GROUP):
            self.register(entry.load()(settings))
