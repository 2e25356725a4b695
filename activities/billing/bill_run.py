"""The bill run's activities: plan pages of due accounts, bill a page (idempotently), close the run."""

from __future__ import annotations

import gc
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import select, update
from sqlalchemy.orm import Session
from temporalio import activity

from activities.billing.extras import load_extras
from activities.billing.page_data import AccountToBill, Catalogue, due_accounts_query, load_page, tax_setup
from activities.billing.results import PageResult, billed_by_page, hold_after_commit, in_page
from activities.billing.writer import InvoiceDraft, too_large, write_invoices
from activities.shared.heartbeat import heartbeating
from activities.subscriptions.onboarding import local_today
from domain.ids import new_id
from domain.invoice_extras import RENTAL_CREDIT, RENTAL_REVENUE, ChargeSpan, Extras, extras_due
from domain.invoicing import DraftLine, cycle_of, due
from domain.money import Money, round_minor
from domain.quote import QuoteContext
from domain.tax import TaxableLine, TaxRate, TaxStatus, compute_tax
from models.accounts import Account
from models.base import unit_of_work, utcnow
from models.billing import BillingRun
from models.organisations import Organisation
from models.subscriptions import Subscription
from runtime.settings import Settings

NO_TAX = TaxRate("none", Decimal(0))
PAYMENT_TERMS_DAYS = 14


class RunInput(BaseModel):
    run_id: str | None = None
    organisation_id: str
    bill_day: int
    period_date: date | None = Field(default=None, description="None: each account's local today")
    dry_run: bool = False
    page_size: int = 500
    parallelism: int = 4
    heartbeat_seconds: int = Field(
        default=20,
        ge=1,
        description="heartbeat timeout of a page: one silent this long (its worker died) is retried"
        " elsewhere; a page heartbeats four times as often",
    )


class Page(BaseModel):
    run: RunInput
    after: str | None
    until: str


class BillNow(BaseModel):
    subscription_id: str
    up_to: date


class RunSummary(BaseModel):
    run: RunInput
    pages: int
    result: PageResult
    status: str
    prepaid: dict[str, Any] = Field(default_factory=dict, description="wallet renewals of prepaid terms")


def revenue_of(charge: Any, entry: AccountToBill) -> str:
    """A pending charge's revenue kind: its service's, but a rental's credit reverses device revenue."""
    if charge.kind == RENTAL_CREDIT:
        return RENTAL_REVENUE
    return entry.service_kinds.get(charge.service_id or "", "other")


def _charge_lines(entry: AccountToBill) -> list[DraftLine]:
    lines = []
    for charge in entry.charges:
        lines.append(
            DraftLine(
                charge.subscription_id,
                charge.service_id,
                charge.kind,
                charge.description,
                None,
                charge.period_start,
                charge.period_end,
                Decimal(charge.quantity),
                Decimal(charge.unit_price),
                Money(charge.amount_minor, charge.currency),
                charge.tax_category,
                revenue_of(charge, entry),
                charge.id,
            )
        )
    return lines


def usage_lines(
    entry: AccountToBill, up_to: date, currency: str, rounding: Any
) -> tuple[list[DraftLine], list[int]]:
    """Rated usage of elapsed periods, one line per period, metric and destination, rounded once each."""
    groups: dict[tuple[Any, ...], list[Any]] = defaultdict(list)
    for rated in entry.usage:
        if rated.period_end <= up_to and rated.currency == currency:
            key = (
                rated.subscription_id,
                rated.period_start,
                rated.period_end,
                rated.metric,
                rated.destination_name or rated.destination or "",
                rated.service_id,
            )
            groups[key].append(rated)
    lines, ids = [], []
    for (sub_id, start, end, metric, destination, service_id), rows in sorted(groups.items()):
        total = sum((Decimal(r.amount) for r in rows), Decimal(0))
        quantity = sum(r.quantity for r in rows)
        amount = Money(round_minor(total, currency, rounding), currency)
        label = f"{metric} {destination}".strip()
        lines.append(
            DraftLine(
                sub_id,
                service_id,
                "usage",
                f"{label}: {len(rows)} events",
                None,
                start,
                end,
                Decimal(quantity),
                total,
                amount,
                entry.service_tax.get(service_id, "standard"),
                entry.service_kinds.get(service_id, "usage"),
            )
        )
        ids += [r.id for r in rows]
    return lines, ids


def draft_for(
    session: Session,
    catalogue: Catalogue,
    entry: AccountToBill,
    run: RunInput,
    taxes: dict[Any, Any],
    extras: dict[str, Extras] | None = None,
) -> InvoiceDraft | None:
    account = entry.account
    if entry.errors:
        raise ValueError("; ".join(entry.errors))
    up_to = run.period_date or local_today(account.timezone)
    setup = tax_setup(session, catalogue.operator, account, taxes)
    ctx = QuoteContext(account.currency, price_overrides=setup.overrides, rounding=catalogue.rounding)
    lines: list[DraftLine] = []
    periods = []
    charged: list[tuple[str, ChargeSpan]] = []  # rentals' and discounts' periods billed now
    for sub in entry.subscriptions:
        if sub.currency != account.currency:
            ctx_sub = QuoteContext(sub.currency, price_overrides={}, rounding=catalogue.rounding)
        else:
            ctx_sub = ctx
        work = due(sub, up_to, ctx_sub, catalogue.rounding)
        lines += work.lines
        periods += [(sub.subscription_id, span, period) for span, period in work.periods]
        more = extras_due(sub, (extras or {}).get(sub.subscription_id, Extras()), work.lines, up_to, ctx_sub)
        lines += more.lines
        charged += [(sub.subscription_id, span) for span in more.billed]
    charges = [line for line in _charge_lines(entry) if line.amount.currency == account.currency]
    lines += [line for line in charges if line.amount.amount_minor >= 0]
    credits = [line for line in charges if line.amount.amount_minor < 0]  # issued as a credit note
    rated, usage_ids = usage_lines(entry, up_to, account.currency, catalogue.rounding)
    lines += rated
    lines = [line for line in lines if line.amount.currency == account.currency]
    if not lines and not periods and not credits:
        return None
    rates = {line.tax_category: setup.rates.get(line.tax_category, NO_TAX) for line in lines + credits}
    status = TaxStatus(account.tax_status)
    tax = compute_tax(
        [TaxableLine(line.amount, rates[line.tax_category]) for line in lines],
        account.currency,
        inclusive=setup.inclusive,
        status=status,
        mode=catalogue.rounding,
    )
    credit_tax = compute_tax(  # on the credited amounts, as positive figures: the note negates them
        [TaxableLine(-line.amount, rates[line.tax_category]) for line in credits],
        account.currency,
        inclusive=setup.inclusive,
        status=status,
        mode=catalogue.rounding,
    )
    return InvoiceDraft(
        account=account,
        issue_date=up_to,
        due_date=up_to + timedelta(days=PAYMENT_TERMS_DAYS),
        lines=lines,
        rates=rates,
        tax=tax,
        inclusive=setup.inclusive,
        periods=periods,
        charge_ids=[c.id for c in entry.charges if c.currency == account.currency],
        usage_ids=usage_ids,
        credits=credits,
        credit_tax=credit_tax,
        charged=charged,
    )


@contextmanager
def paused_gc() -> Iterator[None]:
    """A page allocates many short-lived objects; full collections mid-page cost more than they free."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class BillingActivities:
    def __init__(self, settings: Settings) -> None:
        if not settings.database_url:
            raise RuntimeError("DATABASE_URL is not set: billing activities need the database")
        self.url = settings.database_url
        production = settings.environment == "production"
        self.hold_flag = None if production else settings.billing_hold_page_file

    @activity.defn(name="open_billing_run")
    def open_run(self, run: RunInput) -> RunInput:
        """The run's row (created by the API, or here for a scheduled run); its id is returned."""
        process_id = activity.info().workflow_id
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
            return run.model_copy(update={"run_id": row.id})

    @activity.defn(name="plan_billing_pages")
    def plan_pages(self, run: RunInput) -> list[Page]:
        """Split the due accounts into pages by id (each page names its last account)."""
        with heartbeating(), unit_of_work(self.url) as session:
            org = session.get(Organisation, run.organisation_id)
            assert org is not None
            ids = sorted(session.execute(due_accounts_query(org.path, run.bill_day)).scalars())
        pages, after = [], None
        for start in range(0, len(ids), run.page_size):
            chunk = ids[start : start + run.page_size]
            pages.append(Page(run=run, after=after, until=chunk[-1]))
            after = chunk[-1]
        return pages

    @activity.defn(name="bill_page")
    def bill_page(self, page: Page) -> PageResult:
        """Bill every due account of the page in one transaction (a retry bills nothing twice) and report
        what the page billed, also when an earlier attempt committed it and died before completing."""
        with paused_gc(), heartbeating():
            result = self._bill_page(page)
            hold_after_commit(self.hold_flag)
            return result

    def _bill_page(self, page: Page) -> PageResult:
        run = page.run
        with unit_of_work(self.url) as session:
            org = session.get(Organisation, run.organisation_id)
            assert org is not None
            query = due_accounts_query(org.path, run.bill_day).where(page_clause(page.after, page.until))
            account_ids = sorted(session.execute(query).scalars())
            result, _ = bill_accounts(session, run, org, account_ids)
            if run.dry_run or run.run_id is None:
                return result
            return billed_by_page(session, run.run_id, page.after, page.until, result.accounts, result.failed)

    @activity.defn(name="bill_account_now")
    def bill_now(self, request: BillNow) -> list[str]:
        """Invoice what one subscription's account owes up to a date at once (first invoice at activation)."""
        with paused_gc(), unit_of_work(self.url) as session:
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

    @activity.defn(name="finish_billing_run")
    def finish_run(self, summary: RunSummary) -> None:
        with unit_of_work(self.url) as session:
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

    def all(self) -> list[Any]:
        return [self.open_run, self.plan_pages, self.bill_page, self.finish_run, self.bill_now]


def lock_for_billing(session: Session, account_ids: list[str]) -> None:
    """Take the page's accounts, then their subscriptions, each in id order, before reading anything
    billed: a subscription change (``apply_change``) holds its subscription's row for its whole
    transaction, so a change and a page billing the same subscription run one after the other, and the
    later one sees what the earlier billed or credited. ``FOR NO KEY UPDATE``: rows referencing them (a
    change's pending charge, an event) can still be inserted meanwhile, so a change holding its
    subscription never waits on the page's account lock, and the two never wait on each other in a cycle."""
    session.execute(
        select(Account.id)
        .where(Account.id.in_(account_ids))
        .order_by(Account.id)
        .with_for_update(key_share=True)
    )
    session.execute(
        select(Subscription.id)
        .where(Subscription.account_id.in_(account_ids))
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
    taxes: dict[Any, Any] = {}
    entries = load_page(session, catalogue, org.path, run.bill_day, account_ids)
    extras = load_extras(session, operator, entries)
    for index, entry in enumerate(entries):
        result.accounts += 1
        try:
            draft = draft_for(session, catalogue, entry, run, taxes, extras)
        except Exception as exc:  # one account's failure never stops the run
            result.failed.append({"account_id": entry.account.id, "reason": f"{type(exc).__name__}: {exc}"})
            continue
        refused = too_large(draft) if draft is not None else None
        if refused is not None:  # nothing written for it; the page bills its other accounts
            result.failed.append({"account_id": entry.account.id, "reason": refused})
            continue
        if draft is not None:
            drafts.append(draft)
        if index % 10 == 0 and activity.in_activity():
            activity.heartbeat(index)
    for draft in drafts:
        result.credit_notes += 1 if draft.credits else 0
        if draft.lines:
            result.invoices += 1
            result.lines += len(draft.lines)
            currency = draft.account.currency
            result.amounts[currency] = result.amounts.get(currency, 0) + draft.tax.gross.amount_minor
    invoice_ids = [] if run.dry_run else write_invoices(session, operator, run.run_id, drafts)
    return result, invoice_ids


def page_clause(after: str | None, until: str) -> Any:
    return in_page(Subscription.account_id, after, until)


def merge(results: list[PageResult]) -> PageResult:
    total = PageResult()
    amounts: dict[str, int] = defaultdict(int)
    for r in results:
        total.accounts += r.accounts
        total.invoices += r.invoices
        total.credit_notes += r.credit_notes
        total.lines += r.lines
        total.failed += r.failed
        for currency, amount in r.amounts.items():
            amounts[currency] += amount
    total.amounts = dict(amounts)
    return total
