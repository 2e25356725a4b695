"""Document formats per language: money in the currency's minor units, exact prices, dates, labels."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.i18n import (
    LABELS,
    format_date,
    format_decimal,
    format_money,
    format_percent,
    format_price,
    labels,
    language_of,
)


@pytest.mark.parametrize(
    ("amount", "currency", "lang", "expected"),
    [
        (123456, "EUR", "es", "1.234,56 €"),
        (123456, "EUR", "en", "€1,234.56"),
        (-500, "USD", "en", "-$5.00"),
        (-500, "USD", "es", "-5,00 US$"),
        (5, "EUR", "es", "0,05 €"),
        (0, "EUR", "en", "€0.00"),
        (123456789, "EUR", "es", "1.234.567,89 €"),
        (1235, "JPY", "en", "¥1,235"),
        (1234567, "KWD", "en", "KWD 1,234.567"),
        (1234567, "KWD", "es", "1.234,567 KWD"),
        (123456, "CHF", "en", "CHF 1,234.56"),
        (100000, "GBP", "en", "£1,000.00"),
        (99, "EUR", "es-MX", "0,99 €"),
        (99, "EUR", "fr", "€0.99"),
    ],
)
def test_format_money(amount: int, currency: str, lang: str, expected: str) -> None:
    assert format_money(amount, currency, lang) == expected


def test_prices_keep_every_decimal_and_at_least_the_minor_units() -> None:
    assert format_price("0.0125", "EUR", "es") == "0,0125 €"
    assert format_price("12.5", "EUR", "en") == "€12.50"
    assert format_price("1234.5600", "EUR", "es") == "1.234,56 €"
    assert format_price("-3", "USD", "en") == "-$3.00"


def test_decimals_and_percentages() -> None:
    assert format_decimal("2.500", "es") == "2,5"
    assert format_decimal("1000", "en") == "1,000"
    assert format_decimal("-1", "es") == "-1"
    assert format_decimal(Decimal("1234567.125"), "es") == "1.234.567,125"
    assert format_percent("21", "es") == "21 %"
    assert format_percent("10.5", "en") == "10.5%"
    with pytest.raises(ValueError):
        format_decimal(Decimal("NaN"), "en")


def test_dates() -> None:
    assert format_date(date(2026, 11, 5), "es") == "05/11/2026"
    assert format_date(date(2026, 11, 5), "en") == "5 Nov 2026"


def test_language_fallback_and_complete_labels() -> None:
    assert language_of("es-ES") == "es"
    assert language_of("ES_es") == "es"
    assert language_of("pt-BR") == "en"
    assert language_of(None) == "en"
    assert labels("es")["invoice"] == "Factura"
    assert set(LABELS["es"]) == set(LABELS["en"])


@given(st.integers(min_value=-(10**15), max_value=10**15), st.sampled_from(["EUR", "JPY", "KWD", "USD"]))
def test_money_text_round_trips_to_the_exact_amount(amount: int, currency: str) -> None:
    for lang, group, point in (("en", ",", "."), ("es", ".", ",")):
        text = format_money(amount, currency, lang)
        digits = "".join(c for c in text if c.isdigit() or c == point).replace(point, ".")
        places = {"EUR": 2, "USD": 2, "JPY": 0, "KWD": 3}[currency]
        value = Decimal(digits) * (-1 if text.startswith("-") else 1)
        assert value == Decimal(amount).scaleb(-places)
        assert group not in text.split(point)[-1] or places == 0
