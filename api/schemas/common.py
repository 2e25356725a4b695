"""Validated field types shared by request schemas: currency, country, time zone, phone, language."""

from __future__ import annotations

from typing import Annotated, Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from domain.currency import BIGINT_MAX
from domain.fields import Country, Currency, Language, LongText, Phone, Text, TimeZone
from domain.money import AmountMinor, CurrencyBoundAmounts

__all__ = [
    "AmountMinor",
    "BigIntId",
    "Country",
    "Currency",
    "CurrencyBoundAmounts",
    "IsoDateTime",
    "Language",
    "LongText",
    "NonNegativeAmountMinor",
    "Page",
    "Phone",
    "PositiveAmountMinor",
    "Strict",
    "Text",
    "TimeZone",
]

PositiveAmountMinor = Annotated[AmountMinor, Field(gt=0)]
NonNegativeAmountMinor = Annotated[AmountMinor, Field(ge=0)]
IsoDateTime = Annotated[str, Field(json_schema_extra={"format": "date-time"})]
"""A timestamp a route renders itself (ISO 8601 with ``+00:00``); typed ``str`` so it is sent as rendered."""
BigIntId = Annotated[int, Field(ge=1, le=BIGINT_MAX)]
"""A numeric id of a bigint column (a path parameter): anything outside its range is a 422, not a 500."""


class Strict(BaseModel):
    """Request models refuse unknown fields."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    data: list[T]
    next_cursor: str | None = Field(
        description="Pass as `cursor` to get the next page; null on the last page"
    )
    has_more: bool


def drop_none(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}
