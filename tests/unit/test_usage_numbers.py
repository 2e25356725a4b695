"""Dialled numbers and aliases in E.164: national numbers take the region; unreadable ones keep digits."""

from __future__ import annotations

import pytest

from domain.usage_numbers import alias_key, dialled_digits, e164, stored_destination


@pytest.mark.parametrize(
    ("number", "region", "expected"),
    [
        ("912345678", "ES", "+34912345678"),
        ("0034 912 345 678", "ES", "+34912345678"),
        ("0034912345678", "US", "+34912345678"),  # 00 read as the international prefix anyway
        ("0034912345678", None, "+34912345678"),
        ("+34 (91) 234-5678", None, "+34912345678"),
        ("020 7946 0000", "gb", "+442079460000"),
        ("912345678", None, None),  # a national number without a region cannot be placed
        ("34600", "ES", None),
        ("", "ES", None),
    ],
)
def test_e164(number: str, region: str | None, expected: str | None) -> None:
    assert e164(number, region) == expected


def test_dialled_digits_fall_back_to_the_digits_rule() -> None:
    assert dialled_digits("912345678", "ES") == "34912345678"
    assert dialled_digits("34600", "ES") == "34600"
    assert dialled_digits("0034 600", "ES") == "34600"


def test_stored_destination_keeps_what_it_cannot_read() -> None:
    assert stored_destination("912345678", "ES") == "+34912345678"
    assert stored_destination("34", "ES") == "34"
    assert stored_destination(None, "ES") is None


def test_only_phone_like_aliases_are_normalised() -> None:
    assert alias_key("600 11 22 33", "ES") == "+34600112233"
    assert alias_key("ana@isp", "ES") == "ana@isp"
    assert alias_key("svc_01ABC", "ES") == "svc_01ABC"
    assert alias_key("1234", "ES") == "1234"
