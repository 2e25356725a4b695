"""National numbers are rated in their country: 912345678 dialled in Spain is Madrid (+34 91…), not India.

Events go through ingestion and rating on the real database with a fixed clock.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy import select

from activities.usage.csv_import import parse_chunks
from activities.usage.ingestion import IngestReport, add_alias, ingest, store_events
from activities.usage.rating import rate_pending
from models.accounts import Account
from models.base import unit_of_work
from models.subscriptions import Subscription
from models.usage import RatedUsage, UsageEvent
from tests.support.factories import Tenant
from tests.support.usage_factory import (
    PER_SECOND,
    Sub,
    deck,
    event,
    publish_deck,
    subscription,
    usage_plan,
    voice_charge,
)

AT = datetime(2026, 3, 10, 10, 0, tzinfo=UTC)
NOW = datetime(2026, 3, 12, 9, 0, tzinfo=UTC)
START = date(2026, 1, 1)
INDIA = {"groups": [{"start": 0, "rate": "3.00", "rate_unit": 60, "increment": 60}]}
DESTINATIONS = [
    {"prefix": "34", "name": "Spain", "tariff": "spain"},
    {"prefix": "44", "name": "United Kingdom", "tariff": "spain"},
    {"prefix": "91", "name": "India", "tariff": "india"},
]


async def rated_subscription(api: httpx.AsyncClient, operator: Tenant, database_url: str) -> Sub:
    plan = await usage_plan(api, operator, voice_charge())
    await publish_deck(
        api,
        operator,
        deck(DESTINATIONS, {"spain": PER_SECOND, "india": INDIA}),
        datetime(2020, 1, 1, tzinfo=UTC),
    )
    return await subscription(api, operator, database_url, [plan], start=START)


def rate_and_read(database_url: str, operator: Tenant, sub_id: str) -> list[tuple[Any, ...]]:
    with unit_of_work(database_url) as session:
        rate_pending(session, organisation_id=operator.organisation_id)
    with unit_of_work(database_url) as session:
        rows = session.execute(
            select(
                UsageEvent.destination_raw,
                UsageEvent.destination,
                RatedUsage.destination,
                RatedUsage.destination_name,
                RatedUsage.amount,
            )
            .join(RatedUsage, RatedUsage.event_id == UsageEvent.id)
            .where(UsageEvent.subscription_id == sub_id)
            .order_by(UsageEvent.destination_raw)
        ).all()
    return [tuple(r) for r in rows]


async def test_a_national_number_is_rated_in_the_accounts_country(
    api: httpx.AsyncClient, operator: Tenant, database_url: str
) -> None:
    sub = await rated_subscription(api, operator, database_url)
    calls = [
        event(sub.id, 60, AT, destination="912345678"),  # Madrid, dialled nationally
        event(sub.id, 60, AT, destination="0034 912 345 679"),  # Madrid, international prefix
        event(sub.id, 60, AT, destination="+91 98765 43210"),  # India, in E.164
    ]
    with unit_of_work(database_url) as session:
        report = ingest(session, operator.organisation_id, calls, now=NOW)
    assert (report.accepted, report.rejected) == (3, [])
    assert rate_and_read(database_url, operator, sub.id) == [
        ("+91 98765 43210", "+919876543210", "91", "India", Decimal("3.0000")),
        ("0034 912 345 679", "+34912345679", "34", "Spain", Decimal("0.6000")),
        ("912345678", "+34912345678", "34", "Spain", Decimal("0.6000")),
    ]


async def test_cdr_import_and_phone_aliases_are_normalised_too(
    api: httpx.AsyncClient, operator: Tenant, database_url: str
) -> None:
    sub = await rated_subscription(api, operator, database_url)
    with unit_of_work(database_url) as session:
        alias = add_alias(session, operator.organisation_id, "600 11 22 33", sub.services[0])
    assert alias.alias == "+34600112233"
    cdr = [
        "uniqueid,src,dst,calldate,billsec",
        f"cdr-{sub.id}-1,+34600112233,912345678,{AT.isoformat()},60",
        f"cdr-{sub.id}-2,600112233,0044 20 7946 0000,{AT.isoformat()},60",
    ]
    [(events, rejected)] = list(parse_chunks(cdr, now=NOW))
    assert rejected == []
    report = IngestReport()
    with unit_of_work(database_url) as session:
        store_events(session, operator.organisation_id, events, "csv", report)
    assert (report.accepted, report.suspense) == (2, 0)
    assert rate_and_read(database_url, operator, sub.id) == [
        ("0044 20 7946 0000", "+442079460000", "44", "United Kingdom", Decimal("0.6000")),
        ("912345678", "+34912345678", "34", "Spain", Decimal("0.6000")),
    ]


async def test_the_accounts_country_comes_before_the_operators(
    api: httpx.AsyncClient, operator: Tenant, database_url: str
) -> None:
    sub = await rated_subscription(api, operator, database_url)
    with unit_of_work(database_url) as session:
        account = session.get(Account, session.get(Subscription, sub.id).account_id)  # type: ignore[union-attr]
        assert account is not None
        account.addresses = [{"kind": "billing", "line1": "1 High St", "city": "London", "country": "GB"}]
    with unit_of_work(database_url) as session:
        ingest(
            session, operator.organisation_id, [event(sub.id, 60, AT, destination="020 7946 0000")], now=NOW
        )
    assert rate_and_read(database_url, operator, sub.id) == [
        ("020 7946 0000", "+442079460000", "44", "United Kingdom", Decimal("0.6000")),
    ]
