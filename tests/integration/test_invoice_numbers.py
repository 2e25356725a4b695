"""Gapless numbering: concurrent transactions never share or skip a number; a rollback returns its numbers."""

from __future__ import annotations

import threading
import time

import pytest

from activities.invoices.numbers import allocate_numbers, format_number
from domain.errors import RuleViolation
from models.base import unit_of_work
from tests.support.factories import Tenant


class Abort(Exception):
    pass


def test_format_is_series_dash_six_digits() -> None:
    assert format_number("INV", 1) == "INV-000001"
    assert format_number("CN", 42) == "CN-000042"
    assert format_number("INV", 1234567) == "INV-1234567"


def test_numbers_follow_on_per_organisation_and_series(database_url: str, operator: Tenant) -> None:
    with unit_of_work(database_url) as session:
        assert allocate_numbers(session, operator.organisation_id, "INV", 3) == [
            "INV-000001",
            "INV-000002",
            "INV-000003",
        ]
        assert allocate_numbers(session, operator.organisation_id, "CN", 1) == ["CN-000001"]
    with unit_of_work(database_url) as session:
        assert allocate_numbers(session, operator.organisation_id, "INV", 2) == ["INV-000004", "INV-000005"]
        assert allocate_numbers(session, operator.organisation_id, "INV", 0) == []


def test_a_rolled_back_transaction_returns_its_numbers(database_url: str, operator: Tenant) -> None:
    with pytest.raises(Abort), unit_of_work(database_url) as session:
        assert allocate_numbers(session, operator.organisation_id, "INV", 3)[0] == "INV-000001"
        raise Abort
    with unit_of_work(database_url) as session:
        assert allocate_numbers(session, operator.organisation_id, "INV", 2) == ["INV-000001", "INV-000002"]


def test_bad_arguments_are_refused(database_url: str, operator: Tenant) -> None:
    with unit_of_work(database_url) as session:
        with pytest.raises(RuleViolation):
            allocate_numbers(session, operator.organisation_id, "inv", 1)
        with pytest.raises(RuleViolation):
            allocate_numbers(session, operator.organisation_id, "INV", -1)


def test_concurrent_transactions_leave_no_gap_and_no_duplicate(database_url: str, operator: Tenant) -> None:
    committed: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    start = threading.Barrier(12)

    def worker(index: int) -> None:
        try:
            start.wait()
            for round_ in range(5):
                count = 1 + (index + round_) % 3
                rollback = (index * 5 + round_) % 4 == 0
                try:
                    with unit_of_work(database_url) as session:
                        numbers = allocate_numbers(session, operator.organisation_id, "INV", count)
                        time.sleep(0.002)  # hold the row lock while others queue behind it
                        if rollback:
                            raise Abort
                except Abort:
                    continue
                with lock:
                    committed.extend(numbers)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(committed) == len(set(committed))
    assert sorted(committed) == [format_number("INV", n) for n in range(1, len(committed) + 1)]
    assert len(committed) == sum(1 + (i + r) % 3 for i in range(12) for r in range(5) if (i * 5 + r) % 4 != 0)
