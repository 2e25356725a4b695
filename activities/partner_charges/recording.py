"""Recording a decision in the caller's transaction: the accepted charge's billing (a pending charge on the
next invoice, a wallet debit, or nothing when the price includes it), the membership a decline ends, and
the business event. Keys come from the charge row, so a retry records nothing twice.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from activities.events.outbox import record
from activities.wallets.balances import Movement, by_key, move, wallet_for
from domain.currency import minor_units
from domain.events import BusinessEvent
from domain.ids import new_id
from domain.partner_charges import charge_description
from domain.wallets import reversal, service_debit_entry
from models.accounts import Account
from models.partners import PartnerCharge, PartnerSubscription
from models.subscriptions import PendingCharge
from models.wallets import Wallet

PENDING_KIND = "partner_charge"
REVENUE_KIND = "partner_service"


def billing_key(charge: PartnerCharge) -> str:
    """The idempotency key of the charge's pending charge or wallet debit."""
    return f"partner_charge:{charge.id}"


def _iso(value: date | datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def charge_data(charge: PartnerCharge) -> dict[str, Any]:
    """The charge as the API shows it (the events' snapshot)."""
    return {
        "id": charge.id,
        "object": "partner_charge",
        "provider": charge.provider,
        "charge_number": charge.charge_number,
        "partner_customer_id": charge.partner_customer_id,
        "account_id": charge.account_id,
        "partner_subscription_id": charge.partner_subscription_id,
        "partner_plan": charge.partner_plan,
        "amount_minor": charge.amount_minor,
        "currency": charge.currency,
        "local_amount_minor": charge.local_amount_minor,
        "local_currency": charge.local_currency,
        "paid_through": _iso(charge.paid_through),
        "status": charge.status,
        "decline_status": charge.decline_status,
        "reason": charge.reason,
        "reference": charge.reference,
        "subscriber_amount_minor": charge.subscriber_amount_minor,
        "billed_as": charge.billed_as,
        "pending_charge_id": charge.pending_charge_id,
        "times_received": charge.times_received,
        "received_at": _iso(charge.received_at),
        "decided_at": _iso(charge.decided_at),
        "reported_at": _iso(charge.reported_at),
        "report_error_code": charge.report_error_code,
        "report_error": charge.report_error,
        "settlement_id": charge.settlement_id,
    }


def accepted_event(session: Session, charge: PartnerCharge) -> None:
    record(
        session,
        BusinessEvent(
            "partner_charge.accepted",
            charge.organisation_id,
            "partner_charge",
            charge.id,
            charge_data(charge),
        ),
    )


def declined_event(session: Session, charge: PartnerCharge) -> None:
    record(
        session,
        BusinessEvent(
            "partner_charge.declined",
            charge.organisation_id,
            "partner_charge",
            charge.id,
            charge_data(charge),
        ),
    )


def pending_charge(
    session: Session, charge: PartnerCharge, membership: PartnerSubscription, amount_minor: int
) -> str:
    """The charge on the subscriber's next invoice (once per charge row); its id."""
    key = billing_key(charge)
    found = session.execute(
        select(PendingCharge).where(PendingCharge.idempotency_key == key)
    ).scalar_one_or_none()
    if found is not None:
        return found.id
    row = PendingCharge(
        id=new_id("chg"),
        account_id=membership.account_id,
        subscription_id=membership.subscription_id,
        service_id=membership.service_id,
        kind=PENDING_KIND,
        description=charge_description(charge.provider, charge.partner_plan, charge.paid_through),
        quantity="1",
        unit_price=str(Decimal(amount_minor).scaleb(-minor_units(membership.currency))),
        amount_minor=amount_minor,
        currency=membership.currency,
        tax_category="standard",
        status="pending",
        idempotency_key=key,
    )
    session.add(row)
    session.flush()
    return row.id


def wallet_debit(
    session: Session, charge: PartnerCharge, membership: PartnerSubscription, amount_minor: int, on: date
) -> str:
    """Debit the prepaid subscriber's wallet (once per charge row); the transaction id. Raises
    ``WalletShort`` (before writing anything) when the wallet cannot pay it."""
    account = session.get(Account, membership.account_id)
    assert account is not None
    wallet = wallet_for(session, account, membership.currency, lock=True)
    movement = Movement(
        "service_debit",
        -amount_minor,
        billing_key(charge),
        reference=charge.id,
        description=charge_description(charge.provider, charge.partner_plan, charge.paid_through),
        subscription_id=membership.subscription_id,
    )
    postings = service_debit_entry(account.id, membership.currency, {REVENUE_KIND: amount_minor})
    tx, _ = move(session, wallet, movement, postings, on)
    return tx.id


def end_membership(membership: PartnerSubscription, charge: PartnerCharge, at: datetime) -> None:
    """The provider ends a membership whose charge is declined; so do we (a live one only)."""
    if membership.status not in ("pending_signup", "active"):
        return
    membership.status = "ended"
    membership.ended_at = at
    membership.end_reason = f"charge {charge.charge_number} declined: {charge.reason}"


def undo_billing(session: Session, charge: PartnerCharge, on: date) -> None:
    """The provider refused an accepted charge (it does not know it, another customer…): the subscriber
    does not pay it. Its pending charge is voided while not invoiced yet; a wallet debit is reversed."""
    if charge.billed_as == "invoice" and charge.pending_charge_id is not None:
        pending = session.get(PendingCharge, charge.pending_charge_id, with_for_update=True)
        if pending is not None and pending.status == "pending":
            pending.status = "void"
    elif charge.billed_as == "wallet" and charge.account_id is not None:
        debit = by_key(session, billing_key(charge))
        if debit is None:
            return
        account = session.get(Account, charge.account_id)
        assert account is not None
        wallet = session.get(Wallet, debit.wallet_id)
        assert wallet is not None
        currency = wallet.currency
        refund = Movement(
            "reversal",
            -debit.amount_minor,
            f"{billing_key(charge)}:reversal",
            reference=charge.id,
            description=f"reversal: {debit.description}",
            subscription_id=debit.subscription_id,
        )
        revenue = {REVENUE_KIND: -debit.amount_minor}
        postings = reversal(service_debit_entry(account.id, currency, revenue))
        move(session, wallet_for(session, account, currency, lock=True), refund, postings, on)
