"""models.bulk: fields in COPY's text format (what the bill run and usage ingestion stream)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from models.bulk import _text, escape


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Fibre 1 Gb/s", "Fibre 1 Gb/s"),
        ("a\\b", "a\\\\b"),
        ("tab\there", "tab\\there"),
        ("line\nend\r", "line\\nend\\r"),
        ("\\t is not a tab", "\\\\t is not a tab"),  # the backslash is escaped before the tab is
        ("", ""),
    ],
)
def test_escape(value: str, expected: str) -> None:
    assert escape(value) == expected


def test_text_of_each_type() -> None:
    assert _text(None) == "\\N"
    assert _text(True) == "t" and _text(False) == "f"
    assert _text(42) == "42"
    assert _text(date(2024, 2, 29)) == "2024-02-29"
    assert _text(datetime(2024, 2, 29, 23, 0, tzinfo=UTC)) == "2024-02-29T23:00:00+00:00"
    assert _text({"note": "a\tb"}) == '{"note": "a\\\\tb"}'  # JSON's own escape, then COPY's
