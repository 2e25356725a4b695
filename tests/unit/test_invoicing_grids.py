"""domain.invoicing.due across plan changes between billing periods: every service on its own grid,
the same invoices whatever order the services come in, and the billed-period guard per service."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from domain.catalog import PlanSpec
from domain.invoicing import BilledSpan, ServiceSpan, SubscriptionToBill, due
from domain.quote import QuoteContext
from tests.support.plan_specs import MONTHLY, YEARLY, spec

START = date(2024, 1, 7)


def change(old: PlanSpec, new: PlanSpec, on: date) -> list[ServiceSpan]:
    return [
        ServiceSpan("svc_old", "line", old, "broadband", START, on, 1, replaced_by="svc_new"),
        ServiceSpan("svc_new", "line", new, "broadband", on, None, 1),
    ]


def runs(services: list[ServiceSpan], days: list[date], billed: frozenset[BilledSpan] = frozenset()) -> list:
    """Bill run after bill run (each remembering what the previous ones billed): the lines billed."""
    sub = SubscriptionToBill("sub", "EUR", 7, START, None, services, billed)
    lines = []
    for day in days:
        work = due(sub, day, QuoteContext("EUR"))
        lines += [(ln.service_id, ln.start, ln.end, ln.amount.amount_minor) for ln in work.lines]
        spans = {BilledSpan("line", s.service_id, p.start, p.end) for s, p in work.periods}
        sub = replace(sub, billed=sub.billed | spans)
    return lines


def monthly_runs(first: date, count: int) -> list[date]:
    return [
        date(first.year + (first.month - 1 + i) // 12, (first.month - 1 + i) % 12 + 1, 7)
        for i in range(count)
    ]


@pytest.mark.parametrize("reverse", [False, True])
def test_monthly_to_yearly_keeps_each_service_on_its_grid(reverse: bool) -> None:
    services = change(MONTHLY, YEARLY, date(2024, 3, 20))
    lines = runs(services[::-1] if reverse else services, monthly_runs(date(2024, 1, 7), 14))
    assert lines == [
        ("svc_old", date(2024, 1, 7), date(2024, 2, 7), 1200),
        ("svc_old", date(2024, 2, 7), date(2024, 3, 7), 1200),
        ("svc_old", date(2024, 3, 7), date(2024, 4, 7), 1200),
        ("svc_new", date(2025, 1, 7), date(2026, 1, 7), 12000),
    ]


@pytest.mark.parametrize("reverse", [False, True])
def test_yearly_to_monthly_at_the_year_end(reverse: bool) -> None:
    services = change(YEARLY, MONTHLY, date(2025, 1, 7))
    lines = runs(services[::-1] if reverse else services, monthly_runs(date(2024, 1, 7), 15))
    assert lines == [
        ("svc_old", date(2024, 1, 7), date(2025, 1, 7), 12000),
        ("svc_new", date(2025, 2, 7), date(2025, 3, 7), 1200),
        ("svc_new", date(2025, 3, 7), date(2025, 4, 7), 1200),
    ]


def test_a_year_billed_before_the_change_is_not_billed_again_month_by_month() -> None:
    """The guard holds across the grid change: the year billed for the old service stays billed."""
    services = change(YEARLY, MONTHLY, date(2025, 1, 7))
    billed = frozenset(
        {
            BilledSpan("line", "svc_old", date(2024, 1, 7), date(2025, 1, 7)),
            BilledSpan("line", "svc_old", date(2025, 1, 7), date(2026, 1, 7)),
        }
    )
    assert runs(services, [date(2025, 2, 7)], billed) == [
        ("svc_new", date(2025, 2, 7), date(2025, 3, 7), 1200)
    ]


def test_a_period_billed_before_services_were_recorded_guards_its_whole_line() -> None:
    services = [ServiceSpan("svc", "line", MONTHLY, "broadband", START, None, 1)]
    billed = frozenset({BilledSpan("line", None, date(2024, 1, 7), date(2024, 3, 7))})
    assert runs(services, [date(2024, 3, 7)], billed) == [("svc", date(2024, 3, 7), date(2024, 4, 7), 1200)]


def test_a_downgrade_without_refunds_bills_no_period_after_the_old_service_ended() -> None:
    no_refund = YEARLY.model_copy(update={"refund_policy": "none"})
    lines = runs(change(no_refund, MONTHLY, date(2025, 1, 7)), [date(2024, 1, 7), date(2025, 2, 7)])
    assert lines == [
        ("svc_old", date(2024, 1, 7), date(2025, 1, 7), 12000),
        ("svc_new", date(2025, 2, 7), date(2025, 3, 7), 1200),
    ]


@pytest.mark.parametrize("reverse", [False, True])
def test_in_arrears_each_service_bills_its_own_days(reverse: bool) -> None:
    old, new = spec("m", "31.00", "month", "in_arrears"), spec("q", "90.00", "quarter", "in_arrears")
    services = change(old, new, date(2024, 2, 7))
    lines = runs(services[::-1] if reverse else services, [date(2024, 3, 7), date(2024, 4, 7)])
    assert lines == [
        ("svc_old", date(2024, 1, 7), date(2024, 2, 7), 3100),
        ("svc_new", date(2024, 2, 7), date(2024, 4, 7), 5934),  # 60 of the quarter's 91 days
    ]
