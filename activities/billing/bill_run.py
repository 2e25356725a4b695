"""A bill run: its row (opened when the run starts unless the API made it, closed with what it billed), its
pages of due accounts, and billing a page or one account at once, each in the caller's transaction."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from activities.billing.drafts import draft_for, fully_billed_subscriptions
from activities.billing.extras import load_extras
from activities.billing.io import BillNow, Page, PageResult, RunInput, RunSummary, pages_of
from activities.billing.page_data import Catalogue, due_accounts_query, load_page
from activities.billing.results import billed_by_page, in_page
from activities.billing.writer import InvoiceDraft, too_large, write_invoices
from activities.events.outbox import record
from domain.events import BusinessEvent
from domain.ids import new_id
from domain.invoicing import cycle_of
from models.accounts import Account
from models.base import utcnow
from models.billing import BillingRun, BillingRunPage
from models.bulk import any_of
from models.organisations import Organisation
from models.subscriptions import Subscription


def new_run_row(run: RunInput, process_id: str | None) -> BillingRun:
    """The row of a run just accepted (not added to a session): running, nothing counted yet."""
    return BillingRun(
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
        created_at=datetime.now(UTC),
        finished_at=None,
    )


def open_run(session: Session, run: RunInput, process_id: str | None) -> RunInput:
    """The run's row for ``process_id`` (made here for a scheduled run); the run with its id."""
    row = session.execute(select(BillingRun).where(BillingRun.process_id == process_id)).scalar_one_or_none()
    if row is None:
        row = new_run_row(run, process_id)
        session.add(row)
    return run.model_copy(update={"run_id": row.id})


def finish_run(session: Session, summary: RunSummary) -> None:
    """Record the run's counts, amounts, failures and final status on its row; the first time a (real)
    run finishes, its ``billing_run.completed`` event."""
    result = summary.result
    row = session.get(BillingRun, summary.run.run_id, with_for_update=True)
    first_finish = row is not None and row.status == "running" and not summary.run.dry_run
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
    if first_finish:
        assert row is not None
        session.refresh(row)
        data = {
            "id": row.id,
            "organisation_id": row.organisation_id,
            "status": row.status,
            "bill_day": row.bill_day,
            "period_date": row.period_date.isoformat(),
            "counts": row.counts,
            "amounts": row.amounts,
        }
        record(
            session, BusinessEvent("billing_run.completed", row.organisation_id, "billing_run", row.id, data)
        )


def lock_for_billing(session: Session, account_ids: list[str]) -> None:
    """Take the page's accounts, then their subscriptions, each in id order, before reading anything
    billed: a subscription change (``apply_change``) holds its subscription's row for its whole
    transaction, so a change and a page billing the same subscription run one after the other, and the
    later one sees what the earlier billed or credited. ``FOR NO KEY UPDATE``: rows referencing them (a
    change's pending charge, an event) can still be inserted meanwhile, so a change holding its
    subscription never waits on the page's account lock, and the two never wait on each other in a cycle."""
    session.execute(
        select(Account.id)
        .where(any_of(Account.id, account_ids))
        .order_by(Account.id)
        .with_for_update(key_share=True)
    )
    session.execute(
        select(Subscription.id)
        .where(any_of(Subscription.account_id, account_ids))
        .order_by(Subscription.id)
        .with_for_update(key_share=True)
    )


def bill_accounts(
    session: Session, run: RunInput, org: Organisation, account_ids: list[str]
) -> tuple[PageResult, list[str]]:
    """Bill the due work of these accounts in the caller's transaction; returns the counts and invoice ids."""
    result = PageResult()
    operator = org.path.strip("/").split("/")[0]
    if not run.dry_run and account_ids:
        lock_for_billing(session, account_ids)
    catalogue = Catalogue(operator)
    catalogue.load(session)
    drafts: list[InvoiceDraft] = []
    ended: list[str] = []  # terminated subscriptions found fully billed
    taxes: dict[Any, Any] = {}
    entries = load_page(session, catalogue, org.path, run.bill_day, account_ids)
    extras = load_extras(session, operator, entries)
    for entry in entries:
        result.accounts += 1
        try:
            draft = draft_for(session, catalogue, entry, run, taxes, extras)
            done = fully_billed_subscriptions(entry, catalogue, extras) if entry.ended else []
        except Exception as exc:  # one account's failure never stops the run
            result.failed.append({"account_id": entry.account.id, "reason": f"{type(exc).__name__}: {exc}"})
            continue
        refused = too_large(draft) if draft is not None else None
        if refused is not None:  # nothing written for it; the page bills its other accounts
            result.failed.append({"account_id": entry.account.id, "reason": refused})
            continue
        if draft is not None:
            drafts.append(draft)
        ended += done
    for draft in drafts:
        result.credit_notes += 1 if draft.credits else 0
        if draft.lines:
            result.invoices += 1
            result.lines += len(draft.lines)
            currency = draft.account.currency
            result.amounts[currency] = result.amounts.get(currency, 0) + draft.tax.gross.amount_minor
    if run.dry_run:
        return result, []
    invoice_ids = write_invoices(session, operator, run.run_id, drafts)
    if ended:
        session.execute(
            update(Subscription)
            .where(any_of(Subscription.id, ended), Subscription.status == "terminated")
            .values(fully_billed_to=Subscription.end_date, updated_at=Subscription.updated_at)
            .execution_options(synchronize_session=False)  # the page read rows, not objects
        )
    return result, invoice_ids


def page_clause(after: str | None, until: str) -> Any:
    return in_page(Subscription.account_id, after, until)


def page_ends(session: Session, run: RunInput) -> list[str]:
    """The last due account id of each page of the run, in order (pages split the due accounts by id).

    The database numbers the due accounts and returns only each page's last one: the worker never holds
    every due id (a million accounts were ~150 MB of strings), and the pages follow the database's own
    order of ids, the one the page clauses (``<=``, ``>``) compare in."""
    org = session.get(Organisation, run.organisation_id)
    assert org is not None
    due = due_accounts_query(org.path, run.bill_day).subquery()
    ranked = select(
        due.c.account_id,
        func.row_number().over(order_by=due.c.account_id).label("n"),
        func.count().over().label("total"),
    ).subquery()
    return list(
        session.execute(
            select(ranked.c.account_id)
            .where((ranked.c.n % run.page_size == 0) | (ranked.c.n == ranked.c.total))
            .order_by(ranked.c.n)
        ).scalars()
    )


def plan_pages(session: Session, run: RunInput) -> list[Page]:
    """The run's pages (what runs started before ``page_ends`` existed plan with)."""
    return pages_of(run, page_ends(session, run))


def bill_page(session: Session, page: Page) -> PageResult:
    """Bill the page's due accounts; what the page billed, whichever attempt wrote it.

    A real run's page stores its result with its invoices (``billing_run_pages``): an attempt after one
    that committed answers that result without billing anything. Two attempts at once: the second to
    commit breaks the page's primary key, fails, and its retry answers the stored result."""
    run = page.run
    if not run.dry_run and run.run_id is not None:
        stored = session.get(BillingRunPage, (run.run_id, page.until))
        if stored is not None:
            return PageResult.model_validate(stored.result)
    org = session.get(Organisation, run.organisation_id)
    assert org is not None
    query = due_accounts_query(org.path, run.bill_day).where(page_clause(page.after, page.until))
    account_ids = sorted(session.execute(query).scalars())
    result, _ = bill_accounts(session, run, org, account_ids)
    if run.dry_run or run.run_id is None:
        return result
    # counted from the invoices: also right for a page committed before migration 0052 (no stored row)
    billed = billed_by_page(session, run.run_id, page.after, page.until, result.accounts, result.failed)
    session.add(BillingRunPage(run_id=run.run_id, until=page.until, result=billed.model_dump(mode="json")))
    return billed


def bill_now(session: Session, request: BillNow) -> list[str]:
    """Invoice what one subscription's account owes up to a date; the invoices' ids."""
    sub = session.get(Subscription, request.subscription_id)
    assert sub is not None
    org = session.get(Organisation, sub.organisation_id)
    assert org is not None
    run = RunInput(
        run_id=None,
        organisation_id=org.id,
        bill_day=cycle_of(sub.bill_day),
        period_date=request.up_to,
    )
    _, invoice_ids = bill_accounts(session, run, org, [sub.account_id])
    return invoice_ids
