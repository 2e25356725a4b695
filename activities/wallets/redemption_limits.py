"""Guessing voucher codes is refused: a subscriber's failed redemptions (unknown, used, cancelled or
expired codes) are counted per account over the last hour, and past ``MAX_FAILURES`` every attempt is
refused (429) until the oldest failure leaves the window. Each failure is written in its own transaction
(the refused redemption itself writes nothing)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from models.vouchers import VoucherRedemptionFailure

MAX_FAILURES = 5
WINDOW = timedelta(hours=1)


class TooManyFailures(Exception):
    """The account has failed ``MAX_FAILURES`` redemptions within the window."""

    def __init__(self, retry_after_seconds: int) -> None:
        super().__init__(f"too many failed voucher redemptions; try again in {retry_after_seconds} s")
        self.retry_after_seconds = retry_after_seconds


def check_allowed(session: Session, account_id: str, now: datetime) -> None:
    """Raise TooManyFailures when the account may not try another code yet."""
    since = now - WINDOW
    count, oldest = session.execute(
        select(func.count(), func.min(VoucherRedemptionFailure.failed_at)).where(
            VoucherRedemptionFailure.account_id == account_id,
            VoucherRedemptionFailure.failed_at > since,
        )
    ).one()
    if count >= MAX_FAILURES and oldest is not None:
        wait = max(1, int((oldest + WINDOW - now).total_seconds()) + 1)
        raise TooManyFailures(wait)


def record_failure(session: Session, account_id: str, reason: str, now: datetime) -> None:
    """Count a failure; the account's failures older than the window are forgotten (they count no more)."""
    session.execute(
        delete(VoucherRedemptionFailure).where(
            VoucherRedemptionFailure.account_id == account_id,
            VoucherRedemptionFailure.failed_at <= now - WINDOW,
        )
    )
    session.add(VoucherRedemptionFailure(account_id=account_id, code=reason[:64], failed_at=now))
    session.flush()
