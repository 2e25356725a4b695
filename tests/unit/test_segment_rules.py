"""The segment rule language: valid trees parse and round-trip, wrong ones name each wrong part by JSON
pointer, periods read at an as-of day, and which comparisons an account without rows satisfies."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain import segments as rules

USAGE = {"field": "usage", "metric": "data_mb", "op": "gt", "value": 1000, "period": {"last_months": 3}}


def pointers(data: Any) -> list[str]:
    with pytest.raises(rules.InvalidRule) as caught:
        rules.parse_rule(data)
    return [e.pointer for e in caught.value.errors]


def test_a_tree_parses_and_round_trips() -> None:
    tree = {
        "all": [
            USAGE,
            {"any": [{"field": "country", "in": ["ES"]}, {"not": {"field": "status", "in": ["closed"]}}]},
        ]
    }
    parsed = rules.parse_rule(tree)
    assert rules.rule_json(parsed) == tree
    assert [type(p).__name__ for p in rules.predicates_of(parsed)] == ["Usage", "CountryIn", "AccountStatus"]


@pytest.mark.parametrize(
    ("rule", "pointer"),
    [
        ({"field": "shoe_size", "in": ["42"]}, "/field"),
        ({"all": [USAGE, {"field": "nope"}]}, "/all/1/field"),
        ({"any": [{**USAGE, "value": "1000"}]}, "/any/0/value"),
        ({"any": [{**USAGE, "value": 10.5}]}, "/any/0/value"),
        ({"not": {**USAGE, "op": ">"}}, "/not/op"),
        ({"not": {"not": {**USAGE, "extra": 1}}}, "/not/not/extra"),
        ({**USAGE, "period": {"last_months": 0}}, "/period/last_months"),
        ({**USAGE, "period": {"from": "2026-02-01", "until": "2026-01-01"}}, "/period"),
        ({**USAGE, "period": {"from": "2026-02-01"}}, "/period"),
        (
            {
                "field": "amount_paid",
                "currency": "EURO",
                "op": "gt",
                "value": 1,
                "period": {"last_months": 1},
            },
            "/currency",
        ),
        ({"field": "country", "in": ["Spain"]}, "/in/0"),
        ({"field": "country", "in": []}, "/in"),
        ({"field": "product_kind", "in": ["radio"]}, "/in/0"),
        ({"all": []}, "/all"),
        ({"field": "postal_code", "prefix": "28%"}, "/prefix"),
        ("all", ""),
    ],
)
def test_a_wrong_part_is_named_by_json_pointer(rule: Any, pointer: str) -> None:
    assert pointer in pointers(rule)


def test_trees_too_deep_or_too_large_are_refused() -> None:
    deep: dict[str, Any] = USAGE
    for _ in range(rules.MAX_DEPTH + 1):
        deep = {"not": deep}
    assert pointers(deep) == [""]
    assert pointers({"any": [USAGE] * (rules.MAX_NODES + 1)}) == [""]


def test_periods_are_read_at_the_as_of_day() -> None:
    last = rules.Period(last_months=3)
    assert last.bounds(date(2026, 5, 31)) == (date(2026, 2, 28), date(2026, 6, 1))
    dated = rules.Period.model_validate({"from": "2026-01-01", "until": "2026-04-01"})
    assert dated.bounds(date(2030, 1, 1)) == (date(2026, 1, 1), date(2026, 4, 1))
    assert rules.add_months(date(2024, 3, 31), -1) == date(2024, 2, 29)
    assert rules.add_months(date(2025, 11, 15), 3) == date(2026, 2, 15)


@pytest.mark.parametrize(
    ("op", "value", "passes"),
    [
        ("gt", 0, False),
        ("gte", 0, True),
        ("lt", 5, True),
        ("lte", 0, True),
        ("eq", 0, True),
        ("ne", 0, False),
    ],
)
def test_which_comparisons_an_account_without_rows_satisfies(op: str, value: int, passes: bool) -> None:
    assert rules.zero_passes(op, value) is passes


@given(st.integers(-2000, 2000), st.dates(date(1990, 1, 1), date(2090, 12, 31)))
def test_moving_by_months_stays_within_the_target_month(months: int, day: date) -> None:
    moved = rules.add_months(day, months)
    assert (moved.year * 12 + moved.month) - (day.year * 12 + day.month) == months
    assert moved.day == day.day or moved.day < day.day


def test_an_age_band_takes_whole_years_with_either_bound() -> None:
    band = rules.parse_rule({"field": "age_band", "min": 18, "max": 25})
    assert isinstance(band, rules.AgeBand) and (band.min, band.max) == (18, 25)
    assert rules.rule_json(rules.parse_rule({"field": "age_band", "min": 65})) == {
        "field": "age_band",
        "min": 65,
    }
    assert rules.rule_json(rules.parse_rule({"not": {"field": "age_band", "max": 17}})) == {
        "not": {"field": "age_band", "max": 17}
    }


@pytest.mark.parametrize(
    ("rule", "pointer"),
    [
        ({"field": "age_band"}, ""),
        ({"field": "age_band", "min": 30, "max": 20}, ""),
        ({"field": "age_band", "min": "18"}, "/min"),
        ({"field": "age_band", "min": 18.5}, "/min"),
        ({"field": "age_band", "max": -1}, "/max"),
        ({"field": "age_band", "max": 151}, "/max"),
        ({"all": [{"field": "age_band", "min": 18, "in": ["x"]}]}, "/all/0/in"),
    ],
)
def test_a_wrong_age_band_is_named(rule: Any, pointer: str) -> None:
    assert pointers(rule) == [pointer]
