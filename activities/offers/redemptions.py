"""Accepting an offer: one transaction that checks the account may take it, counts it against the caps
under the offer's row lock, records the redemption and its ``offer.redeemed`` event, and applies it:

- a value (``wallet_credit``) is credited to the wallet at once (a balanced entry: marketing expense
  against the customer's wallet), a ``voucher`` is issued (a lot of one activated code, returned once);
- a discount is recorded for the bill runs (and quotes) to apply for its periods;
- an ``addon`` or ``upgrade`` is also a plan change: the change is checked and the subscription taken
  here, and the caller starts the PlanChange process with the returned plan after the commit.

Concurrent accepts of one offer wait on its row, so the count never passes the cap (the check
constraint ``total_cap is null or redeemed_count <= total_cap`` is the last guard); concurrent accepts by
one account wait on the account's row, so stacking is judged against what it really holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from activities.events.outbox import record
from activities.offers.catalogue import find_offer, terms_json, terms_of
from activities.offers.eligibility import judge
from activities.subscriptions import records as store
from activities.subscriptions.changes import ChangeRequest, prepare_change
from activities.subscriptions.io import ChangePlan
from activities.subscriptions.onboarding import local_today
from activities.wallets.balances import Movement, check_currency, move, wallet_for
from domain import process_ids
from domain.errors import RuleViolation
from domain.events import BusinessEvent
from domain.ids import new_id
from domain.ledger import Posting, check_balanced, side
from domain.offers import CHANGE_KINDS, DISCOUNT_KINDS, OfferRefused, Terms
from domain.vouchers import code_hash, display_prefix, formatted, new_code
from domain.wallets import WALLET
from models.accounts import Account
from models.offers import Offer, OfferRedemption
from models.subscriptions import Subscription
from models.vouchers import Voucher, VoucherLot

MARKETING = "expense:marketing"
"""The ledger account bonus credit is booked to: the operator's marketing expense."""

REASONS = {
    "offer_paused": "the offer is paused",
    "offer_ended": "the offer has ended",
    "offer_not_started": "the offer has not started yet",
    "channel_not_eligible": "the offer is not available through this channel",
    "account_not_eligible": "the account is not in the offer's segments",
    "offer_cap_reached": "the offer has been redeemed as many times as it may be",
    "account_cap_reached": "the account has redeemed this offer as many times as it may",
    "not_stackable": "the offer does not stack with an offer the account holds",
}


class AcceptRequest(BaseModel):
    """POST /v1/accounts/{id}/offers/{offer_id}/accept."""

    model_config = ConfigDict(extra="forbid")

    channel: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,31}$")] = "care"
    subscription_id: str | None = Field(
        default=None, max_length=64, description="The subscription it applies to (default: the account's one)"
    )


@dataclass
class Accepted:
    redemption: OfferRedemption
    offer: Offer
    change: ChangePlan | None = None  # a plan change to start (addon, upgrade)
    voucher_code: str | None = None  # a voucher's code: shown this once


def bonus_credit_entry(customer_id: str, currency: str, amount_minor: int) -> list[Posting]:
    """Bonus credit: the marketing expense up, the customer's wallet (a liability) up."""
    postings = [
        side(MARKETING, amount_minor, currency, debit=True),
        side(WALLET, amount_minor, currency, debit=False, customer_id=customer_id),
    ]
    return check_balanced(p for p in postings if p is not None)


def by_key(session: Session, organisation_id: str, key: str) -> OfferRedemption | None:
    return session.execute(
        select(OfferRedemption).where(
            OfferRedemption.organisation_id == organisation_id, OfferRedemption.idempotency_key == key
        )
    ).scalar_one_or_none()


def _subscription(session: Session, account: Account, request: AcceptRequest, terms: Terms) -> Subscription:
    """The subscription the offer applies to: the one named, else the account's active subscription
    holding the offer's plan (a discount), else its only active subscription."""
    if request.subscription_id:
        sub = session.get(Subscription, request.subscription_id)
        if sub is None or sub.account_id != account.id:
            raise RuleViolation(
                "subscription_not_found",
                f"{request.subscription_id} is not a subscription of {account.id}",
                field="subscription_id",
            )
        return sub
    subs = list(
        session.execute(
            select(Subscription)
            .where(Subscription.account_id == account.id, Subscription.status == "active")
            .order_by(Subscription.id)
        ).scalars()
    )
    if terms.kind == "discount":
        subs = [
            s
            for s in subs
            if terms.plan_code in {x.plan_code for x in store.services(session, s.id, ("active",))}
        ]
    if terms.kind == "discount" and not subs:
        raise OfferRefused("plan_not_subscribed", f"{account.id} has no active {terms.plan_code} service")
    if len(subs) != 1:
        raise RuleViolation(
            "subscription_required",
            f"name the subscription the offer applies to ({len(subs)} could take it)",
            field="subscription_id",
        )
    return subs[0]


def _check_discount_target(session: Session, sub: Subscription, terms: Terms) -> None:
    plans = {s.plan_code for s in store.services(session, sub.id, ("active",))}
    if terms.plan_code not in plans:
        raise OfferRefused("plan_not_subscribed", f"{sub.id} has no active {terms.plan_code} service")
    if sub.currency != terms.currency:
        raise OfferRefused(
            "currency_mismatch", f"{sub.id} is billed in {sub.currency}, the offer in {terms.currency}"
        )


def _issue_voucher(session: Session, offer: Offer, terms: Terms, today: date) -> tuple[str, str]:
    """A lot of one activated code of the offer's value (a year to redeem it): (voucher id, code)."""
    lot_id, voucher_id, code = new_id("vlt"), new_id("vch"), new_code()
    session.execute(
        insert(VoucherLot).values(
            id=lot_id,
            organisation_id=offer.organisation_id,
            seller_organisation_id=offer.organisation_id,
            value_minor=terms.value_minor,
            currency=terms.currency,
            expires_on=date(today.year + 1, today.month, min(today.day, 28)),
            count=1,
            status="activated",
            created_by=f"offer:{offer.id}"[:64],
        )
    )
    session.execute(
        insert(Voucher).values(
            id=voucher_id,
            lot_id=lot_id,
            code_hash=code_hash(code),
            display_prefix=display_prefix(code),
            status="activated",
        )
    )
    return voucher_id, formatted(code)


def accept(
    session: Session, account: Account, offer_id: str, request: AcceptRequest, key: str, actor: str
) -> Accepted:
    """Accept ``offer_id`` for ``account`` (locked by the caller) once per ``key``; 409 with the reason
    when it may not.

    The account's row is locked first (a no-op when the caller holds it), then the offer's: the caps are
    counted under the offer's lock, and stacking against the account's other offers under the account's
    (two exclusive offers accepted at once by one account lock different offers)."""
    session.execute(select(Account.id).where(Account.id == account.id).with_for_update())
    operator = store.operator_id(session, account.organisation_id)
    offer = find_offer(session, operator, offer_id, lock=True)
    done = by_key(session, operator, key)
    if done is not None:
        return Accepted(done, offer)
    today = local_today(account.timezone)
    verdict = judge(session, account, [offer], today, request.channel)[0]
    if verdict.reason is not None:
        extra = f" ({verdict.conflict_with})" if verdict.conflict_with else ""
        raise OfferRefused(verdict.reason, f"{REASONS[verdict.reason]}{extra}")
    terms = terms_of(offer)
    redemption = OfferRedemption(
        id=new_id("ord"),
        organisation_id=operator,
        offer_id=offer.id,
        account_id=account.id,
        channel=request.channel,
        status="active" if terms.kind in DISCOUNT_KINDS else "completed",
        accepted_on=today,
        terms=terms_json(terms),
        cost_minor=offer.estimated_cost_minor if terms.kind in DISCOUNT_KINDS else terms.value_minor or 0,
        idempotency_key=key,
    )
    out = Accepted(redemption, offer)
    if terms.kind in DISCOUNT_KINDS:
        sub = _subscription(session, account, request, terms)
        redemption.subscription_id = sub.id
        if terms.kind in CHANGE_KINDS:
            out.change = _plan_change(session, sub, terms, key, actor)
            redemption.process_id = out.change.process_id
        else:
            _check_discount_target(session, sub, terms)
    elif terms.kind == "wallet_credit":
        check_currency(session, account, terms.currency, field="offer_id")
        wallet = wallet_for(session, account, terms.currency, lock=True)
        movement = Movement(
            "top_up",
            terms.value_minor or 0,
            f"offer:{redemption.id}",
            method="offer",
            reference=offer.id,
            description=f"offer {offer.code}: bonus credit",
        )
        entry = bonus_credit_entry(account.id, terms.currency, terms.value_minor or 0)
        tx, _ = move(session, wallet, movement, entry, today)
        redemption.wallet_transaction_id = tx.id
    else:
        redemption.voucher_id, out.voucher_code = _issue_voucher(session, offer, terms, today)
    session.add(redemption)
    session.execute(
        update(Offer)
        .where(Offer.id == offer.id)
        .values(
            redeemed_count=Offer.redeemed_count + 1,
            cost_to_date_minor=Offer.cost_to_date_minor + redemption.cost_minor,
        )
    )
    session.flush()
    session.refresh(offer)
    record(
        session,
        BusinessEvent(
            "offer.redeemed", operator, "offer_redemption", redemption.id, redemption_data(redemption, offer)
        ),
    )
    return out


def _plan_change(session: Session, sub: Subscription, terms: Terms, key: str, actor: str) -> ChangePlan:
    """Check the plan change the offer makes and take the subscription for its process."""
    process_id = process_ids.subscription_request("change", sub.id, f"offer:{key}")
    kind = "add_addon" if terms.kind == "addon" else "change_plan"
    change = prepare_change(session, sub, ChangeRequest(type=kind, plan=terms.plan_code), process_id, actor)
    store.acquire(session, sub.id, process_id)
    return change


def redemption_data(redemption: OfferRedemption, offer: Offer) -> dict[str, object]:
    return {
        "id": redemption.id,
        "object": "offer_redemption",
        "offer_id": offer.id,
        "offer_code": offer.code,
        "account_id": redemption.account_id,
        "subscription_id": redemption.subscription_id,
        "channel": redemption.channel,
        "status": redemption.status,
        "accepted_on": redemption.accepted_on.isoformat(),
        "terms": redemption.terms,
        "cost_minor": redemption.cost_minor,
        "process_id": redemption.process_id,
        "wallet_transaction_id": redemption.wallet_transaction_id,
        "voucher_id": redemption.voucher_id,
    }
