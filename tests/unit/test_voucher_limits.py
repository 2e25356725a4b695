"""The maximum value of one voucher: the operator's per currency, else 100 major units."""

from __future__ import annotations

import pytest

from domain.errors import RuleViolation
from domain.vouchers import check_value, max_value_minor


def test_the_default_is_one_hundred_major_units_of_the_currency() -> None:
    assert max_value_minor(None, "EUR") == 10_000
    assert max_value_minor({}, "JPY") == 100
    assert max_value_minor({"USD": 5}, "KWD") == 100_000


def test_the_operators_maximum_wins_for_its_currency() -> None:
    assert max_value_minor({"EUR": 2_500}, "EUR") == 2_500
    check_value(2_500, "EUR", {"EUR": 2_500})
    with pytest.raises(RuleViolation) as refused:
        check_value(2_501, "EUR", {"EUR": 2_500})
    assert refused.value.code == "voucher_value_too_high"
    assert "25.00 EUR" in refused.value.message
