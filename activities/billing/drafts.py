"""Drafting an account's invoice and credit note from what is due: recurring charges, pending charges,
rated usage, rentals and bundle discounts, and their taxes (nothing written here; see writer.py)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from activities.billing.io import RunInput
from activities.billing.page_data import AccountToBill, Catalogue, tax_setup
from activities.billing.writer import InvoiceDraft
from activities.subscriptions.onboarding import local_today
from domain.invoice_extras import (
    RENTAL_CREDIT,
    RENTAL_REVENUE,
    ChargeSpan,
    Extras,
    extras_due,
    fully_billed,
)
from domain.invoicing import DraftLine, due
from domain.money import Money, round_minor
from domain.quote import QuoteContext
from domain.tax import TaxableLine, TaxRate, TaxStatus, compute_tax

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
    charges = [line for line in _charge_lines(entry) if line.amount.currency == account.currency]
    for sub in entry.subscriptions:
        if sub.currency != account.currency:
            ctx_sub = QuoteContext(sub.currency, price_overrides={}, rounding=catalogue.rounding)
        else:
            ctx_sub = ctx
        work = due(sub, up_to, ctx_sub, catalogue.rounding)
        lines += work.lines
        periods += [(sub.subscription_id, span, period) for span, period in work.periods]
        own = [
            line for line in charges if line.subscription_id == sub.subscription_id
        ]  # an offer discounts them
        more = extras_due(
            sub, (extras or {}).get(sub.subscription_id, Extras()), work.lines + own, up_to, ctx_sub
        )
        lines += more.lines
        charged += [(sub.subscription_id, span) for span in more.billed]
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
    credit_tax = None  # most accounts have nothing credited
    if credits:  # on the credited amounts, as positive figures: the note negates them
        credit_tax = compute_tax(
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


def fully_billed_subscriptions(
    entry: AccountToBill, catalogue: Catalogue, extras: dict[str, Extras]
) -> list[str]:
    """The account's terminated subscriptions no later run can bill anything of their own (see
    ``page_data.billable``): the run records them, and later runs pass them by."""
    return [
        sub.subscription_id
        for sub in entry.subscriptions
        if sub.subscription_id in entry.ended
        and fully_billed(
            sub,
            extras.get(sub.subscription_id, Extras()),
            QuoteContext(sub.currency, rounding=catalogue.rounding),
        )
    ]
