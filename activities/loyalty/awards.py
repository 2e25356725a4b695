"""Applying a page of a run's pending awards, in one transaction: points (one statement for the page),
wallet credit and vouchers (each with its ledger entry), offers (through the offers seam). Each award is
locked (SKIP LOCKED), applied and marked ``applied`` in the same transaction, so an award is applied
exactly once however often the activity is retried or the worker dies."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from activities.events.outbox import record_many
from activities.loyalty import offers, rewards
from activities.loyalty.evaluation import POINTS_APPLIED_CTES, batch_id_base
from domain.events import API_VERSION, BusinessEvent
from domain.loyalty import RuleDefinition, VoucherAward, points_expire_on
from models.base import utcnow
from models.loyalty import LoyaltyAward, LoyaltyProgramme, LoyaltyRule

POINTS_PAGE_SQL = f"""
    with page as (
        select id from loyalty_awards
        where run_id = :run_id and status = 'pending' and kind = 'points'
        order by id limit :limit
        for update skip locked
    ),
    done as (
        update loyalty_awards a set status = 'applied', applied_at = now()
        from page where a.id = page.id
        returning a.id, a.organisation_id, a.rule_id, a.account_id, a.period_key, a.points
    ),
    {POINTS_APPLIED_CTES}
    select count(*) from done
"""  # noqa: S608 (a fixed fragment; values are bound parameters)
OTHERS_PAGE_SQL = """
    select id from loyalty_awards
    where run_id = :run_id and status = 'pending' and kind <> 'points'
    order by id limit :limit
    for update skip locked
"""
EVENT_ROWS_SQL = """
    select id, organisation_id, rule_id, account_id, period_key, kind, points, amount_minor, currency,
           offer_code
    from loyalty_awards where id = any(:ids) order by id
"""


def apply_page(session: Session, run_id: str, organisation_id: str, limit: int, on: date) -> tuple[int, bool]:
    """Apply up to ``limit`` pending awards of the run; (how many, whether more may wait).

    Points (most awards) in ONE statement: lock a page, mark it applied, insert its movements (the
    balances follow by trigger) and its ``loyalty.awarded`` business events (the outbox, as
    ``record_many`` writes them), all set-based. The others (wallet credit, vouchers, offers) one by one,
    each with its ledger entry."""
    programme = session.get(LoyaltyProgramme, organisation_id)
    expiry_months = programme.points_expiry_months if programme else None
    applied = session.execute(
        text(POINTS_PAGE_SQL),
        {
            "run_id": run_id,
            "limit": limit,
            "on": on,
            "expires_on": points_expire_on(on, expiry_months),
            "movement_ids": batch_id_base("lpm"),
            "event_ids": batch_id_base("evt"),
            "api_version": API_VERSION,
        },
    ).scalar_one()
    if applied >= limit:
        return applied, True
    others = (
        session.execute(text(OTHERS_PAGE_SQL), {"run_id": run_id, "limit": limit - applied}).scalars().all()
    )
    if others:
        done = _apply_one_by_one(session, list(others), on)
        if done:
            session.execute(
                text("update loyalty_awards set status = 'applied', applied_at = :now where id = any(:ids)"),
                {"now": utcnow(), "ids": done},
            )
            rows = session.execute(text(EVENT_ROWS_SQL), {"ids": done}).all()
            record_many(session, [_event(row) for row in rows])
    total = applied + len(others)
    return total, total >= limit


def _apply_one_by_one(session: Session, ids: list[str], on: date) -> list[str]:
    """Wallet credit, vouchers and offers, each with its own entry; the ids applied (an offer the offers
    area cannot take yet is marked skipped)."""
    found = session.execute(select(LoyaltyAward).where(LoyaltyAward.id.in_(ids)).order_by(LoyaltyAward.id))
    page = list(found.scalars())
    rules = _rules(session, {a.rule_id for a in page if a.kind == "voucher"})
    applied = []
    for award in page:
        if award.kind == "wallet_credit":
            _apply_wallet_credit(session, award, on)
        elif award.kind == "voucher":
            _apply_voucher(session, award, rules[award.rule_id], on)
        else:
            try:
                with session.begin_nested():
                    offers.grant_offer(
                        session,
                        award.organisation_id,
                        award.offer_code or "",
                        award.account_id,
                        f"loyalty:{award.id}",
                    )
            except offers.OfferGrantsUnavailable:
                award.status = "skipped"
                continue
        applied.append(award.id)
    session.flush()
    return applied


def _apply_wallet_credit(session: Session, award: LoyaltyAward, on: date) -> None:
    credited = rewards.credit_wallet(
        session,
        award.account_id,
        award.currency or "",
        award.amount_minor or 0,
        f"loyalty:{award.id}",
        f"Loyalty award {award.period_key}",
        on,
    )
    award.wallet_transaction_id = credited.wallet_transaction_id
    award.ledger_entry_id = credited.ledger_entry_id


def _apply_voucher(session: Session, award: LoyaltyAward, rule: LoyaltyRule, on: date) -> None:
    definition = RuleDefinition.model_validate(rule.definition)
    valid_days = definition.award.valid_days if isinstance(definition.award, VoucherAward) else 90
    given = rewards.give_voucher(
        session,
        award.organisation_id,
        award.account_id,
        award.currency or "",
        award.amount_minor or 0,
        valid_days,
        f"award:{award.id}",
        on,
    )
    award.voucher_id, award.voucher_code, award.ledger_entry_id = (
        given.voucher_id,
        given.code,
        given.ledger_entry_id,
    )


def _rules(session: Session, ids: set[str]) -> dict[str, LoyaltyRule]:
    return {r.id: r for r in session.execute(select(LoyaltyRule).where(LoyaltyRule.id.in_(ids))).scalars()}


def _event(row: Any) -> BusinessEvent:
    award_id, organisation_id, rule_id, account_id, period_key, kind, pts, amount, currency, offer = row
    return BusinessEvent(
        "loyalty.awarded",
        organisation_id,
        "account",
        account_id,
        {
            "award_id": award_id,
            "rule_id": rule_id,
            "account_id": account_id,
            "period": period_key,
            "kind": kind,
            "points": pts,
            "amount_minor": amount,
            "currency": currency,
            "offer_code": offer,
        },
    )
