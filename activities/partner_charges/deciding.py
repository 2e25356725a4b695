"""Deciding received charges, a page in one transaction: each charge is checked by the rules of
domain/partner_charges.py against its customer's membership and accepted (billed: pending charge, wallet
debit or included) or declined (the membership ended), with its business event. The decision is in the
database before the provider hears of it, so a worker dying in between loses nothing and bills nothing
twice: the next report sends the decided, unreported charges again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from activities.partner_charges import recording
from activities.wallets.balances import WalletShort
from domain.catalog import PREPAID_TERMS
from domain.partner_charges import (
    WALLET_SHORT,
    ChargeFacts,
    MembershipFacts,
    Verdict,
    check_charge,
    decline,
    reference_for,
)
from models.partners import PartnerCharge, PartnerSubscription
from models.subscriptions import Subscription


@dataclass(frozen=True)
class DecidedPage:
    accepted: int
    declined: int
    billed_minor: int
    more: bool


def membership_of(session: Session, charge: PartnerCharge) -> PartnerSubscription | None:
    """The customer's membership at the provider: the live one, else the latest ended one (locked)."""
    return session.execute(
        select(PartnerSubscription)
        .where(
            PartnerSubscription.organisation_id == charge.organisation_id,
            PartnerSubscription.provider == charge.provider,
            PartnerSubscription.partner_customer_id == charge.partner_customer_id,
        )
        .order_by(
            PartnerSubscription.status.in_(("pending_signup", "active")).desc(),
            PartnerSubscription.created_at.desc(),
            PartnerSubscription.id.desc(),
        )
        .limit(1)
        .with_for_update()
    ).scalar_one_or_none()


def facts_of(session: Session, membership: PartnerSubscription) -> MembershipFacts:
    sub = session.get(Subscription, membership.subscription_id)
    paid_through = session.execute(
        select(func.max(PartnerCharge.paid_through)).where(
            PartnerCharge.partner_subscription_id == membership.id, PartnerCharge.status == "accepted"
        )
    ).scalar_one()
    return MembershipFacts(
        status=membership.status,
        subscription_status=sub.status if sub is not None else "missing",
        currency=membership.currency,
        allowance_minor=membership.allowance_minor,
        included_in_price=membership.included_in_price,
        prepaid=sub is not None and sub.billing_term in PREPAID_TERMS,
        paid_through=paid_through,
    )


def charge_facts(charge: PartnerCharge) -> ChargeFacts:
    return ChargeFacts(
        charge_number=charge.charge_number,
        partner_plan=charge.partner_plan,
        amount_minor=charge.amount_minor,
        currency=charge.currency,
        local_amount_minor=charge.local_amount_minor,
        local_currency=charge.local_currency,
        paid_through=charge.paid_through,
    )


def _bill(
    session: Session, charge: PartnerCharge, membership: PartnerSubscription, verdict: Verdict, on: date
) -> Verdict:
    """Record the subscriber's side of an accepted charge; a prepaid wallet short of it declines it."""
    amount = verdict.subscriber_amount_minor
    if verdict.billed_as == "invoice":
        charge.pending_charge_id = recording.pending_charge(session, charge, membership, amount)
    elif verdict.billed_as == "wallet":
        try:
            recording.wallet_debit(session, charge, membership, amount, on)
        except WalletShort as short:
            return decline(WALLET_SHORT, str(short))
    return verdict


def decide_one(session: Session, charge: PartnerCharge, at: datetime) -> Verdict:
    """Check, bill and record one received charge (locked by the caller)."""
    membership = membership_of(session, charge)
    verdict = check_charge(charge_facts(charge), facts_of(session, membership) if membership else None)
    charge.reference = reference_for(charge.id)
    charge.decided_at = at
    if membership is not None:
        charge.partner_subscription_id = membership.id
        charge.account_id = membership.account_id
    if verdict.accepted and membership is not None:
        verdict = _bill(session, charge, membership, verdict, at.date())
    if verdict.accepted:
        charge.status = "accepted"
        charge.subscriber_amount_minor = verdict.subscriber_amount_minor
        charge.billed_as = verdict.billed_as
        session.flush()
        recording.accepted_event(session, charge)
        return verdict
    charge.status = "declined"
    charge.decline_status = verdict.decline_status
    charge.reason = verdict.reason
    if membership is not None:
        recording.end_membership(membership, charge, at)
    session.flush()
    recording.declined_event(session, charge)
    return verdict


def decide_received(
    session: Session, organisation_id: str, provider: str, at: datetime, limit: int
) -> DecidedPage:
    """Decide up to ``limit`` received charges, oldest first (rows another run holds are skipped)."""
    rows = list(
        session.execute(
            select(PartnerCharge)
            .where(
                PartnerCharge.organisation_id == organisation_id,
                PartnerCharge.provider == provider,
                PartnerCharge.status == "received",
            )
            .order_by(PartnerCharge.received_at, PartnerCharge.charge_number)
            .limit(limit + 1)
            .with_for_update(skip_locked=True)
        ).scalars()
    )
    accepted = declined = billed = 0
    for charge in rows[:limit]:
        verdict = decide_one(session, charge, at)
        if verdict.accepted:
            accepted += 1
            billed += verdict.subscriber_amount_minor
        else:
            declined += 1
    return DecidedPage(accepted, declined, billed, more=len(rows) > limit)
