"""The contract of a third-party content or service provider (Netflix, a sports streaming service…).

A provider package publishes a factory under the ``multibill.partners`` entry point (called with the
``Settings``, returning a ``PartnerProvider`` or ``None`` when off). A provider serves many operators: each
operator's credentials are a ``PartnerConnection`` (stored per organisation, the secret sealed), and
``provider.connect(connection)`` gives the ``PartnerSession`` that talks to the provider for that operator.

Charges reach us in one of two ways (``charges_by``): ``pull`` (we list the pending ones and accept or
decline them in batches, as Netflix partner billing does) or ``push`` (the provider posts them to our
webhook; ``parse_pushed_charges`` checks the signature and reads them, and decisions are answered the same
way). Amounts are integer minor units with an ISO 4217 currency, as everywhere in Multibill.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, Field

from integrations.plugins import BUILT_IN, DisabledPlugin, PluginNameTaken, load_plugins

Channel = Literal["WEB", "STORE", "MOBILE", "BROADBAND", "OTHER"]
DeclineStatus = Literal["DECLINED", "BAD_REQUEST", "REJECTED"]
MembershipStatus = Literal["PENDING_SIGNUP", "ACTIVE", "ENDED"]


class PartnerError(Exception):
    """The provider refused a call (``code`` is its own error code) or could not be reached."""

    def __init__(self, provider: str, code: str, message: str, *, retryable: bool = False) -> None:
        super().__init__(f"{provider} answered {code}: {message}")
        self.provider, self.code, self.message, self.retryable = provider, code, message, retryable


class BadSignature(PartnerError):
    """A pushed message whose signature does not verify: refused and logged, never read."""


class PartnerConnection(BaseModel):
    """One operator's credentials at one provider."""

    provider: str
    base_url: str
    partner_id: str
    secret: str
    options: dict[str, Any] = Field(default_factory=dict)


class SubscribeRequest(BaseModel):
    customer_id: str  # our account id: the provider's billing-system customer identifier
    partner_plan: str
    channel: Channel = "OTHER"
    promotion_code: str | None = None
    signup_validity_seconds: int = Field(default=86400, ge=1, le=86400)
    name: str | None = None
    email: str | None = None
    phone: str | None = None
    address: str | None = None


class SignUpLink(BaseModel):
    customer_id: str
    signup_url: str
    expires_at: datetime


class Membership(BaseModel):
    customer_id: str
    status: MembershipStatus
    partner_plan: str
    end_reason: str | None = None
    signup_url: str | None = None  # while PENDING_SIGNUP, when the provider tells it again
    signup_expires_at: datetime | None = None


class PartnerCharge(BaseModel):
    """A charge the provider asks us to bill (status PENDING at the provider until we decide)."""

    charge_number: str
    customer_id: str
    partner_plan: str
    amount_minor: int
    currency: str
    local_amount_minor: int
    local_currency: str
    paid_through: date
    received_at: datetime


class Decision(BaseModel):
    """Accept (``status`` ignored) or decline one charge; ``reference`` is unique per operator."""

    charge_number: str
    customer_id: str
    reference: str | None = None
    status: DeclineStatus = "DECLINED"
    reason: str | None = None


class FailedDecision(BaseModel):
    charge_number: str | None
    error_code: str
    description: str


@runtime_checkable
class PartnerSession(Protocol):
    """What Multibill asks of a provider, for one operator. Calls are safe to retry."""

    def subscribe(self, request: SubscribeRequest) -> SignUpLink: ...

    def membership(self, customer_id: str) -> Membership: ...

    def change_plan(self, customer_id: str, partner_plan: str) -> Membership: ...

    def cancel(self, customer_id: str, reason: str) -> Membership: ...

    def pending_charges(self) -> list[PartnerCharge]:
        """Pull providers: the charges not yet accepted or declined. Push providers: ``[]``."""
        ...

    def accept(self, decisions: list[Decision]) -> list[FailedDecision]:
        """At most ``max_batch`` decisions; answers only the failed ones."""
        ...

    def decline(self, decisions: list[Decision]) -> list[FailedDecision]: ...


@runtime_checkable
class PartnerProvider(Protocol):
    name: str
    charges_by: Literal["pull", "push"]
    max_batch: int

    def connect(self, connection: PartnerConnection) -> PartnerSession: ...

    def parse_pushed_charges(
        self, connection: PartnerConnection, headers: Mapping[str, str], body: bytes
    ) -> list[PartnerCharge]:
        """Push providers: verify the signature (``BadSignature`` if wrong) and read the charges."""
        ...


class PartnerRegistry:
    """The providers installed: built-ins registered by the worker, others by the entry point."""

    ENTRY_POINT_GROUP = "multibill.partners"

    def __init__(self) -> None:
        self._by_name: dict[str, PartnerProvider] = {}
        self._packages: dict[str, str] = {}
        self.disabled: list[DisabledPlugin] = []

    def register(self, provider: PartnerProvider, *, package: str = BUILT_IN) -> None:
        if provider.name in self._packages:
            raise PluginNameTaken("partner provider", provider.name, self._packages[provider.name], package)
        self._packages[provider.name] = package
        self._by_name[provider.name] = provider

    def load_entry_points(self, settings: Any) -> None:
        for plugin in load_plugins(self.ENTRY_POINT_GROUP, settings, self.disabled):
            self.register(plugin.value, package=plugin.package)

    def get(self, name: str) -> PartnerProvider:
        try:
            return self._by_name[name]
        except KeyError:
            known = ", ".join(sorted(self._by_name)) or "none"
            raise KeyError(
                f"no partner provider named {name!r} is installed (installed: {known}); install its "
                "package or fix the provider name"
            ) from None

    def names(self) -> list[str]:
        return sorted(self._by_name)
