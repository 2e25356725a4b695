"""COPY rows into a table inside the caller's transaction: the fast path for bulk writes (bill runs)."""

from __future__ import annotations

import io
import json
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _text(value: Any) -> str:
    kind = type(value)
    if kind is str:
        return str(value).translate(_ESCAPES)
    if kind is int:
        return str(value)
    if value is None:
        return "\\N"
    if kind is bool:
        return "t" if value else "f"
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict | list):
        return json.dumps(value).translate(_ESCAPES)
    return str(value).translate(_ESCAPES)


def copy_rows(session: Session, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """One COPY statement (so statement-level triggers see every row together); returns the row count."""
    return copy_lines(session, table, columns, ("\t".join(_text(v) for v in row) for row in rows))


def escape(value: str) -> str:
    """``value`` as a field of COPY's text format."""
    return value.translate(_ESCAPES)


def copy_lines(session: Session, table: str, columns: Sequence[str], lines: Iterable[str]) -> int:
    """COPY rows already in COPY's text format (tab-separated fields, see ``escape``, no newline); the
    fast path for a caller that knows its fields; returns the row count."""
    buffer = io.StringIO()
    count = 0
    for line in lines:
        buffer.write(line)
        buffer.write("\n")
        count += 1
    if count:
        buffer.seek(0)
        cursor = session.connection().connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.copy_expert(f"COPY {table} ({', '.join(columns)}) FROM STDIN", buffer)
        finally:
            cursor.close()
    return count
