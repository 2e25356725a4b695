"""Quote mixed subscriptions through the pure pricing engine: recurring + usage tiers + tax.

Run: ``python -m bench.pricing [N]`` (default 100000). Inputs come from a fixed seed and are built
before the clock starts; the last stdout line is one JSON object with the figures.
"""

from __future__ import annotations

import json
import random
import sys
import time
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from rich.console import Console
from rich.progress import Progress

from domain.money import Money
from domain.periods import BillingPeriodUnit, next_period, period_bounds_utc, period_containing
from domain.proration import charge_from
from domain.tax import TaxableLine, TaxRate, TaxStatus, compute_tax
from domain.usage_pricing import GraduatedTiers, Package, PriceModel, Tier, VolumeTiers, price_usage

SEED = 20240601
PROGRESS_STEP = 2_000
CURRENCIES = {"EUR": "29.99", "USD": "599.95", "JPY": "4980", "KWD": "12.500"}
TIME_ZONES = ("Europe/Paris", "America/New_York", "Asia/Tokyo", "Asia/Kuwait", "UTC")
UNITS = (BillingPeriodUnit.MONTH,) * 8 + (BillingPeriodUnit.QUARTER, BillingPeriodUnit.YEAR)
RATES = (TaxRate("standard", Decimal(20)), TaxRate("reduced", Decimal("5.5")), TaxRate("zero", Decimal(0)))
STATUSES = (TaxStatus.TAXABLE,) * 18 + (TaxStatus.EXEMPT, TaxStatus.REVERSE_CHARGE)
MINUTES: PriceModel = Package(Decimal(10), GraduatedTiers((Tier(0, 100, "1.00"), Tier(100, None, "0.50"))))
DATA_GRADUATED: PriceModel = GraduatedTiers((Tier(0, 1024, "0.50"), Tier(1024, None, "0.10")))
DATA_VOLUME: PriceModel = VolumeTiers((Tier(0, 1024, "0.50"), Tier(1024, None, "0.10")))


@dataclass(frozen=True, slots=True)
class Subscription:
    price: Money
    start: date
    bill_day: int
    unit: BillingPeriodUnit
    time_zone: str
    minutes: tuple[int, ...]
    megabytes: tuple[Decimal, ...]
    data_model: PriceModel
    rate: TaxRate
    inclusive: bool
    status: TaxStatus


def generate(count: int, seed: int = SEED) -> list[Subscription]:
    """``count`` subscriptions from a fixed seed."""
    rng = random.Random(seed)
    first_day = date(2024, 1, 1)
    subscriptions = []
    for _ in range(count):
        currency = rng.choice(tuple(CURRENCIES))
        subscriptions.append(
            Subscription(
                price=Money.of(CURRENCIES[currency], currency),
                start=first_day + timedelta(days=rng.randrange(730)),
                bill_day=rng.randint(1, 31),
                unit=rng.choice(UNITS),
                time_zone=rng.choice(TIME_ZONES),
                minutes=tuple(rng.randrange(1, 600) for _ in range(rng.randrange(0, 5))),
                megabytes=tuple(
                    Decimal(rng.randrange(0, 200_000)).scaleb(-2) for _ in range(rng.randrange(0, 4))
                ),
                data_model=rng.choice((DATA_GRADUATED, DATA_VOLUME)),
                rate=rng.choice(RATES),
                inclusive=rng.random() < 0.5,
                status=rng.choice(STATUSES),
            )
        )
    return subscriptions


def quote(sub: Subscription) -> Money:
    """First invoice: prorated first period, the next period in advance, last period's usage, tax."""
    currency = sub.price.currency
    period = period_containing(sub.start, sub.bill_day, sub.unit)
    following = next_period(period, sub.bill_day, sub.unit)
    period_bounds_utc(period, sub.time_zone)
    amounts = (
        charge_from(sub.price, period, sub.start).amount,
        charge_from(sub.price, following, following.start).amount,
        price_usage(MINUTES, sub.minutes, currency),
        price_usage(sub.data_model, sub.megabytes, currency),
    )
    lines = [TaxableLine(amount, sub.rate) for amount in amounts]
    return compute_tax(lines, currency, inclusive=sub.inclusive, status=sub.status).gross


def run(subscriptions: list[Subscription], console: Console) -> float:
    """Quote every subscription; the seconds it took."""
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("quoting", total=len(subscriptions))
        started = time.perf_counter()
        for offset in range(0, len(subscriptions), PROGRESS_STEP):
            for sub in subscriptions[offset : offset + PROGRESS_STEP]:
                quote(sub)
            progress.update(task, advance=min(PROGRESS_STEP, len(subscriptions) - offset))
        return time.perf_counter() - started


def main(argv: list[str]) -> None:
    count = int(argv[1]) if len(argv) > 1 else 100_000
    console = Console(stderr=True)
    with console.status(f"generating {count} subscriptions"):
        subscriptions = generate(count)
    seconds = run(subscriptions, console)
    figures = {
        "bench": "pricing",
        "quotes": count,
        "seconds": round(seconds, 3),
        "quotes_per_s": round(count / seconds) if seconds else None,
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main(sys.argv)
