"""Validated field types shared by request schemas: currency, country, time zone, phone, language."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from domain.fields import Country, Currency, Language, LongText, Phone, Text, TimeZone

__all__ = ["Country", "Currency", "Language", "LongText", "Page", "Phone", "Strict", "Text", "TimeZone"]


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
