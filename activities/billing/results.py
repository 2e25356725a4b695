"""What a bill-run page billed, read back from the database, and the test-only hold after its commit.

A page's result is what the database holds for it (the run's invoices and credit notes of the page's
accounts), not what the attempt that returns it happened to write: when a worker dies after a page's
transaction committed but before Temporal recorded the activity's completion, the retried page finds
every account billed, writes nothing, and still reports what that page billed.
"""

from __future__ import annotations

import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from activities.billing.io import PageResult
from models.billing import CreditNote, Invoice, InvoiceLine

CREDIT_KEY = "bill-credit:"


def credit_key(run_id: str | None, charge_ids: list[str]) -> str:
    """The idempotency key of a bill run's credit note: its run, then the charges it credits."""
    return f"{CREDIT_KEY}{run_id or '-'}:" + ",".join(sorted(charge_ids))


def in_page(column: Any, after: str | None, until: str) -> Any:
    """Accounts of the page ``(after, until]`` (pages split the due accounts by id)."""
    clause = column <= until
    return clause if after is None else clause & (column > after)


def billed_by_page(
    session: Session, run_id: str, after: str | None, until: str, accounts: int, failed: list[dict[str, str]]
) -> PageResult:
    """The page's invoices and credit notes of this run, whichever attempt wrote them."""
    result = PageResult(accounts=accounts, failed=failed)
    page = in_page(Invoice.account_id, after, until)
    amounts: dict[str, int] = defaultdict(int)
    invoices = session.execute(
        select(Invoice.currency, func.count(), func.sum(Invoice.total_minor))
        .where(Invoice.billing_run_id == run_id, page)
        .group_by(Invoice.currency)
    ).all()
    for currency, count, total in invoices:
        result.invoices += count
        amounts[currency] += int(total)
    result.amounts = dict(amounts)
    result.lines = session.execute(
        select(func.count())
        .select_from(InvoiceLine)
        .join(Invoice, Invoice.id == InvoiceLine.invoice_id)
        .where(Invoice.billing_run_id == run_id, page)
    ).scalar_one()
    result.credit_notes = session.execute(
        select(func.count()).where(
            CreditNote.idempotency_key.startswith(credit_key(run_id, []), autoescape=True),
            in_page(CreditNote.account_id, after, until),
        )
    ).scalar_one()
    return result


def hold_after_commit(flag: Path | None) -> None:
    """TEST ONLY (inert unless configured): while ``flag`` exists, hold the page between its commit and
    its completion, after saying so in ``<flag>.held``, so a test can kill the worker there."""
    if flag is None or not flag.exists():
        return
    flag.with_name(flag.name + ".held").touch()
    while flag.exists():
        time.sleep(0.05)
