"""Cursor pagination for the API's lists: opaque cursors carrying the last id, and one page fetch.

Lists are ordered by id (ids sort by creation); a page fetches one row more than it shows, to know
whether another page follows without counting.
"""

from __future__ import annotations

import base64
import binascii
from typing import TypeVar

from sqlalchemy import Select
from sqlalchemy.orm import Session

from domain.errors import RuleViolation
from domain.ids import is_valid_id

T = TypeVar("T")


def encode_cursor(last_id: str) -> str:
    """The opaque cursor of a page whose last row has id ``last_id``."""
    return base64.urlsafe_b64encode(last_id.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, prefix: str) -> str:
    """The id a cursor carries (an id with ``prefix``); anything else is a 422 ``invalid_cursor``."""
    try:
        value = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        value = ""
    if not is_valid_id(value, prefix):
        raise RuleViolation("invalid_cursor", "cursor is not one this API returned", field="cursor")
    return value


def fetch_page(session: Session, stmt: Select[T], limit: int) -> tuple[list[T], bool]:
    """The first ``limit`` rows of ``stmt`` (ordered by the caller) and whether more follow.

    Fetches ``limit + 1`` rows: the extra one only tells that there is a next page.
    """
    rows = list(session.execute(stmt.limit(limit + 1)).scalars())
    return rows[:limit], len(rows) > limit


__all__ = ["decode_cursor", "encode_cursor", "fetch_page"]
