"""A bill run's row: opened when the run starts (unless the API made it), closed with what the run billed."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from activities.billing.io import RunInput, RunSummary
from domain.ids import new_id
from models.base import utcnow
from models.billing import BillingRun


def open_run(session: Session, run: RunInput, process_id: str | None) -> RunInput:
    """The run's row for ``process_id`` (made here for a scheduled run); the run with its id."""
    row = session.execute(select(BillingRun).where(BillingRun.process_id == process_id)).scalar_one_or_none()
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
    return run.model_copy(update={"run_id": row.id})


def finish_run(session: Session, summary: RunSummary) -> None:
    """Record the run's counts, amounts, failures and final status on its row."""
    result = summary.result
    session.execute(
        update(BillingRun)
        .where(BillingRun.id == summary.run.run_id)
        .values(
            status="preview" if summary.run.dry_run else summary.status,
            counts={
                "pages": summary.pages,
                "accounts": result.accounts,
                "invoices": result.invoices,
                "credit_notes": result.credit_notes,
                "lines": result.lines,
                "failed": len(result.failed),
                **{f"prepaid_{k}": v for k, v in summary.prepaid.items() if k != "amount_minor"},
            },
            amounts=result.amounts,
            failures=result.failed[:1000],
            finished_at=utcnow(),
        )
    )
