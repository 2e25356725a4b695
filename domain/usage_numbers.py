"""Phone numbers in usage: dialled destinations and subscriber aliases in E.164.

A switch writes numbers as its subscribers dial them: ``912345678`` (national, Madrid),
``0034912345678`` (international prefix) or ``+34 91 234 56 78``. Rate decks are keyed by E.164
prefixes (``34`` Spain, ``91`` India), so a national number must first get its country code, from the
region of the account (its billing address) or, failing that, of the operator. Numbers that
``phonenumbers`` cannot read as possible numbers (short codes, test prefixes such as ``34600``) keep
the digits-only rule of :func:`domain.tariffs.normalise_number`.

Most switches already send E.164 (``+`` and digits only). For such a number ``phonenumbers`` keeps the
digits after the country code as they are unless the country strips a national prefix when parsing
(``national_prefix_for_parsing``, e.g. NANP's ``1``), and whether the result is a possible number
depends only on the country code and the length of the rest. So for countries without that prefix the
answer for (country code, length) is learnt once from ``phonenumbers`` itself and reused: the same
result for a fraction of the time (``bench.rating``; checked against the full parse for every country
code in ``tests/unit/test_usage_numbers.py``). Anything else takes the full parse.
"""

from __future__ import annotations

import re

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat

from domain.tariffs import normalise_number

__all__ = ["alias_key", "dialled_digits", "e164", "stored_destination"]

_PHONE_LIKE = re.compile(r"^\+?[0-9][0-9 ()./-]{4,31}$")
_PLUS_DIGITS = re.compile(r"\+[1-9][0-9]{1,30}")
_LONGEST_COUNTRY_CODE = 3
# country code → whether its numbers keep their digits when parsed (no national prefix for parsing)
_VERBATIM: dict[int, bool] = {}
# (region, country code, digits after it) → whether such a number is possible (learnt from phonenumbers)
_POSSIBLE: dict[tuple[str | None, int, int], bool] = {}


def _parse(text: str, region: str | None) -> str | None:
    try:
        parsed = phonenumbers.parse(text, region)
    except NumberParseException:
        return None
    if not phonenumbers.is_possible_number(parsed):
        return None
    return phonenumbers.format_number(parsed, PhoneNumberFormat.E164)


def _country_code(digits: str) -> int:
    """The country code ``digits`` (after ``+``) start with, as ``phonenumbers`` reads it, else 0."""
    for size in range(1, min(len(digits), _LONGEST_COUNTRY_CODE) + 1):
        code = int(digits[:size])
        if code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
            return code
    return 0


def _verbatim(code: int) -> bool:
    found = _VERBATIM.get(code)
    if found is None:
        region = phonenumbers.region_code_for_country_code(code)
        metadata = phonenumbers.PhoneMetadata.metadata_for_region_or_calling_code(code, region)
        found = _VERBATIM[code] = metadata is not None and not metadata.national_prefix_for_parsing
    return found


def _plus_digits(text: str, region: str | None) -> str | None:
    """E.164 of ``+`` and digits: the full parse once per (country code, length), then the rule."""
    code = _country_code(text[1:])
    if code == 0 or not _verbatim(code):
        return _parse(text, region)
    key = (region, code, len(text) - 1 - len(str(code)))
    possible = _POSSIBLE.get(key)
    if possible is None:
        parsed = _parse(text, region)
        if parsed is None or parsed == text:  # anything else is not the rule: never learnt
            _POSSIBLE[key] = parsed is not None
        return parsed
    return text if possible else None


def e164(number: str, region: str | None) -> str | None:
    """``number`` as ``+CC…`` (national numbers in ``region``, an ISO 3166 code), or None if unreadable."""
    text = number.strip()
    region = region.upper() if region else None
    if _PLUS_DIGITS.fullmatch(text):
        return _plus_digits(text, region)
    found = _parse(text, region)
    if found is None and text.startswith("00"):  # the international prefix of most of the world
        found = _parse("+" + text[2:], None)
    return found


def dialled_digits(number: str, region: str | None) -> str:
    """The digits a rate deck matches: E.164 without ``+``, else the digits-only rule."""
    found = e164(number, region)
    return found[1:] if found else normalise_number(number)


def stored_destination(number: str | None, region: str | None) -> str | None:
    """What an event stores as its destination: E.164 when readable, else the number as sent."""
    if number is None:
        return None
    return e164(number, region) or number


def alias_key(alias: str, region: str | None) -> str:
    """A subscriber alias as stored and looked up: phone numbers in E.164, anything else unchanged."""
    if not _PHONE_LIKE.match(alias.strip()):
        return alias
    return e164(alias, region) or alias
