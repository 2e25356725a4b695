"""The contract every payment gateway implements (Stripe, SEPA, wallet, voucher, cash, third parties).

A charge carries an idempotency key derived from the invoice and the attempt: the same key twice is
one charge at the gateway. When the outcome of a charge is unknown (a timeout), the caller asks the
gateway with ``lookup`` instead of charging again; a ``StagedGateway`` is asked by the reference the
caller stored before the charge was attempted. Gateways import nothing from ``models``.

A gateway that takes payment methods (cards, wallets of its own) also registers them from the token its
client-side form produced (``MethodRegistrar``); one that tells us about charges later verifies and parses
its own incoming webhooks (``WebhookVerifier``, served at ``POST /v1/webhooks/{name}``). Third parties
publish a factory under the ``multibill.gateways`` entry point; see the README, "Adding a payment gateway
from your own package", and ``PluginGateway`` below for the whole contract.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, Field

from integrations.plugins import BUILT_IN, DisabledPlugin, PluginNameTaken, load_plugins


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


class MethodRegistration(BaseModel):
    """A method to register: the token the gateway's own client-side form produced, and whose it is."""

    account_id: str
    email: str
    name: str = Field(description="the account's display name")
    token: str = Field(description="made by the gateway's client-side form; never a card number")
    customer: str | None = Field(
        default=None, description="the gateway's customer for this account, if one was created before"
    )


class RegisteredMethod(BaseModel):
    """What is stored about a method: the gateway's customer and token, and what a person may see."""

    customer: str
    token: str = Field(description="what ``ChargeRequest.method_token`` will carry")
    brand: str | None = None
    last4: str | None = None
    exp_month: int | None = None
    exp_year: int | None = None


class GatewayEvent(BaseModel):
    """One verified incoming webhook, in Multibill's terms. ``event_id`` is recorded once (a repeat is a
    duplicate). ``outcome`` says what became of a charge we started, found by ``charge_reference`` (the
    ``ChargeResult.gateway_reference``) or ``idempotency_key``; ``None`` when the event concerns no charge."""

    event_id: str = Field(min_length=1, max_length=255)
    event_type: str = Field(min_length=1, max_length=128)
    charge_reference: str | None = None
    idempotency_key: str | None = None
    outcome: Literal["succeeded", "failed"] | None = None
    decline_code: str | None = None
    message: str = ""
    payload: dict[str, Any] = Field(default_factory=dict)


class GatewayUnavailable(Exception):
    """The gateway did not answer (timeout, connection): the outcome is unknown; look it up."""


class MethodRejected(Exception):
    """The gateway refused the method (declined on attach, unknown token): nothing was stored."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class WebhookRejected(Exception):
    """An incoming webhook whose signature does not match its body, or whose body is not an event."""


class PaymentGateway(Protocol):
    name: str  # "stripe", "sepa", "wallet", "voucher", "cash", or a third party's

    def charge(self, request: ChargeRequest) -> ChargeResult:
        """Charge once per idempotency key; raise GatewayUnavailable when the outcome is unknown."""
        ...

    def lookup(self, idempotency_key: str) -> ChargeResult | None:
        """The outcome of an earlier charge with this key, or None if the gateway never saw it."""
        ...

    def refund(self, request: RefundRequest) -> RefundResult:
        """Refund (part of) a charge once per idempotency key."""
        ...


@runtime_checkable
class MethodRegistrar(Protocol):
    """A gateway that keeps payment methods: ``POST /v1/accounts/{id}/payment-methods`` with
    ``{"kind": "card", "gateway": name, "token": …}`` calls this outside any database transaction."""

    name: str

    def register_method(self, request: MethodRegistration) -> RegisteredMethod:
        """Create the customer when ``request.customer`` is None and attach the tokenised method; raise
        ``MethodRejected`` when the gateway refuses it, ``GatewayUnavailable`` when it does not answer."""
        ...


@runtime_checkable
class WebhookVerifier(Protocol):
    """A gateway that sends webhooks to ``POST /v1/webhooks/{name}``: check its signature, parse it."""

    name: str

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> GatewayEvent:
        """The event, if the gateway signed exactly this body (header names are lower case); else raise
        ``WebhookRejected``."""
        ...


class PluginGateway(PaymentGateway, MethodRegistrar, WebhookVerifier, Protocol):
    """Everything a third-party card gateway offers: charge, lookup, refund, methods and webhooks."""


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
    """Gateways by name; third-party packages add theirs through the ``multibill.gateways`` entry point.

    A name is taken once: a second gateway of the same name (built in or from another package) is
    refused with ``PluginNameTaken`` naming both packages. A factory that raises is skipped, logged and
    listed in ``disabled`` (``/healthz`` shows it)."""

    ENTRY_POINT_GROUP = "multibill.gateways"

    def __init__(self) -> None:
        self._gateways: dict[str, PaymentGateway] = {}
        self._packages: dict[str, str] = {}
        self.disabled: list[DisabledPlugin] = []

    def register(self, gateway: PaymentGateway, *, package: str = BUILT_IN) -> None:
        if gateway.name in self._gateways:
            raise PluginNameTaken("payment gateway", gateway.name, self._packages[gateway.name], package)
        self._gateways[gateway.name] = gateway
        self._packages[gateway.name] = package

    def get(self, name: str) -> PaymentGateway:
        try:
            return self._gateways[name]
        except KeyError:
            known = ", ".join(sorted(self._gateways)) or "none"
            raise LookupError(f"no payment gateway {name!r} is registered (registered: {known})") from None

    def names(self) -> list[str]:
        return sorted(self._gateways)

    def package_of(self, name: str) -> str:
        return self._packages[name]

    def load_entry_points(self, settings: Any) -> None:
        """Register gateways that installed packages publish: each entry point is ``factory(settings)``."""
        for plugin in load_plugins(self.ENTRY_POINT_GROUP, settings, self.disabled):
            self.register(plugin.value, package=plugin.package)
