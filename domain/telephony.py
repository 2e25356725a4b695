"""Telephone numbers and SIM identities: E.164 MSISDNs, ICCIDs with their Luhn check digit, IMSIs.

Pure rules shared by the API (refuse bad input), the warehouse (SIM receipt) and the adapters.
"""

from __future__ import annotations

import re

MOBILE_MONEY = "mobile_money"  # the gateway's name and its payment-method kind
E164_PHONE = re.compile(r"^\+[1-9][0-9]{7,14}$")
ICCID = re.compile(r"^89[0-9]{17,18}$")  # "89" (telecom) + digits, 19 or 20 in all, the last a check digit
IMSI = re.compile(r"^[0-9]{15}$")


def luhn_check_digit(digits: str) -> int:
    """The Luhn check digit to append to ``digits``."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 0:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return (10 - total % 10) % 10


def iccid_problem(iccid: str) -> str | None:
    """Why ``iccid`` is not a valid ICCID, or None when it is."""
    if not ICCID.fullmatch(iccid):
        return "an ICCID is 19 or 20 digits starting with 89"
    if luhn_check_digit(iccid[:-1]) != int(iccid[-1]):
        return "the ICCID's Luhn check digit is wrong"
    return None


def imsi_problem(imsi: str) -> str | None:
    return None if IMSI.fullmatch(imsi) else "an IMSI is 15 digits"


def msisdn_problem(msisdn: str) -> str | None:
    """Why ``msisdn`` is not an E.164 number (``+`` and 8 to 15 digits), or None."""
    return None if E164_PHONE.fullmatch(msisdn) else "a phone number in E.164 is + and 8 to 15 digits"


def line_digits(msisdn: str) -> str:
    """The MSISDN as a host network writes it: E.164 digits without the ``+``."""
    return msisdn.removeprefix("+")


# Number portability: the operators a number may be ported in from (their usual names; matched without
# regard to case). The host network itself is never a donor: its numbers are ours already.
DONOR_OPERATORS = (
    "Orange",
    "SFR",
    "Bouygues Telecom",
    "Free Mobile",
    "Vodafone",
    "Telefonica",
    "Deutsche Telekom",
    "Safaricom",
    "Airtel",
    "MTN",
    "Telkom",
)
AUTHORISATION_CODE = re.compile(r"^[A-Za-z0-9-]{4,32}$")


def known_donor(name: str) -> str | None:
    """The donor operator's name as we write it, or None when it is not one we port numbers from."""
    wanted = name.strip().casefold()
    return next((donor for donor in DONOR_OPERATORS if donor.casefold() == wanted), None)
