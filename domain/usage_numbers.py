"""Phone numbers in usage: dialled destinations and subscriber aliases in E.164.

A switch writes numbers as its subscribers dial them: ``912345678`` (national, Madrid),
``0034912345678`` (international prefix) or ``+34 91 234 56 78``. Rate decks are keyed by E.164
prefixes (``34`` Spain, ``91`` India), so a national number must first get its country code, from the
region of the account (its billing address) or, failing that, of the operator. Numbers that
``phonenumbers`` cannot read as possible numbers (short codes, test prefixes such as ``34600``) keep
the digits-only rule of :func:`domain.tariffs.normalise_number`.
"""

from __future__ import annotations

import re

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat

from domain.tariffs import normalise_number

__all__ = ["alias_key", "dialled_digits", "e164", "stored_destination"]

_PHONE_LIKE = re.compile(r"^\+?[0-9][0-9 ()./-]{4,31}$")


def _parse(text: str, region: str | None) -> str | None:
    try:
        parsed = phonenumbers.parse(text, region)
    except NumberParseException:
        return None
    if not phonenumbers.is_possible_number(parsed):
        return None
    return phonenumbers.format_number(parsed, PhoneNumberFormat.E164)


def e164(number: str, region: str | None) -> str | None:
    """``number`` as ``+CC…`` (national numbers in ``region``, an ISO 3166 code), or None if unreadable."""
    text = number.strip()
    found = _parse(text, region.upper() if region else None)
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
