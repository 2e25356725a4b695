"""SEPA identifiers (pure): IBAN (ISO 13616, mod-97), BIC (ISO 9362), mandate references, masking.

``validate_iban`` and ``validate_bic`` return the normalised value or raise a ``RuleViolation`` with a
stable code (``iban_invalid``, ``bic_invalid``) naming the field, so the API answers 422 with the field.
"""

from __future__ import annotations

import re

from domain.errors import RuleViolation

# Length of the IBAN per country (the SEPA scheme countries and a few more in the IBAN registry).
IBAN_LENGTHS: dict[str, int] = {
    "AD": 24, "AT": 20, "BE": 16, "BG": 22, "CH": 21, "CY": 28, "CZ": 24, "DE": 22, "DK": 18,
    "EE": 20, "ES": 24, "FI": 18, "FR": 27, "GB": 22, "GI": 23, "GR": 27, "HR": 21, "HU": 28,
    "IE": 22, "IS": 26, "IT": 27, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "MC": 27, "MT": 31,
    "NL": 18, "NO": 15, "PL": 28, "PT": 25, "RO": 24, "SE": 24, "SI": 19, "SK": 24, "SM": 27,
    "VA": 22,
}  # fmt: skip
_IBAN_SHAPE = re.compile(r"^[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}$")
_BIC_SHAPE = re.compile(r"^[A-Z]{4}[A-Z]{2}[A-Z0-9]{2}([A-Z0-9]{3})?$")
# SEPA restricts mandate references and end-to-end ids to this character set (max 35).
_SEPA_ID = re.compile(r"^[A-Za-z0-9+?/:().,' -]{1,35}$")


def normalise(value: str) -> str:
    return "".join(value.split()).upper()


def iban_checksum_ok(iban: str) -> bool:
    """ISO 7064 mod 97-10 on the rearranged IBAN (letters as 10..35): the remainder must be 1."""
    rearranged = iban[4:] + iban[:4]
    digits = "".join(str(int(ch, 36)) for ch in rearranged)
    return int(digits) % 97 == 1


def iban_problem(value: str) -> str | None:
    """Why ``value`` is not a valid IBAN, or None when it is."""
    iban = normalise(value)
    if not _IBAN_SHAPE.match(iban):
        return "an IBAN is a country code, 2 check digits and up to 30 letters or digits"
    expected = IBAN_LENGTHS.get(iban[:2])
    if expected is None:
        return f"{iban[:2]} is not a country that issues IBANs for SEPA"
    if len(iban) != expected:
        return f"an IBAN from {iban[:2]} has {expected} characters, not {len(iban)}"
    if not iban_checksum_ok(iban):
        return "the IBAN check digits do not match (mod-97)"
    return None


def validate_iban(value: str, *, field: str = "iban") -> str:
    problem = iban_problem(value)
    if problem is not None:
        raise RuleViolation("iban_invalid", problem, field=field)
    return normalise(value)


def validate_bic(value: str, *, field: str = "bic") -> str:
    bic = normalise(value)
    if not _BIC_SHAPE.match(bic):
        raise RuleViolation(
            "bic_invalid",
            "a BIC is 4 letters (bank), 2 letters (country), 2 letters or digits (location) "
            "and optionally 3 more (branch)",
            field=field,
        )
    if bic[4:6] not in IBAN_LENGTHS:
        raise RuleViolation("bic_invalid", f"{bic[4:6]} is not a SEPA country", field=field)
    return bic


def validate_sepa_id(value: str, *, field: str) -> str:
    """A mandate reference or end-to-end id: 1-35 characters of the SEPA character set."""
    if not _SEPA_ID.match(value):
        raise RuleViolation(
            "sepa_reference_invalid",
            "use 1-35 characters: letters, digits and + ? / : ( ) . , ' - or space",
            field=field,
        )
    return value


def with_check_digits(country: str, bban: str) -> str:
    """An IBAN built from its country and BBAN with correct check digits (for tests and tools)."""
    rearranged = normalise(bban) + country.upper() + "00"
    check = 98 - int("".join(str(int(ch, 36)) for ch in rearranged)) % 97
    return f"{country.upper()}{check:02d}{normalise(bban)}"


def mask_iban(iban: str) -> str:
    """``ES91 **** **** **** **** 1332``-style: country, check digits and the last 4 only."""
    return f"{iban[:4]} **** {iban[-4:]}"
