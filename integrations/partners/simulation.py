"""What the partner simulators (netflix/, sportstream/) share: their error body, the monthly paid-through
date, and the answer to a batch of charge decisions. Each simulator keeps its own protocol; only these
mechanics are common."""

from __future__ import annotations

import calendar
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from starlette.responses import JSONResponse

AnswerOne = Callable[[Any], tuple[str, str] | None]
"""Decide one item of a batch: None when done, else (error code, description)."""


def error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


def month_later(day: date) -> date:
    """The paid-through date of a monthly period from ``day``: the day before the same day next month."""
    year, month = (day.year + 1, 1) if day.month == 12 else (day.year, day.month + 1)
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1])) - timedelta(days=1)


def batch_items(body: dict[str, Any], max_batch: int) -> list[Any] | JSONResponse:
    """The body's ``charges``, or the 422 a missing, empty or oversized batch gets."""
    items = body.get("charges")
    if not isinstance(items, list) or not items:
        return error(422, "empty_batch", "charges is a non-empty list")
    if len(items) > max_batch:
        return error(422, "batch_too_large", f"at most {max_batch} charges per call, got {len(items)}")
    return items


def answer_batch(items: list[Any], answer_one: AnswerOne) -> JSONResponse:
    """Each item decided in turn; the answer lists the ones that failed, with their reason."""
    failed = []
    for item in items:
        problem = answer_one(item)
        if problem is not None:
            number = item.get("charge_number") if isinstance(item, dict) else None
            failed.append({"charge_number": number, "error_code": problem[0], "description": problem[1]})
    return JSONResponse({"failed": failed})
