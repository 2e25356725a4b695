"""Rate decks, the integer call engine, time bands, allowances and per-event data pricing."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.catalog import UsageCharge
from domain.money import RoundingMode
from domain.rating import RateGroup, Tariff, rate_call
from domain.tariff_specs import RateDeckSpec, compile_deck
from domain.tariffs import CompiledTariff, DestinationRate, RateDeck, TimeBand, normalise_number
from domain.usage_events import EventRejected, check_event
from domain.usage_pricing import GraduatedTiers, Tier
from domain.usage_rating import (
    Pool,
    base_units_per,
    chargeable_model,
    max_quantity,
    rate_call_event,
    rate_quantity_event,
)

CGRATES = Tariff(
    Decimal("0.40"), (RateGroup(0, Decimal("0.20"), 60, 60), RateGroup(60, Decimal("0.10"), 60, 1))
)
FAST = CompiledTariff.of(CGRATES)
MB = 1024**2

rate_groups = st.lists(
    st.tuples(
        st.integers(1, 600),
        st.decimals("0", "5", places=4),
        st.sampled_from([1, 6, 30, 60, 3600]),
        st.sampled_from([1, 6, 30, 60]),
    ),
    min_size=1,
    max_size=4,
)


def tariff_from(groups: list[tuple[int, Decimal, int, int]], connect: Decimal, mode: RoundingMode) -> Tariff:
    start, built = 0, []
    for gap, rate, unit, increment in groups:
        built.append(RateGroup(start, rate, unit, increment))
        start += gap
    return Tariff(connect, tuple(built), 4, mode)


def test_cgrates_case_in_the_integer_engine() -> None:
    assert FAST.cost(130) == Decimal("0.7167")
    assert rate_call(CGRATES, 130) == Decimal("0.7167")


@settings(max_examples=300)
@given(
    rate_groups,
    st.decimals("0", "2", places=2),
    st.sampled_from(list(RoundingMode)),
    st.integers(0, 20_000),
    st.integers(0, 120),
)
def test_integer_engine_agrees_with_rate_call(
    groups: list[tuple[int, Decimal, int, int]],
    connect: Decimal,
    mode: RoundingMode,
    seconds: int,
    minimum: int,
) -> None:
    base = tariff_from(groups, connect, mode)
    tariff = Tariff(base.connect_fee, base.groups, base.precision, base.mode, minimum)
    assert CompiledTariff.of(tariff).cost(seconds) == rate_call(tariff, seconds)


def test_minimum_duration_applies_to_answered_calls_only() -> None:
    tariff = Tariff(Decimal(0), (RateGroup(0, Decimal("0.60"), 60, 1),), minimum_duration=30)
    fast = CompiledTariff.of(tariff)
    assert fast.cost(0) == Decimal("0.0000")
    assert fast.cost(5) == rate_call(tariff, 5) == Decimal("0.3000")
    assert fast.cost(45) == Decimal("0.4500")


@given(
    st.lists(st.text("0123456789", min_size=1, max_size=8), min_size=1, max_size=60),
    st.text("0123456789", max_size=14),
)
def test_longest_prefix_match_agrees_with_brute_force(prefixes: list[str], number: str) -> None:
    unique = sorted(set(prefixes))
    deck = RateDeck("EUR", [DestinationRate(p, p, (), ("t", FAST)) for p in unique])
    matches = [p for p in unique if number.startswith(p)]
    found = deck.match(number)
    assert (found.prefix if found else None) == (max(matches, key=len) if matches else None)


def test_deck_spec_compiles_bands_and_falls_back_to_anytime() -> None:
    spec = RateDeckSpec.model_validate(
        {
            "code": "voice",
            "currency": "EUR",
            "tariffs": {
                "std": {
                    "connect_fee": "0.40",
                    "groups": [
                        {"start": 0, "rate": "0.20", "rate_unit": 60, "increment": 60},
                        {"start": 60, "rate": "0.10", "rate_unit": 60, "increment": 1},
                    ],
                },
                "cheap": {"groups": [{"start": 0, "rate": "0.06", "rate_unit": 60, "increment": 1}]},
            },
            "bands": {
                "weekend": {"weekdays": [5, 6], "start": "00:00", "end": "00:00"},
                "night": {"weekdays": [0, 1, 2, 3, 4], "start": "20:00", "end": "00:00"},
            },
            "destinations": [
                {
                    "prefix": "34",
                    "name": "Spain",
                    "tariff": "std",
                    "by_band": [{"band": "weekend", "tariff": "cheap"}, {"band": "night", "tariff": "cheap"}],
                },
                {"prefix": "3491", "name": "Madrid", "tariff": "cheap"},
            ],
        }
    )
    deck = compile_deck(spec)
    wednesday_noon = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)
    saturday = datetime(2026, 3, 7, 9, 0, tzinfo=UTC)
    wednesday_night = datetime(2026, 3, 4, 21, 30, tzinfo=UTC)
    found = deck.tariff_for("34600111222", wednesday_noon)
    assert found is not None and found[1] == "std" and found[2].cost(130) == Decimal("0.7167")
    found = deck.tariff_for("34600111222", saturday)
    assert found is not None and found[1] == "cheap" and found[2].cost(130) == Decimal("0.1300")
    found = deck.tariff_for("34600111222", wednesday_night)
    assert found is not None and found[1] == "cheap"
    found = deck.tariff_for("34911234567", wednesday_noon)
    assert found is not None and found[0].name == "Madrid"
    assert deck.tariff_for("4420", wednesday_noon) is None


def test_deck_spec_refuses_unknown_references_and_duplicates() -> None:
    base = {
        "code": "voice",
        "currency": "EUR",
        "tariffs": {"t": {"groups": [{"start": 0, "rate": "1", "rate_unit": 60, "increment": 1}]}},
    }
    with pytest.raises(ValueError, match="unknown tariff"):
        RateDeckSpec.model_validate({**base, "destinations": [{"prefix": "1", "tariff": "x"}]})
    with pytest.raises(ValueError, match="twice"):
        RateDeckSpec.model_validate({**base, "destinations": [{"prefix": "1", "tariff": "t"}] * 2})


def test_band_time_is_local_to_the_account() -> None:
    deck = RateDeck("EUR", [])
    at = datetime(2026, 3, 28, 23, 30, tzinfo=UTC)  # Saturday 23:30 UTC = Sunday 00:30 in Madrid
    assert deck.local_time(at, "Europe/Madrid").weekday() == 6
    band = TimeBand("sunday", frozenset({6}), time(0), time(0))
    assert band.covers(deck.local_time(at, "Europe/Madrid").replace(tzinfo=None))


def test_numbers_are_normalised_to_digits() -> None:
    assert normalise_number("+34 91-123 45") == "349112345"
    assert normalise_number("0034911") == "34911"


@given(st.integers(0, 500), st.lists(st.integers(0, 400), max_size=20))
def test_allowance_is_never_overdrawn_and_every_second_is_accounted(included: int, calls: list[int]) -> None:
    per_second = CompiledTariff.of(Tariff(Decimal(0), (RateGroup(0, Decimal("0.60"), 60, 1),)))
    pool = Pool(included=included)
    total = Decimal(0)
    for seconds in calls:
        rated = rate_call_event(per_second, seconds, pool)
        assert rated.covered + rated.charged == seconds
        total += rated.amount
    assert pool.used == min(included, sum(calls))
    assert total == per_second.cost(pool.charged) if pool.charged else total == 0


def test_partly_covered_call_pays_only_the_overage() -> None:
    pool = Pool(included=120)
    assert rate_call_event(FAST, 90, pool).amount == Decimal("0.0000")
    rated = rate_call_event(FAST, 60, pool)  # 30 s covered; 30..60 s lie in the first (60 s) increment
    assert (rated.covered, rated.charged, rated.amount) == (30, 30, Decimal("0.0000"))
    assert rate_call_event(FAST, 130, pool).amount == Decimal("0.7167")


def test_data_increments_follow_the_period_tiers_kill_bill_case() -> None:
    charge = UsageCharge.model_validate(
        {
            "metric": "data",
            "unit": "MB",
            "model": "graduated",
            "prices": {
                "EUR": {
                    "tiers": [{"up_to": "1024", "unit_price": "0.50"}, {"up_to": None, "unit_price": "0.10"}]
                }
            },
        }
    )
    model = chargeable_model(charge, "EUR")
    pool = Pool()
    first = rate_quantity_event(model, 1024 * MB, base_units_per(charge.unit), pool)
    second = rate_quantity_event(model, 1024 * MB, base_units_per(charge.unit), pool)
    assert (first.amount, second.amount) == (Decimal("512.0000"), Decimal("102.4000"))


@given(st.lists(st.integers(0, 3 * 1024), min_size=1, max_size=15), st.integers(0, 2048))
def test_data_increments_add_up_to_the_period_total(megabytes: list[int], included: int) -> None:
    model = GraduatedTiers((Tier(0, 1024, "0.50"), Tier(1024, None, "0.10")))
    pool = Pool(included=included * MB)
    total = sum((rate_quantity_event(model, m * MB, MB, pool, 6).amount for m in megabytes), Decimal(0))
    assert total == model.amount(Decimal(max(0, sum(megabytes) - included)))


def test_shared_pool_is_drawn_by_every_service() -> None:
    shared = Pool(included=100)
    rate_call_event(FAST, 70, shared)
    second = rate_call_event(FAST, 70, shared)
    assert (second.covered, second.charged, shared.remaining) == (30, 40, 0)


@given(st.integers(0, 600), st.decimals("0", "5", places=2))
def test_max_seconds_is_the_longest_affordable_call(covered: int, budget: Decimal) -> None:
    cap = 4 * 3600
    longest = FAST.max_seconds(covered, budget, cap)
    assert longest == cap or FAST.cost_after(covered, longest + 1) > budget
    assert longest <= min(covered, cap) or FAST.cost_after(covered, longest) <= budget


def test_max_quantity_of_data_with_allowance_and_budget() -> None:
    model = GraduatedTiers((Tier(0, None, "0.50"),))
    pool = Pool(included=100 * MB)
    assert max_quantity(model, MB, pool, Decimal("1.00"), 10 * 1024 * MB) == 102 * MB
    assert max_quantity(model, MB, pool, Decimal(0), 10 * 1024 * MB) == 100 * MB


NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"quantity": -5}, "quantity_negative"),
        ({"quantity": 90_000}, "quantity_absurd"),
        ({"quantity": 1.5}, "malformed"),
        ({"started_at": (NOW + timedelta(hours=1)).isoformat()}, "timestamp_in_future"),
        ({"started_at": "2026-03-01T10:00:00"}, "timestamp_without_timezone"),
        ({"started_at": "yesterday"}, "malformed"),
        ({"event_type": "sms"}, "malformed"),
        ({"client_event_id": ""}, "malformed"),
    ],
)
def test_bad_events_are_refused_with_a_reason(changes: dict[str, object], code: str) -> None:
    raw = {
        "client_event_id": "e1",
        "subscriber": "sub_x",
        "event_type": "voice",
        "quantity": 60,
        "started_at": "2026-03-01T10:00:00Z",
        **changes,
    }
    with pytest.raises(EventRejected) as caught:
        check_event(raw, NOW)
    assert caught.value.code == code


def test_good_event_is_normalised_to_utc() -> None:
    event = check_event(
        {
            "client_event_id": "e1",
            "subscriber": "+34600",
            "event_type": "data",
            "quantity": "2048",
            "started_at": "2026-03-01T10:00:00+01:00",
        },
        NOW,
    )
    assert (event.metric, event.quantity, event.started_at) == (
        "data",
        2048,
        datetime(2026, 3, 1, 9, tzinfo=UTC),
    )
