"""domain.invoicing.due and the device rentals of domain.invoice_extras on subscriptions with years of
billed periods: the same periods as a walk over every period from the service's start would give, at
the cost of a new subscription (the walk starts at the end of the unbroken run of billed days; a gap in
the history is still billed)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from collections.abc import Set as AbstractSet
from dataclasses import replace
from datetime import date
from typing import Any

import pytest

import domain.invoice_extras as invoice_extras
import domain.invoicing as invoicing
from domain.catalog import PlanSpec
from domain.invoice_extras import RENTAL, ChargeSpan, Extras, extras_due
from domain.invoicing import BilledSpan, ServiceSpan, SubscriptionToBill, due
from domain.periods import Period, period_containing
from domain.quote import QuoteContext, bill_day_for
from tests.support.plan_specs import MONTHLY, YEARLY, spec

RUN_DAY = date(2026, 11, 7)
QUARTERLY_ARREARS = spec("qa", "90.00", "quarter", "in_arrears")


def months_back(count: int, day: int = 7) -> date:
    month = RUN_DAY.year * 12 + RUN_DAY.month - 1 - count
    return date(month // 12, month % 12 + 1, day)


def grid(sub: SubscriptionToBill, plan: PlanSpec, first: date) -> Iterator[Period]:
    """Every period of the plan's grid from the one holding ``first`` (the reference walk)."""
    day = bill_day_for(plan, sub.start_date, QuoteContext("EUR", bill_day=sub.bill_day))
    period = period_containing(first, day, plan.billing_period, plan.billing_interval, sub.start_date)
    while True:
        yield period
        period = period_containing(
            period.end, day, plan.billing_period, plan.billing_interval, sub.start_date
        )


def billed_by_runs(
    sub: SubscriptionToBill, up_to: date, skip: AbstractSet[date] = frozenset()
) -> frozenset[BilledSpan]:
    """What monthly runs up to ``up_to`` billed, except the periods starting on a day in ``skip``."""
    work = due(sub, up_to, QuoteContext("EUR"))
    return frozenset(
        BilledSpan(span.line_id, span.service_id, p.start, p.end)
        for span, p in work.periods
        if p.start not in skip
    )


def aged(
    months: int, plans: tuple[PlanSpec, ...] = (MONTHLY, MONTHLY), skip: AbstractSet[date] = frozenset()
) -> SubscriptionToBill:
    start = months_back(months)
    services = [
        ServiceSpan(f"svc_{i}", f"line_{i}", plan, "broadband", start, None, 1)
        for i, plan in enumerate(plans)
    ]
    sub = SubscriptionToBill("sub", "EUR", 7, start, None, services)
    return SubscriptionToBill(
        "sub", "EUR", 7, start, None, services, billed_by_runs(sub, months_back(1), skip)
    )


def periods_computed(monkeypatch: pytest.MonkeyPatch, sub: SubscriptionToBill) -> tuple[int, Any]:
    calls = [0]
    real = invoicing.period_containing

    def counting(*args: Any) -> Period:
        calls[0] += 1
        return real(*args)

    monkeypatch.setattr(invoicing, "period_containing", counting)
    work = due(sub, RUN_DAY, QuoteContext("EUR"))
    monkeypatch.setattr(invoicing, "period_containing", real)
    return calls[0], work


def test_a_subscription_billed_for_five_years_costs_a_run_what_a_two_month_old_one_does(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    young, young_work = periods_computed(monkeypatch, aged(2))
    old, old_work = periods_computed(monkeypatch, aged(60))
    assert len(aged(60).billed) == 120  # two services, 60 months each
    assert old == young, f"{old} periods computed for 5 years of history against {young} for 2 months"
    lines = [(ln.service_id, ln.start, ln.end, ln.amount.amount_minor) for ln in old_work.lines]
    assert lines == [
        ("svc_0", months_back(0), months_back(-1), 1200),
        ("svc_1", months_back(0), months_back(-1), 1200),
    ]
    assert [(ln.service_id, ln.start) for ln in young_work.lines] == [(s, d) for s, d, _, _ in lines]


def test_a_period_a_failed_run_never_billed_is_billed_by_the_next_run() -> None:
    gap = months_back(30)
    sub = aged(60, plans=(MONTHLY,), skip={gap})
    work = due(sub, RUN_DAY, QuoteContext("EUR"))
    assert [(ln.start, ln.end, ln.amount.amount_minor) for ln in work.lines] == [
        (gap, months_back(29), 1200),
        (months_back(0), months_back(-1), 1200),
    ]


def reference(sub: SubscriptionToBill, up_to: date) -> list[tuple[str, date]]:
    """The periods due by the definition: every live period of each service's grid from its start, up to
    ``up_to``, not overlapping a span billed for the service (or for its line before services)."""
    due_periods = []
    replaced = {s.replaced_by for s in sub.services if s.replaced_by}
    for span in sub.services:
        arrears = span.plan.billing_term.value == "in_arrears"
        for index, period in enumerate(grid(sub, span.plan, span.started_on)):
            a = max(span.started_on, period.start)
            ends = [d for d in (span.ended_on, sub.end_date) if d is not None]
            if arrears:
                if period.end > up_to or any(period.start >= end for end in ends):
                    break
            elif period.start > up_to or any(a >= end for end in ends):
                break
            mine = [
                b
                for b in sub.billed
                if b.service_id == span.service_id or (b.service_id is None and b.line_id == span.line_id)
            ]
            if not arrears and index == 0 and span.service_id in replaced:
                continue
            if any(b.start < period.end and period.start < b.end for b in mine):
                continue
            due_periods.append((span.service_id, period.start))
    return sorted(due_periods, key=lambda item: (item[1], item[0]))


@pytest.mark.parametrize("seed", range(40))
def test_the_periods_due_match_a_walk_over_the_whole_history(seed: int) -> None:
    """Random histories (gaps, spans billed before services were recorded, plan changes, ends, arrears):
    the periods ``due`` bills are those of the definition."""
    rng = random.Random(seed)
    start = months_back(rng.randint(1, 48))
    change_on = months_back(rng.randint(0, 40)) if rng.random() < 0.5 else None
    plans = [MONTHLY, YEARLY, QUARTERLY_ARREARS]
    first_plan, second_plan = rng.choice(plans), rng.choice(plans)
    services = []
    if change_on is not None and change_on > start:
        services.append(
            ServiceSpan("svc_a", "line", first_plan, "broadband", start, change_on, 1, replaced_by="svc_b")
        )
        services.append(ServiceSpan("svc_b", "line", second_plan, "broadband", change_on, None, 1))
    else:
        ended = months_back(rng.randint(0, 10), day=rng.randint(1, 28)) if rng.random() < 0.3 else None
        if ended is not None and ended <= start:
            ended = None
        services.append(ServiceSpan("svc_a", "line", first_plan, "broadband", start, ended, 1))
    sub = SubscriptionToBill("sub", "EUR", 7, start, None, services)
    history = set()
    for span in services:
        for period in grid(sub, span.plan, span.started_on):
            if period.start > RUN_DAY:
                break
            if rng.random() < 0.8:  # billed by a run; the rest are gaps
                owner = None if rng.random() < 0.1 else span.service_id
                history.add(BilledSpan("line", owner, period.start, period.end))
    sub = SubscriptionToBill("sub", "EUR", 7, start, None, services, frozenset(history))
    got = sorted(
        ((span.service_id, period.start) for span, period in due(sub, RUN_DAY, QuoteContext("EUR")).periods),
        key=lambda item: (item[1], item[0]),
    )
    assert got == reference(sub, RUN_DAY)


BOX = PlanSpec.model_validate(
    {
        "code": "tv",
        "name": "tv",
        "product_code": "tv",
        "phases": [{"kind": "evergreen", "prices": {"EUR": "20.00"}}],
        "device": {"product_code": "box", "mode": "rent", "prices": {"EUR": "3.00"}},
    }
)


def rented(months: int, gap: date | None = None) -> tuple[SubscriptionToBill, Extras]:
    """A line renting a box for ``months`` months, its service and rental billed every month since
    (except the month starting on ``gap``, which a failed run never billed)."""
    start = months_back(months)
    sub = SubscriptionToBill(
        "sub", "EUR", 7, start, None, [ServiceSpan("svc", "line", BOX, "video", start, None, 1)]
    )
    months_billed = [(months_back(m), months_back(m - 1)) for m in range(months, 0, -1)]
    billed = frozenset(BilledSpan("line", "svc", a, b) for a, b in months_billed if a != gap)
    rentals = frozenset(ChargeSpan(RENTAL, "line", a, b) for a, b in months_billed if a != gap)
    return replace(sub, billed=billed), Extras(billed=rentals)


def rental_lines_quoted(monkeypatch: pytest.MonkeyPatch, months: int) -> tuple[int, list[tuple[Any, ...]]]:
    quoted = [0]
    real = invoice_extras.device_rental_lines

    def counting(*args: Any, **kwargs: Any) -> Any:
        lines = real(*args, **kwargs)
        quoted[0] += len(lines)
        return lines

    monkeypatch.setattr(invoice_extras, "device_rental_lines", counting)
    sub, extras = rented(months)
    work = due(sub, RUN_DAY, QuoteContext("EUR"))
    more = extras_due(sub, extras, work.lines, RUN_DAY, QuoteContext("EUR"))
    monkeypatch.setattr(invoice_extras, "device_rental_lines", real)
    return quoted[0], [(ln.kind, ln.start, ln.end, ln.amount.amount_minor) for ln in more.lines]


def test_a_box_rented_for_five_years_quotes_one_period_of_rental_per_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    young = rental_lines_quoted(monkeypatch, 2)
    old = rental_lines_quoted(monkeypatch, 60)
    assert old == young == (1, [(RENTAL, months_back(0), months_back(-1), 300)])


def test_a_rental_period_a_failed_run_never_billed_is_billed_by_the_next_run() -> None:
    gap = months_back(30)
    sub, extras = rented(60, gap=gap)
    work = due(sub, RUN_DAY, QuoteContext("EUR"))
    more = extras_due(sub, extras, work.lines, RUN_DAY, QuoteContext("EUR"))
    assert [(ln.kind, ln.start, ln.end, ln.amount.amount_minor) for ln in more.lines] == [
        (RENTAL, gap, months_back(29), 300),
        (RENTAL, months_back(0), months_back(-1), 300),
    ]


def test_covered_until_follows_touching_and_overlapping_spans_in_any_order_and_stops_at_a_gap() -> None:
    d = lambda day: date(2026, 1, 1).replace(day=day)  # noqa: E731
    spans = [ChargeSpan(RENTAL, "l", d(10), d(20)), ChargeSpan(RENTAL, "l", d(1), d(5))]
    spans += [ChargeSpan(RENTAL, "l", d(5), d(12)), ChargeSpan(RENTAL, "l", d(22), d(28))]
    for order in (spans, spans[::-1], sorted(spans, key=lambda s: s.end)):
        assert invoicing.covered_until(order, d(1)) == d(20)  # 1-5, 5-12, 10-20 run on; 22 is past a gap
    assert invoicing.covered_until(spans, d(3)) == d(20)  # from inside a span
    assert invoicing.covered_until(spans, d(20)) == d(20)  # the gap's first day is not billed
    assert invoicing.covered_until(spans, d(22)) == d(28)
    assert invoicing.covered_until([], d(7)) == d(7)
