"""Rate decks: telephony rates by destination (longest prefix), time bands, and a fast integer engine.

A deck (CGRateS' rating plan) names tariffs (connect fee, minimum duration, rate groups) and time
bands (weekdays + local clock range), and maps destination prefixes to them: ``by_band`` in order,
then ``tariff`` at any other time. A number is matched on its longest prefix (a dict per prefix
length, so 10,000 prefixes cost at most one lookup per distinct length; a binary search on the length
over marker keys was tried and was twice as slow in CPython).
The band is chosen by the call's start in the account's time zone (its minutes computed once per band);
a call is not split when it crosses a band boundary.

:class:`CompiledTariff` rates whole seconds in integers: every price is scaled to a common
denominator (10^decimals x the LCM of the rate units), the call's cost summed exactly and divided
once, then rounded ONCE through :func:`domain.money.quantizer` at the deck's precision and mode. It
agrees with :func:`domain.rating.rate_call` for every whole-second duration (tested).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, time
from decimal import Decimal
from math import lcm
from zoneinfo import ZoneInfo

from domain.money import PricingError, RoundingMode, quantizer
from domain.rating import Tariff

__all__ = [
    "CompiledTariff",
    "DestinationRate",
    "RateDeck",
    "TimeBand",
    "normalise_number",
]


def _decimals(value: Decimal) -> int:
    exponent = value.as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


@dataclass(frozen=True, slots=True)
class CompiledTariff:
    """A :class:`Tariff` for whole seconds in integer arithmetic, rounded once at ``precision``."""

    connect: int
    groups: tuple[tuple[int | None, int, int], ...]  # (group end, increment, scaled price per second)
    denominator: Decimal
    minimum: int
    precision: int
    mode: RoundingMode
    rounded: Callable[[Decimal], Decimal] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "rounded", quantizer(self.precision, self.mode))

    @classmethod
    def of(cls, tariff: Tariff) -> CompiledTariff:
        places = max([_decimals(tariff.connect_fee), *(_decimals(g.rate) for g in tariff.groups)])
        units = lcm(*(g.rate_unit for g in tariff.groups))
        scale = 10**places
        groups = []
        for index, group in enumerate(tariff.groups):
            end = tariff.groups[index + 1].start if index + 1 < len(tariff.groups) else None
            per_second = int(group.rate * scale) * (units // group.rate_unit)
            groups.append((end, group.increment, per_second))
        return cls(
            connect=int(tariff.connect_fee * scale) * units,
            groups=tuple(groups),
            denominator=Decimal(scale * units),
            minimum=tariff.minimum_duration,
            precision=tariff.precision,
            mode=tariff.mode,
        )

    def scaled(self, seconds: int) -> int:
        """The exact cost of ``seconds`` times the denominator (the connect fee included)."""
        if seconds < 0:
            raise PricingError("duration_negative", f"a call cannot last {seconds} s")
        if 0 < seconds < self.minimum:
            seconds = self.minimum
        total = self.connect
        elapsed = 0
        for end, increment, per_second in self.groups:
            if elapsed >= seconds:
                break
            if end is not None and elapsed >= end:
                continue
            until = seconds if end is None or seconds < end else end
            charged = -(-(until - elapsed) // increment) * increment
            total += charged * per_second
            elapsed += charged
        return total

    def round(self, scaled: int) -> Decimal:
        return self.rounded(Decimal(scaled) / self.denominator)

    def cost(self, seconds: int) -> Decimal:
        """The cost of a call of ``seconds``, rounded once."""
        return self.rounded(Decimal(self.scaled(seconds)) / self.denominator)

    def cost_after(self, covered: int, seconds: int) -> Decimal:
        """The cost of a call whose first ``covered`` seconds an allowance paid (connect fee included)."""
        if covered <= 0:
            return self.cost(seconds)
        if covered >= seconds:
            return self.round(0)
        return self.round(self.scaled(seconds) - self.scaled(covered))

    def max_seconds(self, covered: int, budget: Decimal, cap: int) -> int:
        """The longest call (≤ ``cap``) whose cost after ``covered`` free seconds stays within ``budget``."""
        low = min(max(covered, 0), cap)  # always affordable: the allowance pays for it
        high = cap
        if budget < 0 or self.cost_after(covered, high) <= budget:
            return low if budget < 0 else high
        while high - low > 1:  # invariant: low affordable (or 0), high not
            middle = (low + high) // 2
            if self.cost_after(covered, middle) <= budget:
                low = middle
            else:
                high = middle
        return low


def _minutes(value: time) -> int:
    return value.hour * 60 + value.minute


@dataclass(frozen=True, slots=True)
class TimeBand:
    """Local weekdays (0 = Monday) and a clock range ``[start, end)``; ``end`` 00:00 means midnight."""

    name: str
    weekdays: frozenset[int]
    start: time
    end: time
    # [first, last) minute of the local day, computed once (the engine compares integers per call)
    minutes: tuple[int, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.weekdays or not self.weekdays <= set(range(7)):
            raise PricingError("band_invalid", f"band {self.name}: weekdays are 0 (Monday) to 6")
        if self.end != time(0) and self.end <= self.start:
            raise PricingError("band_invalid", f"band {self.name} ends at {self.end}, before it starts")
        end = 1440 if self.end == time(0) else _minutes(self.end)
        object.__setattr__(self, "minutes", (_minutes(self.start), end))

    def covers(self, local: datetime) -> bool:
        return self.covers_minute(local.weekday(), local.hour * 60 + local.minute)

    def covers_minute(self, weekday: int, minute: int) -> bool:
        """Whether the band covers ``minute`` (0-1439) of a local ``weekday`` (0 = Monday)."""
        first, last = self.minutes
        return weekday in self.weekdays and first <= minute < last


@dataclass(frozen=True, slots=True)
class DestinationRate:
    """The tariffs of a destination prefix: the first band covering the call wins, else ``anytime``."""

    prefix: str
    name: str
    by_band: tuple[tuple[TimeBand, str, CompiledTariff], ...]
    anytime: tuple[str, CompiledTariff] | None

    def tariff_at(self, local: datetime) -> tuple[str, CompiledTariff] | None:
        """(tariff name, tariff) for a call starting at the local time ``local``, or None."""
        if self.by_band:
            weekday, minute = local.weekday(), local.hour * 60 + local.minute
            for band, name, tariff in self.by_band:  # TimeBand.covers_minute, inlined (the hot loop)
                first, last = band.minutes
                if weekday in band.weekdays and first <= minute < last:
                    return name, tariff
        return self.anytime


def normalise_number(number: str) -> str:
    """Digits only: ``+34 91-123`` and ``0034 91 123`` both become ``3491123``."""
    digits = "".join(ch for ch in number if ch.isdigit())
    return digits[2:] if number.lstrip().startswith("00") else digits


class RateDeck:
    """Destinations by prefix, matched on the longest prefix of a normalised number."""

    __slots__ = ("_by_length", "_tables", "currency", "zone_cache")

    def __init__(self, currency: str, destinations: Iterable[DestinationRate]) -> None:
        self.currency = currency
        self._tables: dict[int, dict[str, DestinationRate]] = {}
        for rate in destinations:
            if not rate.prefix.isdigit():
                raise PricingError("prefix_invalid", f"prefix {rate.prefix!r} must be digits only")
            table = self._tables.setdefault(len(rate.prefix), {})
            if rate.prefix in table:
                raise PricingError("prefix_duplicate", f"prefix {rate.prefix} appears twice in the deck")
            table[rate.prefix] = rate
        longest_first = sorted(self._tables, reverse=True)
        self._by_length = tuple((length, self._tables[length]) for length in longest_first)
        self.zone_cache: dict[str, ZoneInfo] = {}

    def __len__(self) -> int:
        return sum(len(table) for table in self._tables.values())

    def match(self, digits: str) -> DestinationRate | None:
        """The destination with the longest prefix of ``digits`` (already normalised), or None."""
        for length, table in self._by_length:  # a shorter number's cut is never a key of the table
            found = table.get(digits[:length])
            if found is not None:
                return found
        return None

    def tariff_for(self, digits: str, local: datetime) -> tuple[DestinationRate, str, CompiledTariff] | None:
        for length, table in self._by_length:  # match(), inlined (the hot loop)
            destination = table.get(digits[:length])
            if destination is not None:
                break
        else:
            return None
        chosen = destination.tariff_at(local)
        return None if chosen is None else (destination, chosen[0], chosen[1])

    def local_time(self, at: datetime, timezone: str) -> datetime:
        tz = self.zone_cache.get(timezone)
        if tz is None:
            tz = self.zone_cache.setdefault(timezone, ZoneInfo(timezone))
        return at.astimezone(tz)
