"""Taking back points awarded in error: one award's points, or a whole earn movement's.

Since a run credits an account's points awards with ONE earn movement (activities/loyalty/run_points.py),
a movement may hold several awards: ``reverse_award`` takes back one award's points (keyed by the award),
``reverse_movement`` what is left of a movement (its points less those its awards' reversals already took
back; keyed by the movement). Each happens once; neither takes back what the other did. 409
``points_insufficient`` when some of the points were already spent (the balance holds fewer).
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from activities.events.outbox import record_many
from activities.loyalty.points import _debit, _event, by_key, locked_balance
from domain.errors import Conflict, NotFound
from models.loyalty import LoyaltyAward, LoyaltyPointMovement


def _reversed_points(session: Session, earned: LoyaltyPointMovement) -> int:
    """Points of ``earned`` already taken back (by its whole reversal or its awards')."""
    total = session.execute(
        select(func.coalesce(-func.sum(LoyaltyPointMovement.points), 0)).where(
            LoyaltyPointMovement.account_id == earned.account_id,
            LoyaltyPointMovement.kind == "reverse",
            LoyaltyPointMovement.reverses_id == earned.id,
        )
    ).scalar_one()
    return int(total)


def _take_back(
    session: Session,
    earned: LoyaltyPointMovement,
    points: int,
    key: str,
    reason: str,
    on: date,
    award: str | None,
) -> LoyaltyPointMovement:
    balance = locked_balance(session, earned.organisation_id, earned.account_id)
    if balance < points:
        raise Conflict(
            "points_insufficient", f"the balance is {balance} points, less than the {points} to reverse"
        )
    movement = _debit(
        session,
        earned.organisation_id,
        earned.account_id,
        "reverse",
        points,
        key,
        on,
        reverses_id=earned.id,
        award_id=award,
        reason=reason,
    )
    record_many(session, [_event("loyalty.points_reversed", earned.organisation_id, movement)])
    return movement


def reverse_movement(
    session: Session, organisation_id: str, movement_id: str, reason: str, on: date
) -> LoyaltyPointMovement:
    """Undo an earn movement: take back, once, its points not already taken back award by award."""
    earned = session.get(LoyaltyPointMovement, movement_id)
    if earned is None or earned.organisation_id != organisation_id or earned.kind != "earn":
        raise NotFound("points_movement", movement_id)
    key = f"reverse:{movement_id}"
    done = by_key(session, key)
    if done is not None:
        return done
    left = earned.points - _reversed_points(session, earned)
    if left <= 0:
        raise Conflict("points_already_reversed", f"every point of movement {movement_id} was taken back")
    return _take_back(session, earned, left, key, reason, on, None)


def reverse_award(
    session: Session, organisation_id: str, award_id: str, reason: str, on: date
) -> LoyaltyPointMovement:
    """Undo one points award: take back its points once (from the movement that credited it, alone or
    with the account's other awards of the run)."""
    award = session.get(LoyaltyAward, award_id)
    if award is None or award.organisation_id != organisation_id or award.kind != "points":
        raise NotFound("loyalty_award", award_id)
    earned = (
        session.get(LoyaltyPointMovement, award.movement_id)
        if award.movement_id
        else by_key(session, f"award:{award.id}")
    )
    if earned is None:
        raise Conflict("award_not_credited", f"award {award_id} has not been credited yet")
    key = f"reverse:award:{award.id}"
    done = by_key(session, key) or by_key(session, f"reverse:{earned.id}")
    if done is not None:
        return done
    return _take_back(session, earned, award.points, key, reason, on, award.id)
