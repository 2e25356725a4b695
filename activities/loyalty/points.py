"""The points ledger per account: earn, redeem, expire, reverse. One transaction each (the caller's).

Movements are append-only; the database adds each to the account's balance in the same statement (a
trigger, migration 0031) and refuses a balance below zero, so the balance is the sum of the movements
and a redemption racing another can never overdraw it. Writers that check a balance first lock the
balance row (``locked_balance``), so concurrent redemptions are serialised and the loser gets a 409.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from activities.events.outbox import record_many
from activities.loyalty.evaluation import batch_id_base
from activities.shared.pagination import fetch_page
from domain.events import BusinessEvent
from domain.ids import new_id
from domain.loyalty import check_redeemable
from models.loyalty import LoyaltyPointBalance, LoyaltyPointMovement


@dataclass(frozen=True)
class Earn:
    account_id: str
    points: int
    key: str
    expires_on: date | None
    award_id: str | None = None
    reason: str | None = None


def balance_of(session: Session, account_id: str) -> int:
    found = session.get(LoyaltyPointBalance, account_id)
    return found.balance if found is not None else 0


def locked_balance(session: Session, organisation_id: str, account_id: str) -> int:
    """The account's balance, its row locked until the transaction ends (created at zero if new)."""
    session.execute(
        insert(LoyaltyPointBalance)
        .values(account_id=account_id, organisation_id=organisation_id, balance=0)
        .on_conflict_do_nothing(index_elements=["account_id"])
    )
    row = session.execute(
        select(LoyaltyPointBalance.balance)
        .where(LoyaltyPointBalance.account_id == account_id)
        .with_for_update()
    ).scalar_one()
    return int(row)


def earn_many(session: Session, organisation_id: str, earns: Sequence[Earn], on: date) -> int:
    """Credit points (each once per key) in one statement; how many movements were new."""
    rows = [
        {
            "id": new_id("lpm"),
            "organisation_id": organisation_id,
            "account_id": e.account_id,
            "kind": "earn",
            "points": e.points,
            "occurred_on": on,
            "expires_on": e.expires_on,
            "award_id": e.award_id,
            "reason": e.reason,
            "idempotency_key": e.key,
        }
        for e in earns
        if e.points > 0
    ]
    if not rows:
        return 0
    result = session.execute(
        insert(LoyaltyPointMovement).values(rows).on_conflict_do_nothing(index_elements=["idempotency_key"])
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


EARN_AWARDS_SQL = """
    insert into loyalty_point_movements (id, organisation_id, account_id, kind, points, occurred_on,
                                         expires_on, award_id, reason, idempotency_key, created_at)
    select :id_base || lpad((row_number() over (order by a.id))::text, 7, '0'), a.organisation_id,
           a.account_id, 'earn', a.points, :on, :expires_on, a.id, 'loyalty award', 'award:' || a.id, now()
    from loyalty_awards a
    where a.id = any(:ids) and a.points > 0
    on conflict (idempotency_key) do nothing
"""


def earn_awards(session: Session, award_ids: Sequence[str], on: date, expires_on: date | None) -> int:
    """Credit the points of these awards (each once: the key is the award) in one statement, straight
    from the awards table; how many movements were new."""
    if not award_ids:
        return 0
    result = session.execute(
        text(EARN_AWARDS_SQL),
        {"id_base": batch_id_base("lpm"), "ids": list(award_ids), "on": on, "expires_on": expires_on},
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def _debit(
    session: Session,
    organisation_id: str,
    account_id: str,
    kind: str,
    points: int,
    key: str,
    on: date,
    **refs: str | None,
) -> LoyaltyPointMovement:
    """Take ``points`` out (the balance row must be locked and hold them)."""
    movement = LoyaltyPointMovement(
        id=new_id("lpm"),
        organisation_id=organisation_id,
        account_id=account_id,
        kind=kind,
        points=-points,
        occurred_on=on,
        idempotency_key=key,
        **refs,
    )
    session.add(movement)
    session.flush()
    return movement


def by_key(session: Session, key: str) -> LoyaltyPointMovement | None:
    return session.execute(
        select(LoyaltyPointMovement).where(LoyaltyPointMovement.idempotency_key == key)
    ).scalar_one_or_none()


def redeem(
    session: Session,
    organisation_id: str,
    account_id: str,
    points: int,
    key: str,
    on: date,
    redemption_id: str,
) -> LoyaltyPointMovement:
    """Take ``points`` out for a redemption: 409 ``points_insufficient`` when the balance is short."""
    check_redeemable(locked_balance(session, organisation_id, account_id), points)
    return _debit(
        session, organisation_id, account_id, "redeem", points, key, on, redemption_id=redemption_id
    )


def reverse(
    session: Session, organisation_id: str, movement_id: str, reason: str, on: date
) -> LoyaltyPointMovement:
    """Undo an earn movement (points awarded in error): take its points back once, less any its awards'
    reversals took (activities/loyalty/reversals.py). 409 when some were already spent."""
    from activities.loyalty import reversals  # it builds on this module's helpers

    return reversals.reverse_movement(session, organisation_id, movement_id, reason, on)


EXPIRE_SQL = """
    with totals as (
        select account_id,
               coalesce(sum(points) filter (where kind = 'earn' and expires_on <= :on), 0) as expired_lots,
               coalesce(-sum(points) filter (where kind <> 'earn'), 0) as debited
        from loyalty_point_movements
        where organisation_id = :org
        group by account_id
    )
    insert into loyalty_point_movements (id, organisation_id, account_id, kind, points, occurred_on,
                                         reason, idempotency_key, created_at)
    select :id_base || lpad((row_number() over ())::text, 7, '0'), :org, t.account_id, 'expire',
           -(t.expired_lots - t.debited), :on, 'expired', 'expire:' || t.account_id || ':' || :on_text, now()
    from totals t
    where t.expired_lots > t.debited
    on conflict (idempotency_key) do nothing
    returning account_id, -points
"""


def expire(session: Session, organisation_id: str, on: date) -> tuple[int, int]:
    """Expire, for every account of the operator, the unused points of lots expired by ``on`` (the
    oldest points are used first, so that is ``domain.loyalty.expiring_points``); once per day.
    Returns (accounts, points)."""
    rows = session.execute(
        text(EXPIRE_SQL),
        {"org": organisation_id, "on": on, "on_text": on.isoformat(), "id_base": batch_id_base("lpm")},
    ).all()
    if rows:
        record_many(
            session,
            [
                BusinessEvent(
                    "loyalty.points_expired",
                    organisation_id,
                    "account",
                    account_id,
                    {"account_id": account_id, "points": int(points), "on": on.isoformat()},
                )
                for account_id, points in rows
            ],
        )
    return len(rows), sum(int(p) for _, p in rows)


EXPIRE_ACCOUNT_SQL = EXPIRE_SQL.replace(
    "where organisation_id = :org\n", "where organisation_id = :org and account_id = :account\n", 1
)
assert EXPIRE_ACCOUNT_SQL != EXPIRE_SQL


def expire_account(session: Session, organisation_id: str, account_id: str, on: date) -> int:
    """Expire one account's points past their date by ``on`` before they are spent (a redemption between
    two runs of the operator-wide expiry must not use them); the same movement as :func:`expire` (the
    key is the account and the day), so the day's run adds nothing. The points expired."""
    rows = session.execute(
        text(EXPIRE_ACCOUNT_SQL),
        {
            "org": organisation_id,
            "account": account_id,
            "on": on,
            "on_text": on.isoformat(),
            "id_base": batch_id_base("lpm"),
        },
    ).all()
    events = [
        BusinessEvent(
            "loyalty.points_expired",
            organisation_id,
            "account",
            account_id,
            {"account_id": account_id, "points": int(expired), "on": on.isoformat()},
        )
        for _, expired in rows
    ]
    if events:
        record_many(session, events)
    return sum(int(p) for _, p in rows)


def _event(kind: str, organisation_id: str, movement: LoyaltyPointMovement) -> BusinessEvent:
    return BusinessEvent(
        kind,
        organisation_id,
        "account",
        movement.account_id,
        {"account_id": movement.account_id, "movement_id": movement.id, "points": movement.points},
    )


def movements(
    session: Session, account_id: str, *, after: str | None, limit: int
) -> tuple[list[LoyaltyPointMovement], str | None]:
    """Newest first, ``limit`` per page; the cursor is the last movement id of the page."""
    stmt = select(LoyaltyPointMovement).where(LoyaltyPointMovement.account_id == account_id)
    if after:
        stmt = stmt.where(LoyaltyPointMovement.id < after)
    rows, more = fetch_page(session, stmt.order_by(LoyaltyPointMovement.id.desc()), limit)
    return rows, rows[-1].id if more and rows else None


def sum_of_movements(session: Session, account_id: str) -> int:
    total = session.execute(
        select(func.coalesce(func.sum(LoyaltyPointMovement.points), 0)).where(
            LoyaltyPointMovement.account_id == account_id
        )
    ).scalar_one()
    return int(total)
