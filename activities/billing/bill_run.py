"""Billing due accounts: plan a run's pages, bill a page (idempotently) or one account at once, in the
caller's transaction; the drafts of each account's invoice and credit note."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from temporalio import activity

from activities.billing.extras import load_extras
from activities.billing.io import BillNow, Page, PageResult, RunInput
from activities.billing.page_data import AccountToBill, Catalogue, due_accounts_query, load_page, tax_setup
from activities.billing.results import billed_by_page, in_page
from activities.billing.writer import InvoiceDraft, too_large, write_invoices
from activities.subscriptions.onboarding import local_today
from domain.invoice_extras import RENTAL_CREDIT, RENTAL_REVENUE, ChargeSpan, Extras, extras_due
from domain.invoicing import DraftLine, cycle_of, due
from domain.money import Money, round_minor
from domain.quote import QuoteContext
from domain.tax import TaxableLine, TaxRate, TaxStatus, compute_tax
from models.accounts import Account
from models.organisations import Organisation
from models.subscriptions import Subscription

NO_TAX = TaxRate("none", Decimal(0))
PAYMENT_TERMS_DAYS = 14


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


def plan_pages(session: Session, run: RunInput) -> list[Page]:
    """Split the run's due accounts into pages by id (each page names its last account)."""
    org = session.get(Organisation, run.organisation_id)
    assert org is not None
    ids = sorted(session.execute(due_accounts_query(org.path, run.bill_day)).scalars())
    pages, after = [], None
    for start in range(0, len(ids), run.page_size):
        chunk = ids[start : start + run.page_size]
        pages.append(Page(run=run, after=after, until=chunk[-1]))
        after = chunk[-1]
    return pages


def bill_page(session: Session, page: Page) -> PageResult:
    """Bill the page's due accounts; what the page billed, whichever attempt wrote it."""
    run = page.run
    org = session.get(Organisation, run.organisation_id)
    assert org is not None
    query = due_accounts_query(org.path, run.bill_day).where(page_clause(page.after, page.until))
    account_ids = sorted(session.execute(query).scalars())
    result, _ = bill_accounts(session, run, org, account_ids)
    if run.dry_run or run.run_id is None:
        return result
    return billed_by_page(session, run.run_id, page.after, page.until, result.accounts, result.failed)


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
