"""The bill run's row, opened by the BillingCycle process itself (the API only starts the process): the
row of this process, or, when another run of the same cycle, period and kind is already running, that
run's id (the new one joins it and ends)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from activities.billing.bill_run import open_run
from activities.billing.io import OpenedRun, RunInput
from models.base import unit_of_work
from models.billing import BillingRun


def running_run(url: str, run: RunInput) -> BillingRun | None:
    """The run of the same operator, cycle, period and kind that is running now, if any."""
    with unit_of_work(url) as session:
        return session.execute(
            select(BillingRun).where(
                BillingRun.organisation_id == run.organisation_id,
                BillingRun.bill_day == run.bill_day,
                BillingRun.period_date == (run.period_date or datetime.now(UTC).date()),
                BillingRun.dry_run == run.dry_run,
                BillingRun.status == "running",
            )
        ).scalar_one_or_none()


def open_or_join(url: str, run: RunInput, process_id: str | None) -> OpenedRun:
    """This process's row (created once), or the running run of the same cycle it joins."""
    try:
        with unit_of_work(url) as session:
            return OpenedRun(run=open_run(session, run, process_id))
    except IntegrityError:
        other = running_run(url, run)
        if other is None:
            raise  # the other run ended meanwhile: the retry opens this one
        return OpenedRun(run=run, joined_run_id=other.id)
