"""Partner charges (pure): whether we accept a charge a provider asks us to bill, why we decline it, what
the subscriber pays for it and how, and our reference for it.

A charge is accepted only for a known customer (a membership at that provider under that customer id)
whose membership and subscription are live, in a currency we know that is the membership's own (the
charge's local amount when the provider converts, else its amount), for a positive amount within the
membership's allowance, and for a period not already paid by another accepted charge. Anything else is
declined with a reason code and never billed; the provider ends the membership on a decline, and so do we.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

from domain.currency import MINOR_UNITS

BilledAs = Literal["invoice", "wallet", "included"]
DeclineStatus = Literal["DECLINED", "BAD_REQUEST", "REJECTED"]

# Reason codes of a decline (stored as ``"<code>: <message>"``; the code is what tests and staff filter on).
CURRENCY_UNKNOWN = "currency_unknown"
AMOUNT_INVALID = "amount_invalid"
CUSTOMER_UNKNOWN = "customer_unknown"
MEMBERSHIP_NOT_ACTIVE = "membership_not_active"
SUBSCRIPTION_NOT_ACTIVE = "subscription_not_active"
CURRENCY_MISMATCH = "currency_mismatch"
ABOVE_ALLOWANCE = "above_allowance"
PERIOD_ALREADY_PAID = "period_already_paid"
WALLET_SHORT = "wallet_insufficient_funds"

LIVE_SUBSCRIPTION_STATES = ("active",)
REFERENCE_PREFIX = "MB-"


@dataclass(frozen=True)
class ChargeFacts:
    """The charge as the provider sent it."""

    charge_number: str
    partner_plan: str
    amount_minor: int
    currency: str
    local_amount_minor: int
    local_currency: str
    paid_through: date


@dataclass(frozen=True)
class MembershipFacts:
    """The membership of the charge's customer at the provider, and its subscription."""

    status: str
    subscription_status: str
    currency: str
    allowance_minor: int
    included_in_price: bool
    prepaid: bool
    paid_through: date | None = None
    """The latest paid-through date of the membership's charges accepted already (None: none yet)."""


@dataclass(frozen=True)
class Verdict:
    """Accept (``billed_as``, ``subscriber_amount_minor``) or decline (``reason``, ``decline_status``)."""

    accepted: bool
    amount_minor: int = 0
    """The charge in the membership's currency (what the allowance is checked against)."""
    subscriber_amount_minor: int = 0
    billed_as: BilledAs | None = None
    reason_code: str | None = None
    reason: str | None = None
    decline_status: DeclineStatus | None = None


def decline(code: str, message: str, status: DeclineStatus = "DECLINED") -> Verdict:
    return Verdict(accepted=False, reason_code=code, reason=f"{code}: {message}", decline_status=status)


def amount_in(charge: ChargeFacts, currency: str) -> int | None:
    """The charge's amount in ``currency``: its local amount when that is the local currency, else its
    amount when that is its currency; None when neither is."""
    if charge.local_currency == currency:
        return charge.local_amount_minor
    if charge.currency == currency:
        return charge.amount_minor
    return None


def billing_of(membership: MembershipFacts, amount_minor: int) -> tuple[BilledAs, int]:
    """How the subscriber pays an accepted charge: nothing when the price includes it, else from the
    wallet (prepaid) or on the next invoice."""
    if membership.included_in_price:
        return "included", 0
    return ("wallet" if membership.prepaid else "invoice"), amount_minor


def check_charge(charge: ChargeFacts, membership: MembershipFacts | None) -> Verdict:
    """Accept or decline one charge (see the module's rules, checked in this order)."""
    for currency in (charge.currency, charge.local_currency):
        if currency not in MINOR_UNITS:
            return decline(CURRENCY_UNKNOWN, f"{currency!r} is not an ISO 4217 currency", "BAD_REQUEST")
    if charge.amount_minor <= 0 or charge.local_amount_minor <= 0:
        return decline(AMOUNT_INVALID, "a charge is a positive amount", "BAD_REQUEST")
    if membership is None:
        return decline(CUSTOMER_UNKNOWN, "no membership of this customer at the provider")
    if membership.status != "active":
        return decline(MEMBERSHIP_NOT_ACTIVE, f"the membership is {membership.status}")
    if membership.subscription_status not in LIVE_SUBSCRIPTION_STATES:
        return decline(SUBSCRIPTION_NOT_ACTIVE, f"the subscription is {membership.subscription_status}")
    amount = amount_in(charge, membership.currency)
    if amount is None:
        return decline(
            CURRENCY_MISMATCH,
            f"charged in {charge.currency}/{charge.local_currency}, "
            f"the membership is in {membership.currency}",
        )
    if amount > membership.allowance_minor:
        return decline(
            ABOVE_ALLOWANCE,
            f"{amount} {membership.currency} is above the allowance of {membership.allowance_minor}",
        )
    if membership.paid_through is not None and charge.paid_through <= membership.paid_through:
        return decline(
            PERIOD_ALREADY_PAID,
            f"another accepted charge paid the membership through {membership.paid_through}",
        )
    billed_as, subscriber_amount = billing_of(membership, amount)
    return Verdict(
        accepted=True, amount_minor=amount, subscriber_amount_minor=subscriber_amount, billed_as=billed_as
    )


def reference_for(charge_id: str) -> str:
    """Our reference for a charge, sent with the decision: deterministic from our charge id (``pch_…``),
    so unique per operator and the same on every retry."""
    return f"{REFERENCE_PREFIX}{charge_id}"


def counts_as_reported(error_code: str) -> bool:
    """A provider's refusal that means our decision is already there (a retry after a lost answer)."""
    return error_code == "ALREADY_PROCESSED"


def batches(items: list[str], size: int) -> list[list[str]]:
    """``items`` in order, split into lists of at most ``size``."""
    if size < 1:
        raise ValueError("a batch holds at least one item")
    return [items[i : i + size] for i in range(0, len(items), size)]


def charge_description(provider: str, partner_plan: str, paid_through: date) -> str:
    """The invoice line of an accepted charge."""
    return f"{provider.capitalize()} {partner_plan} to {paid_through.isoformat()}"
