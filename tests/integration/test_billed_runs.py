"""A bill run reads a service's billed periods as runs of consecutive days (activities.billing.page_data
.charged_spans): one span for a service billed every month, a new one after a gap, services and lines
kept apart, periods billed before services were recorded (no service) kept to their line. A line's
rental days the same way; discounts period by period (an offer counts its periods)."""

from __future__ import annotations

import uuid
from datetime import date

import sqlalchemy as sa

from activities.billing.extras import _billed, charges_billed
from activities.billing.page_data import charged_spans
from domain.invoice_extras import DISCOUNT, RENTAL, ChargeSpan
from domain.invoicing import BilledSpan
from models.base import engine_for, unit_of_work


def month(index: int) -> date:
    return date(2022 + index // 12, index % 12 + 1, 7)


def test_billed_periods_are_read_as_runs_of_consecutive_days(database_url: str) -> None:
    sub, other = f"sub_{uuid.uuid4().hex[:20]}", f"sub_{uuid.uuid4().hex[:20]}"
    rows = [(sub, "line_a", "svc_a", month(i), month(i + 1)) for i in range(36) if i != 20]  # a gap
    rows += [(sub, "line_a", None, month(0), month(2)), (sub, "line_a", None, month(2), month(3))]
    rows += [(sub, "line_b", "svc_b", month(i * 12), month(i * 12 + 12)) for i in range(3)]  # yearly
    rows += [(sub, "line_b", "svc_c", month(30), month(31))]
    rows += [(other, "line_x", "svc_x", month(5), month(6))]
    with engine_for(database_url).begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO billed_periods (subscription_id, line_id, service_id, period_start, period_end,"
                " invoice_id) VALUES (:s, :l, :v, :a, :b, 'inv_runs')"
            ),
            [{"s": s, "l": line, "v": svc, "a": a, "b": b} for s, line, svc, a, b in reversed(rows)],
        )
    with unit_of_work(database_url) as session:
        spans = charged_spans(session, [sub])
    assert set(spans) == {sub}
    assert spans[sub] == {
        BilledSpan("line_a", "svc_a", month(0), month(20)),
        BilledSpan("line_a", "svc_a", month(21), month(36)),
        BilledSpan("line_a", None, month(0), month(3)),
        BilledSpan("line_b", "svc_b", month(0), month(36)),
        BilledSpan("line_b", "svc_c", month(30), month(31)),
    }


def test_a_bill_run_reads_rentals_as_runs_and_discounts_period_by_period(database_url: str) -> None:
    sub = f"sub_{uuid.uuid4().hex[:20]}"
    rentals = [(sub, "device_rental", "line_a", month(i), month(i + 1)) for i in range(24) if i != 9]
    discounts = [(sub, "discount", "svc_a", month(i), month(i + 1)) for i in range(3)]
    with engine_for(database_url).begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO billed_charges (subscription_id, charge, key, period_start, period_end,"
                " invoice_id) VALUES (:s, :c, :k, :a, :b, 'inv_runs')"
            ),
            [{"s": s, "c": c, "k": k, "a": a, "b": b} for s, c, k, a, b in rentals + discounts],
        )
    with unit_of_work(database_url) as session:
        for_a_run = _billed(session, [sub], rental_runs=True)[sub]
        rows = charges_billed(session, sub)
    discounted = {ChargeSpan(DISCOUNT, "svc_a", month(i), month(i + 1)) for i in range(3)}
    assert for_a_run == {
        ChargeSpan(RENTAL, "line_a", month(0), month(9)),
        ChargeSpan(RENTAL, "line_a", month(10), month(24)),
        *discounted,
    }
    # a returned device's credit and a stop's read every billed period (each with its own plan)
    assert rows == {ChargeSpan(c, k, a, b) for _, c, k, a, b in rentals + discounts}
