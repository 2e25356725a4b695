"""The calendar runner collects only the files that mark tests ``calendar``: that is right only while the
mark is written in test modules themselves, never applied from a conftest or a support module."""

from __future__ import annotations

from pathlib import Path

from tests.calendar_days import MARK, DayResult, marked_files

TESTS = Path(__file__).resolve().parents[1]


def test_the_mark_is_applied_only_in_test_modules() -> None:
    elsewhere = [
        path
        for path in TESTS.rglob("*.py")
        if not path.name.startswith("test_")
        and path.name != "calendar_days.py"
        and MARK.search(path.read_text(encoding="utf-8"))
    ]
    assert elsewhere == []


def test_marked_files_finds_the_billing_runs_and_not_the_unmarked() -> None:
    files = marked_files()
    assert "tests/integration/test_billing_runs.py" in files
    assert "tests/unit/test_calendar_days.py" not in files
    assert all(name.startswith("tests/") and name.endswith(".py") for name in files)


def test_a_days_summary_is_pytests_last_line() -> None:
    result = DayResult("2028-02-29", 0, 1.0, "....\n\n===== 61 passed, 55 deselected in 90.1s =====\n")
    assert result.summary == "61 passed, 55 deselected in 90.1s"
    assert DayResult("2028-02-29", 4, 0.0, "").summary == "(no output)"
