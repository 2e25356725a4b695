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


def test_plus_and_digits_agree_with_the_full_parse_for_every_country_code() -> None:
    """The learnt (country code, length) rule answers what ``phonenumbers`` answers, leading zeros too."""
    import random

    import phonenumbers

    from domain import usage_numbers

    rng = random.Random(19)
    usage_numbers._POSSIBLE.clear()
    checked = learnt = 0
    for code in sorted(phonenumbers.COUNTRY_CODE_TO_REGION_CODE):
        for length in range(0, 19):
            for region in ("ES", None):
                for lead in ("", "0", "00", str(rng.randint(1, 9))):
                    rest = (lead + "".join(rng.choices("0123456789", k=length)))[:length]
                    text = f"+{code}{rest}"
                    for _ in range(2):  # the first call may learn, the second uses what was learnt
                        assert e164(text, region) == usage_numbers._parse(text, region), text
                        checked += 1
    learnt = len(usage_numbers._POSSIBLE)
    assert checked > 10_000
    assert learnt > 1_000  # the rule was used, not only the full parse
    assert e164("+34912345678", "es") == "+34912345678"
    assert e164("+12125550100", "ES") == "+12125550100"  # NANP takes the full parse (national prefix 1)
