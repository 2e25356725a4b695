"""Posting rules: every entry balances, a credit note reverses an invoice exactly, balances add up."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.ledger import (
    RECEIVABLE,
    Posting,
    balance,
    check_balanced,
    credit_note_entry,
    invoice_entry,
    payment_entry,
    refund_entry,
    side,
    write_off_entry,
)
from domain.money import PricingError

amounts = st.integers(min_value=-(10**9), max_value=10**9)
revenue_maps = st.dictionaries(
    st.sampled_from(["video", "broadband", "voice", "device"]), amounts, max_size=4
)
tax_maps = st.dictionaries(st.sampled_from(["ES-standard", "ES-reduced", "PT-standard"]), amounts, max_size=3)


def _net(postings: list[Posting]) -> dict[tuple[str, str | None], int]:
    out: dict[tuple[str, str | None], int] = {}
    for p in postings:
        key = (p.ledger_account, p.customer_id)
        out[key] = out.get(key, 0) + p.debit_minor - p.credit_minor
    return {k: v for k, v in out.items() if v}


def _balanced(postings: list[Posting]) -> bool:
    return sum(p.debit_minor - p.credit_minor for p in postings) == 0


def test_an_invoice_entry_is_exact() -> None:
    postings = invoice_entry("acc_1", "EUR", {"video": 1500, "broadband": 3000}, {"ES-standard": 945})
    assert postings == [
        Posting(RECEIVABLE, 5445, 0, "EUR", "acc_1"),
        Posting("revenue:broadband", 0, 3000, "EUR"),
        Posting("revenue:video", 0, 1500, "EUR"),
        Posting("tax:ES-standard", 0, 945, "EUR"),
    ]
    assert balance(postings, "acc_1") == {"EUR": 5445}


@given(revenue_maps, tax_maps)
def test_every_invoice_and_credit_note_entry_balances(revenue: dict[str, int], taxes: dict[str, int]) -> None:
    if not any(revenue.values()) and not any(taxes.values()):
        with pytest.raises(PricingError):
            invoice_entry("acc_1", "EUR", revenue, taxes)
        return
    for entry in (invoice_entry, credit_note_entry):
        postings = entry("acc_1", "EUR", revenue, taxes)
        assert _balanced(postings)
        assert all((p.debit_minor > 0) != (p.credit_minor > 0) for p in postings)


@given(revenue_maps, tax_maps)
def test_a_credit_note_reverses_its_invoice_exactly(revenue: dict[str, int], taxes: dict[str, int]) -> None:
    if not any(revenue.values()) and not any(taxes.values()):
        return
    invoice = invoice_entry("acc_1", "EUR", revenue, taxes)
    credit = credit_note_entry("acc_1", "EUR", revenue, taxes)
    assert _net(invoice + credit) == {}
    assert _net(credit) == {k: -v for k, v in _net(invoice).items()}
    assert balance(invoice + credit, "acc_1") == {"EUR": 0}


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["invoice", "credit", "pay", "refund", "write_off"]),
            st.integers(min_value=1, max_value=10**7),
            st.sampled_from(["EUR", "USD"]),
        ),
        max_size=30,
    )
)
def test_balance_is_the_sum_of_what_each_event_moves(events: list[tuple[str, int, str]]) -> None:
    postings: list[Posting] = []
    expected: dict[str, int] = {}
    for kind, amount, currency in events:
        if kind == "invoice":
            postings += invoice_entry("acc_1", currency, {"video": amount}, {})
            delta = amount
        elif kind == "credit":
            postings += credit_note_entry("acc_1", currency, {"video": amount}, {})
            delta = -amount
        elif kind == "pay":
            postings += payment_entry("acc_1", currency, amount, "card")
            delta = -amount
        elif kind == "refund":
            postings += refund_entry("acc_1", currency, amount, "card")
            delta = amount
        else:
            postings += write_off_entry("acc_1", currency, amount)
            delta = -amount
        expected[currency] = expected.get(currency, 0) + delta
        assert sum(p.debit_minor - p.credit_minor for p in postings if p.currency == currency) == 0
    postings += invoice_entry("acc_2", "EUR", {"video": 999}, {})  # another customer never counts
    assert balance(postings, "acc_1") == expected


def test_payment_and_refund_mirror_each_other() -> None:
    pay = payment_entry("acc_1", "EUR", 2500, "card")
    assert pay == [Posting("cash:card", 2500, 0, "EUR"), Posting(RECEIVABLE, 0, 2500, "EUR", "acc_1")]
    assert _net(pay + refund_entry("acc_1", "EUR", 2500, "card")) == {}


def test_unbalanced_or_empty_entries_are_refused() -> None:
    with pytest.raises(PricingError) as err:
        check_balanced([Posting(RECEIVABLE, 100, 0, "EUR", "acc_1"), Posting("revenue:video", 0, 99, "EUR")])
    assert err.value.code == "ledger_unbalanced"
    with pytest.raises(PricingError) as err:
        check_balanced([Posting("cash:card", 100, 0, "EUR"), Posting(RECEIVABLE, 0, 100, "USD", "acc_1")])
    assert err.value.code == "ledger_unbalanced"
    with pytest.raises(PricingError) as err:
        check_balanced([])
    assert err.value.code == "ledger_empty"


def test_side_moves_a_negative_amount_to_the_other_side() -> None:
    assert side("revenue:video", -300, "EUR", debit=False) == Posting("revenue:video", 300, 0, "EUR")
    assert side("revenue:video", 0, "EUR", debit=False) is None
