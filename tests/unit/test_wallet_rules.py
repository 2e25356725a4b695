"""Wallet and voucher rules (pure): funding, low-balance crossings, balanced postings, voucher codes."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import RuleViolation
from domain.ledger import check_balanced
from domain.vouchers import code_hash, formatted, new_code, normalise_code, redeemable
from domain.wallets import (
    apply_debit,
    crossed_below,
    invoice_payment_entry,
    reversal,
    service_debit_entry,
    suspend_at_period_end,
    top_up_entry,
)


def test_a_wallet_that_cannot_pay_the_next_period_suspends() -> None:
    assert suspend_at_period_end(999, 1000) is True
    assert suspend_at_period_end(1000, 1000) is False
    assert suspend_at_period_end(0, 0) is False


@given(st.integers(0, 10**9), st.integers(1, 10**9))
def test_debits_never_overdraw(balance: int, amount: int) -> None:
    after = apply_debit(balance, amount)
    assert (after is None) == (amount > balance)
    assert after is None or after == balance - amount >= 0


def test_low_balance_is_crossed_once_on_the_way_down() -> None:
    assert crossed_below(1000, 1500, 999) is True
    assert crossed_below(1000, 1000, 999) is True
    assert crossed_below(1000, 999, 500) is False
    assert crossed_below(1000, 2000, 1000) is False
    assert crossed_below(0, 10, 0) is False


def test_postings_are_balanced_and_exact() -> None:
    top = top_up_entry("acc_1", "EUR", 2500, "voucher")
    assert [(p.ledger_account, p.debit_minor, p.credit_minor) for p in top] == [
        ("cash:voucher", 2500, 0),
        ("wallet", 0, 2500),
    ]
    debit = service_debit_entry("acc_1", "EUR", {"video": 500, "broadband": 1000})
    assert [(p.ledger_account, p.debit_minor, p.credit_minor) for p in debit] == [
        ("wallet", 1500, 0),
        ("revenue:broadband", 0, 1000),
        ("revenue:video", 0, 500),
    ]
    pay = invoice_payment_entry("acc_1", "EUR", 700)
    back = reversal(pay)
    assert [(p.ledger_account, p.debit_minor, p.credit_minor) for p in back] == [
        ("wallet", 0, 700),
        ("cash:wallet", 700, 0),
    ]
    check_balanced(pay + back)


def test_codes_are_16_characters_and_forgiving_to_type() -> None:
    code = new_code()
    assert len(code) == 16 and normalise_code(formatted(code).lower()) == code
    assert normalise_code("oooo-iiii-llll-1234") == "0000111111111234"
    assert code_hash(code) != code_hash(new_code())
    with pytest.raises(RuleViolation) as err:
        normalise_code("ABC")
    assert err.value.code == "voucher_code_invalid"


@pytest.mark.parametrize(
    ("status", "expires", "code"),
    [
        ("redeemed", date(2030, 1, 1), "voucher_already_redeemed"),
        ("cancelled", date(2030, 1, 1), "voucher_cancelled"),
        ("expired", date(2030, 1, 1), "voucher_expired"),
        ("activated", date(2026, 2, 28), "voucher_expired"),
        ("created", date(2030, 1, 1), "voucher_not_active"),
    ],
)
def test_why_a_voucher_cannot_be_redeemed(status: str, expires: date, code: str) -> None:
    with pytest.raises(RuleViolation) as err:
        redeemable(status, expires, date(2026, 3, 1))
    assert err.value.code == code


def test_an_activated_voucher_on_its_last_day_is_redeemable() -> None:
    redeemable("activated", date(2026, 3, 1), date(2026, 3, 1))
