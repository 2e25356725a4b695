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

from domain.catalog import PlanSpec
from domain.money import Money
from domain.periods import BillingPeriodUnit, next_period, period_bounds_utc, period_containing
from domain.proration import charge_from
from domain.quote import QuoteContext, QuoteItem
from domain.quote import quote as catalog_quote
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


def catalog_items(subscriptions: list[Subscription]) -> list[tuple[QuoteItem, QuoteContext]]:
    """The same subscriptions as catalogue plans, for the engine behind ``POST /v1/quotes``."""
    plans: dict[tuple[str, str, bool], PlanSpec] = {}
    out = []
    for sub in subscriptions:
        currency = sub.price.currency
        key = (currency, sub.unit.value, sub.data_model is DATA_GRADUATED)
        if key not in plans:
            tiers = {
                currency: {
                    "tiers": [{"up_to": "1024", "unit_price": "0.50"}, {"up_to": None, "unit_price": "0.10"}]
                }
            }
            blocks = {
                currency: {
                    "tiers": [{"up_to": "100", "unit_price": "1.00"}, {"up_to": None, "unit_price": "0.50"}]
                }
            }
            plans[key] = PlanSpec.model_validate(
                {
                    "code": f"p-{currency.lower()}-{sub.unit.value}-{int(key[2])}",
                    "name": "bench",
                    "product_code": "x",
                    "billing_period": sub.unit.value,
                    "phases": [{"kind": "evergreen", "prices": {currency: str(sub.price.to_decimal())}}],
                    "usage": [
                        {"metric": "minutes", "model": "graduated", "block_size": "10", "prices": blocks},
                        {"metric": "mb", "model": "graduated" if key[2] else "volume", "prices": tiers},
                    ],
                }
            )
        usage = {"minutes": Decimal(sum(sub.minutes)), "mb": sum(sub.megabytes, Decimal(0))}
        ctx = QuoteContext(
            currency,
            bill_day=sub.bill_day,
            tax_status=sub.status,
            tax_rates={"standard": sub.rate},
            tax_inclusive=sub.inclusive,
        )
        out.append((QuoteItem(plans[key], sub.start, periods=2, usage=usage), ctx))
    return out


def run_catalog(items: list[tuple[QuoteItem, QuoteContext]], console: Console) -> float:
    with console.status(f"quoting {len(items)} subscriptions through the catalogue engine"):
        started = time.perf_counter()
        for item, ctx in items:
            catalog_quote([item], ctx)
        return time.perf_counter() - started


def main(argv: list[str]) -> None:
    count = int(argv[1]) if len(argv) > 1 else 100_000
    console = Console(stderr=True)
    with console.status(f"generating {count} subscriptions"):
        subscriptions = generate(count)
    seconds = run(subscriptions, console)
    sample = subscriptions[: max(1, count // 5)]
    catalog_seconds = run_catalog(catalog_items(sample), console)
    figures = {
        "bench": "pricing",
        "quotes": count,
        "seconds": round(seconds, 3),
        "quotes_per_s": round(count / seconds) if seconds else None,
        "catalog_quotes": len(sample),
        "catalog_quotes_per_s": round(len(sample) / catalog_seconds) if catalog_seconds else None,
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main(sys.argv)
