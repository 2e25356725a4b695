"""Validated field types for requests and activity inputs: currency, country, time zone, phone, language."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, StringConstraints

from domain.currency import is_currency
from domain.geo import is_country, is_timezone

_PHONE = re.compile(r"^\+[1-9]\d{6,14}$")
_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Z]{2})?$")


def _currency(value: str) -> str:
    if not is_currency(value):
        raise ValueError(f"{value!r} is not an ISO 4217 currency code (e.g. EUR, USD, JPY)")
    return value


def _country(value: str) -> str:
    if not is_country(value):
        raise ValueError(f"{value!r} is not an ISO 3166-1 alpha-2 country code (e.g. ES, GB, US)")
    return value


def _timezone(value: str) -> str:
    if not is_timezone(value):
        raise ValueError(f"{value!r} is not an IANA time zone name (e.g. Europe/Madrid, America/New_York)")
    return value


def _phone(value: str) -> str:
    compact = re.sub(r"[\s().-]", "", value)
    if not _PHONE.match(compact):
        raise ValueError(f"{value!r} is not a phone number in international form (e.g. +34 600 123 456)")
    return compact


def _language(value: str) -> str:
    if not _LANGUAGE.match(value):
        raise ValueError(f"{value!r} is not a language tag such as 'en', 'es' or 'pt-BR'")
    return value


Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
LongText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
Currency = Annotated[str, StringConstraints(min_length=3, max_length=3), AfterValidator(_currency)]
Country = Annotated[str, StringConstraints(min_length=2, max_length=2), AfterValidator(_country)]
TimeZone = Annotated[str, StringConstraints(min_length=1, max_length=64), AfterValidator(_timezone)]
Phone = Annotated[str, StringConstraints(min_length=4, max_length=32), AfterValidator(_phone)]
Language = Annotated[str, StringConstraints(min_length=2, max_length=16), AfterValidator(_language)]
