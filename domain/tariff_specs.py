"""The rate deck as an operator writes it (validated pydantic), and how it compiles to a :class:`RateDeck`.

```json
{"code": "voice", "currency": "EUR", "precision": 4, "rounding": "up",
 "tariffs": {"std": {"connect_fee": "0.40", "minimum_duration": 0,
                     "groups": [{"start": 0, "rate": "0.20", "rate_unit": 60, "increment": 60},
                                {"start": 60, "rate": "0.10", "rate_unit": 60, "increment": 1}]},
             "cheap": {"groups": [{"start": 0, "rate": "0.05", "rate_unit": 60, "increment": 1}]}},
 "bands": {"weekend": {"weekdays": [5, 6], "start": "00:00", "end": "00:00"}},
 "destinations": [{"prefix": "34", "name": "Spain", "tariff": "std",
                   "by_band": [{"band": "weekend", "tariff": "cheap"}]}]}
```
The deck's ``code`` is the usage metric it rates (``voice``): it prices the calls of every plan with a
``call`` charge for that metric in the deck's currency, instead of the plan's own call tariff.
"""

from __future__ import annotations

from datetime import time
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from domain.catalog import CallRate, Code, RateGroupSpec
from domain.currency import MINOR_UNITS
from domain.money import PricingError, RoundingMode
from domain.rating import RateGroup, Tariff
from domain.tariffs import CompiledTariff, DestinationRate, RateDeck, TimeBand

Name = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]{1,40}$")]
MAX_DESTINATIONS = 100_000


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TariffSpec(_Spec):
    connect_fee: CallRate = Decimal(0)
    minimum_duration: int = Field(default=0, ge=0, le=86_400, description="Seconds charged at least")
    groups: list[RateGroupSpec] = Field(min_length=1, max_length=10)


class BandSpec(_Spec):
    weekdays: list[int] = Field(min_length=1, max_length=7, description="0 = Monday … 6 = Sunday")
    start: time = Field(description="Local clock time the band starts (inclusive)")
    end: time = Field(description="Local clock time it ends (exclusive); 00:00 = midnight")


class BandTariff(_Spec):
    band: Name
    tariff: Name


class DestinationSpec(_Spec):
    prefix: Annotated[str, StringConstraints(pattern=r"^[0-9]{1,20}$")]
    name: str = Field(default="", max_length=100)
    tariff: Name | None = Field(default=None, description="At any time no band below covers")
    by_band: list[BandTariff] = Field(default_factory=list, max_length=10)


class RateDeckSpec(_Spec):
    code: Code
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    precision: int = Field(default=4, ge=0, le=10, description="Decimals every rated call is rounded to")
    rounding: Literal["up", "half_up", "down", "half_even"] = "up"
    tariffs: dict[Name, TariffSpec] = Field(min_length=1, max_length=1000)
    bands: dict[Name, BandSpec] = Field(default_factory=dict, max_length=50)
    destinations: list[DestinationSpec] = Field(min_length=1, max_length=MAX_DESTINATIONS)

    @model_validator(mode="after")
    def _references(self) -> RateDeckSpec:
        if self.currency not in MINOR_UNITS:
            raise PricingError("currency_unknown", f"{self.currency!r} is not an ISO 4217 currency code")
        seen: set[str] = set()
        for dest in self.destinations:
            if dest.prefix in seen:
                raise PricingError("prefix_duplicate", f"prefix {dest.prefix} appears twice in the deck")
            seen.add(dest.prefix)
            if dest.tariff is None and not dest.by_band:
                raise PricingError("destination_without_tariff", f"prefix {dest.prefix} names no tariff")
            names = [dest.tariff] if dest.tariff else []
            for entry in dest.by_band:
                if entry.band not in self.bands:
                    raise PricingError(
                        "band_unknown", f"prefix {dest.prefix} names unknown band {entry.band}"
                    )
                names.append(entry.tariff)
            for name in names:
                if name not in self.tariffs:
                    raise PricingError("tariff_unknown", f"prefix {dest.prefix} names unknown tariff {name}")
        return self


def compile_deck(spec: RateDeckSpec) -> RateDeck:
    """The deck ready to rate: every tariff compiled once, shared by the destinations naming it."""
    mode = RoundingMode(spec.rounding)
    tariffs = {
        name: CompiledTariff.of(
            Tariff(
                t.connect_fee,
                tuple(RateGroup(g.start, g.rate, g.rate_unit, g.increment) for g in t.groups),
                spec.precision,
                mode,
                t.minimum_duration,
            )
        )
        for name, t in spec.tariffs.items()
    }
    bands = {
        name: TimeBand(name, frozenset(b.weekdays), b.start.replace(tzinfo=None), b.end.replace(tzinfo=None))
        for name, b in spec.bands.items()
    }
    destinations = [
        DestinationRate(
            d.prefix,
            d.name,
            tuple((bands[e.band], e.tariff, tariffs[e.tariff]) for e in d.by_band),
            (d.tariff, tariffs[d.tariff]) if d.tariff else None,
        )
        for d in spec.destinations
    ]
    return RateDeck(spec.currency, destinations)
