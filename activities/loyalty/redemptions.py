"""Redeeming points for wallet credit or a voucher: one transaction (the caller's). The account's
points balance row is locked first, so concurrent redemptions are serialised: the one that finds too
few points is refused (409 ``points_insufficient``) and nothing moves. The money side is a balanced
ledger entry (marketing expense against the wallet, or against the voucher clearing account)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from activities.events.outbox import record_many
from activities.loyalty import points, rewards
from domain.errors import Conflict, RuleViolation
from domain.events import BusinessEvent
from domain.ids import new_id
from domain.loyalty import points_value_minor
from models.accounts import Account
from models.loyalty import LoyaltyProgramme, LoyaltyRedemption
from models.organisations import Organisation

REDEEMED_VOUCHER_DAYS = 365


def operator_of_account(session: Session, account: Account) -> str:
    """The root operator of the account's organisation (whose programme its points belong to)."""
    path = session.execute(
        select(Organisation.path).where(Organisation.id == account.organisation_id)
    ).scalar_one()
    return str(path).strip("/").split("/")[0]


def programme_of(session: Session, operator_id: str) -> LoyaltyProgramme:
    programme = session.get(LoyaltyProgramme, operator_id)
    if programme is None:
        raise Conflict(
            "loyalty_programme_missing", "set the loyalty programme (PUT /v1/loyalty-programme) first"
        )
    return programme


def redeem_points(
    session: Session, account: Account, points_asked: int, reward: str, key: str, on: date
) -> LoyaltyRedemption:
    """Exchange ``points_asked`` for ``reward`` once per ``key``; 409 when the balance is short."""
    found = session.execute(
        select(LoyaltyRedemption).where(LoyaltyRedemption.idempotency_key == key)
    ).scalar_one_or_none()
    if found is not None:
        return found
    operator_id = operator_of_account(session, account)
    programme = programme_of(session, operator_id)
    points.expire_account(session, operator_id, account.id, on)  # expired points are not spent
    value = points_value_minor(points_asked, Decimal(programme.point_value_minor), programme.currency)
    if value <= 0:
        raise RuleViolation("points_too_few", f"{points_asked} points are worth nothing yet", field="points")
    redemption_id = new_id("lrd")
    points.redeem(session, operator_id, account.id, points_asked, f"redeem:{key}", on, redemption_id)
    redemption = LoyaltyRedemption(
        id=redemption_id,
        organisation_id=operator_id,
        account_id=account.id,
        points=points_asked,
        reward=reward,
        amount_minor=value,
        currency=programme.currency,
        idempotency_key=key,
    )
    if reward == "wallet_credit":
        credited = rewards.credit_wallet(
            session,
            account.id,
            programme.currency,
            value,
            f"loyalty-redemption:{redemption_id}",
            f"{points_asked} loyalty points redeemed",
            on,
        )
        redemption.wallet_transaction_id = credited.wallet_transaction_id
        redemption.ledger_entry_id = credited.ledger_entry_id
    else:
        given = rewards.give_voucher(
            session,
            operator_id,
            account.id,
            programme.currency,
            value,
            REDEEMED_VOUCHER_DAYS,
            f"redemption:{redemption_id}",
            on,
        )
        redemption.voucher_id, redemption.voucher_code = given.voucher_id, given.code
        redemption.ledger_entry_id = given.ledger_entry_id
    session.add(redemption)
    session.flush()
    record_many(
        session,
        [
            BusinessEvent(
                "loyalty.points_redeemed",
                operator_id,
                "account",
                account.id,
                {
                    "redemption_id": redemption.id,
                    "account_id": account.id,
                    "points": points_asked,
                    "reward": reward,
                    "amount_minor": value,
                    "currency": programme.currency,
                },
            )
        ],
    )
    return redemption
