"""Allocation, overpayment, refund limits and invoice states (pure, with hypothesis)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import RuleViolation
from domain.payments import (
    Allocation,
    OpenInvoice,
    allocate,
    check_refund,
    collection_key,
    invoice_status_after,
    payment_status_after_refund,
    unwind_refund,
)

DAY = date(2026, 1, 1)


def inv(n: int, open_minor: int, currency: str = "EUR", status: str = "issued") -> OpenInvoice:
    return OpenInvoice(f"inv_{n}", currency, open_minor, DAY + timedelta(days=n), status)


def test_oldest_first_partial_and_overpayment() -> None:
    plan = allocate(1500, "EUR", [inv(2, 605), inv(1, 1210)])
    assert plan.allocations == (Allocation("inv_1", 1210), Allocation("inv_2", 290))
    assert plan.unallocated_minor == 0
    over = allocate(2000, "EUR", [inv(1, 1210), inv(2, 605)])
    assert (over.allocated_minor, over.unallocated_minor) == (1815, 185)


def test_chosen_order_and_refusals() -> None:
    plan = allocate(700, "EUR", [inv(1, 1210), inv(2, 605)], chosen=["inv_2", "inv_1"])
    assert plan.allocations == (Allocation("inv_2", 605), Allocation("inv_1", 95))
    with pytest.raises(RuleViolation) as err:
        allocate(100, "EUR", [inv(1, 100)], chosen=["inv_9"])
    assert err.value.code == "invoice_not_payable"
    with pytest.raises(RuleViolation) as err:
        allocate(100, "USD", [inv(1, 100)], chosen=["inv_1"])
    assert err.value.code == "currency_mismatch"
    with pytest.raises(RuleViolation) as err:
        allocate(100, "EUR", [inv(1, 100, status="void")], chosen=["inv_1"])
    assert err.value.code == "invoice_not_payable"


def test_refund_limits_and_states() -> None:
    check_refund(1210, 210, 1000, "partially_refunded")
    for amount, refunded, asked, status, code in [
        (1210, 0, 1211, "succeeded", "refund_exceeds_payment"),
        (1210, 1000, 211, "partially_refunded", "refund_exceeds_payment"),
        (1210, 0, 0, "succeeded", "invalid_amount"),
        (1210, 0, 10, "failed", "payment_not_refundable"),
    ]:
        with pytest.raises(RuleViolation) as err:
            check_refund(amount, refunded, asked, status)
        assert err.value.code == code
    assert payment_status_after_refund(1210, 210) == "partially_refunded"
    assert payment_status_after_refund(1210, 1210) == "refunded"
    assert invoice_status_after("issued", 1210, 1210) == "paid"
    assert invoice_status_after("overdue", 1210, 10) == "partially_paid"
    assert invoice_status_after("overdue", 1210, 0) == "overdue"
    assert invoice_status_after("issued", 1210, 1000, credited_minor=210) == "paid"
    assert invoice_status_after("void", 1210, 0) == "void"
    assert unwind_refund(500, 395, [Allocation("a", 100), Allocation("b", 605)]) == (
        395,
        [Allocation("b", 105)],
    )
    assert collection_key("inv_1", 3) == "inv_1:attempt:3"


invoices = st.lists(st.integers(min_value=1, max_value=100_000), min_size=0, max_size=8).map(
    lambda amounts: [inv(n, a) for n, a in enumerate(amounts)]
)


@given(amount=st.integers(min_value=1, max_value=500_000), open_invoices=invoices)
def test_allocation_conserves_money_and_never_overpays_an_invoice(
    amount: int, open_invoices: list[OpenInvoice]
) -> None:
    plan = allocate(amount, "EUR", open_invoices)
    assert plan.allocated_minor + plan.unallocated_minor == amount
    assert plan.unallocated_minor >= 0
    owed = {i.invoice_id: i.open_minor for i in open_invoices}
    assert all(0 < a.amount_minor <= owed[a.invoice_id] for a in plan.allocations)
    # oldest first: every invoice before the last one touched is paid in full
    for a in plan.allocations[:-1]:
        assert a.amount_minor == owed[a.invoice_id]
    if plan.unallocated_minor:
        assert plan.allocated_minor == sum(owed.values())


@given(
    applied=st.lists(st.integers(min_value=1, max_value=10_000), max_size=6),
    credit=st.integers(min_value=0, max_value=10_000),
    data=st.data(),
)
def test_a_refund_unwinds_exactly_its_amount(applied: list[int], credit: int, data: st.DataObject) -> None:
    total = sum(applied) + credit
    if total == 0:
        return
    refund = data.draw(st.integers(min_value=1, max_value=total))
    allocations = [Allocation(f"inv_{n}", a) for n, a in enumerate(applied)]
    from_credit, taken = unwind_refund(refund, credit, allocations)
    assert from_credit + sum(t.amount_minor for t in taken) == refund
    assert from_credit == min(refund, credit)
