"""The bill run's row, opened by the BillingCycle process itself (the API only starts the process): the
row of this process, or, when another run of the same cycle, period and kind is already running, that
run's id (the new one joins it and ends)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from temporalio import activity

from activities.billing.bill_run import RunInput
from domain.ids import new_id
from models.base import unit_of_work
from models.billing import BillingRun
from runtime.settings import Settings


class OpenedRun(BaseModel):
    """The run with its row's id, or the id of the running run it joined instead."""

    run: RunInput
    joined_run_id: str | None = None


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


class RunRowActivities:
    """The BillingCycle process's first step since the API stopped writing the row."""

    def __init__(self, settings: Settings) -> None:
        self.url = settings.database_url or ""

    @activity.defn(name="open_or_join_billing_run")
    def open_or_join(self, run: RunInput) -> OpenedRun:
        """This process's row (created once), or the running run of the same cycle it joins."""
        process_id = activity.info().workflow_id
        try:
            with unit_of_work(self.url) as session:
                row = session.execute(
                    select(BillingRun).where(BillingRun.process_id == process_id)
                ).scalar_one_or_none()
                if row is None:
                    row = BillingRun(
                        id=run.run_id or new_id("run"),
                        organisation_id=run.organisation_id,
                        bill_day=run.bill_day,
                        period_date=run.period_date or datetime.now(UTC).date(),
                        dry_run=run.dry_run,
                        status="running",
                        process_id=process_id,
                        counts={},
                        amounts={},
                        failures=[],
                    )
                    session.add(row)
                    session.flush()
                return OpenedRun(run=run.model_copy(update={"run_id": row.id}))
        except IntegrityError:
            other = running_run(self.url, run)
            if other is None:
                raise  # the other run ended meanwhile: the retry opens this one
            return OpenedRun(run=run, joined_run_id=other.id)

    def all(self) -> list[Any]:
        return [self.open_or_join]
