"""/v1/usage end to end: idempotent ingestion, rating with decks and allowances, suspense, re-rating."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.support import catalog_factory
from tests.support.factories import Tenant, make_operator
from tests.support.usage_factory import (
    CGRATES,
    PER_SECOND,
    USAGE_NOW,
    USAGE_TODAY,
    data_charge,
    deck,
    event,
    ingest,
    month_of,
    publish_deck,
    rate,
    rated,
    recent_weekday,
    subscription,
    usage_plan,
    voice_charge,
    voice_subscription,
)

pytestmark = [pytest.mark.calendar, USAGE_TODAY]
MB = 1024**2
LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)


async def test_events_are_stored_once_across_batches_and_bad_ones_are_rejected_one_by_one(
    api: httpx.AsyncClient, operator: Tenant, database_url: str
) -> None:
    sub = await voice_subscription(api, operator, database_url)
    at = recent_weekday(2, 10)
    good = [event(sub.id, 60, at), event(sub.services[0], 30, at), event(sub.id, 10, at)]
    unknown = event("+34999000111", 60, at)
    bad = [
        event(sub.id, -1, at),
        event(sub.id, 60, USAGE_NOW + timedelta(days=1)),
        {"subscriber": sub.id},
    ]
    first = await ingest(api, operator, [*good, unknown, *bad, good[0]])
    assert {k: first[k] for k in ("received", "accepted", "suspense", "duplicates")} == {
        "received": 8,
        "accepted": 3,
        "suspense": 1,
        "duplicates": 1,
    }
    assert [(r["index"], r["code"]) for r in first["rejected"]] == [
        (4, "quantity_negative"),
        (5, "timestamp_in_future"),
        (6, "malformed"),
    ]
    again = await ingest(api, operator, [*good, unknown])
    assert (again["accepted"], again["suspense"], again["duplicates"]) == (0, 0, 4)


async def test_a_retried_request_replays_and_an_oversized_batch_is_refused(
    api: httpx.AsyncClient, operator: Tenant
) -> None:
    headers = operator.post_headers()
    body = {"events": [event("sub_unknown", 5, recent_weekday(1, 9))]}
    first = await api.post("/v1/usage", json=body, headers=headers)
    second = await api.post("/v1/usage", json=body, headers=headers)
    assert second.json() == first.json() and second.headers["Idempotent-Replayed"] == "true"
    too_many = await api.post("/v1/usage", json={"events": [{}] * 10_001}, headers=operator.post_headers())
    assert too_many.status_code == 413
    assert too_many.json()["code"] == "usage_batch_too_large"


async def test_cgrates_call_through_a_rate_deck_and_per_destination_summary(
    api: httpx.AsyncClient, operator: Tenant, database_url: str
) -> None:
    sub = await voice_subscription(api, operator, database_url)
    await publish_deck(
        api,
        operator,
        deck([{"prefix": "34", "name": "Spain", "tariff": "std"}], {"std": CGRATES}),
        LONG_AGO,
    )
    at = recent_weekday(2, 10)
    await ingest(api, operator, [event(sub.id, 130, at, destination="+34 600 111 222")])
    assert (await rate(api, operator))["rated"] == 1
    summary = await rated(api, operator, sub, month_of(at))
    assert summary["total"] == "0.7167"
    assert summary["lines"] == [
        {
            "metric": "voice",
            "destination": "34",
            "name": "Spain",
            "events": 1,
            "quantity": 130,
            "amount": "0.7167",
        }
    ]


async def test_weekend_band_in_the_account_time_zone(
    api: httpx.AsyncClient, operator: Tenant, database_url: str
) -> None:
    sub = await voice_subscription(api, operator, database_url)
    cheap = {"groups": [{"start": 0, "rate": "0.06", "rate_unit": 60, "increment": 1}]}
    spec = deck(
        [{"prefix": "34", "tariff": "std", "by_band": [{"band": "weekend", "tariff": "cheap"}]}],
        {"std": CGRATES, "cheap": cheap},
        bands={"weekend": {"weekdays": [5, 6], "start": "00:00", "end": "00:00"}},
    )
    await publish_deck(api, operator, spec, LONG_AGO)
    saturday = recent_weekday(5, 12)
    await ingest(api, operator, [event(sub.id, 130, saturday, destination="34600")])
    await rate(api, operator)
    assert (await rated(api, operator, sub, month_of(saturday)))["total"] == "0.1300"


async def test_bundled_minutes_are_consumed_first(
    api: httpx.AsyncClient, operator: Tenant, database_url: str
) -> None:
    plan = await usage_plan(api, operator, voice_charge(included=2))
    sub = await subscription(api, operator, database_url, [plan])
    at = recent_weekday(3, 10)
    await ingest(
        api, operator, [event(sub.id, 90, at), event(sub.id, 60, at + timedelta(minutes=5))]
    )  # 120 s included: the second call pays 30 s at 0.60/min
    await rate(api, operator)
    summary = await rated(api, operator, sub, month_of(at))
    assert summary["total"] == "0.3000"


async def test_data_tiers_rate_the_period_volume(
    api: httpx.AsyncClient, operator: Tenant, database_url: str
) -> None:
    sub = await subscription(api, operator, database_url, [await usage_plan(api, operator, data_charge())])
    at = recent_weekday(1, 8)
    events = [
        event(sub.id, 1024 * MB, at, event_type="data"),
        event(sub.id, 1024 * MB, at + timedelta(hours=1), event_type="data"),
    ]
    await ingest(api, operator, events)
    await rate(api, operator)
    assert (await rated(api, operator, sub, month_of(at)))["total"] == "614.4000"  # 512.00 + 102.40


async def test_suspense_then_fix_the_tariff_and_retry(
    api: httpx.AsyncClient, operator: Tenant, database_url: str
) -> None:
    sub = await voice_subscription(api, operator, database_url)
    await publish_deck(api, operator, deck([{"prefix": "34", "tariff": "t"}], {"t": PER_SECOND}), LONG_AGO)
    at = recent_weekday(2, 11)
    await ingest(api, operator, [event(sub.id, 60, at, destination="+44 20 7946 0000")])
    assert (await rate(api, operator))["suspense"] == 1
    listed = await api.get(
        "/v1/usage/suspense", params={"reason": "no_matching_tariff"}, headers=operator.auth
    )
    mine = [e for e in listed.json()["data"] if e["subscription_id"] == sub.id]
    assert len(mine) == 1 and "44" in mine[0]["detail"]
    await publish_deck(
        api,
        operator,
        deck([{"prefix": "34", "tariff": "t"}, {"prefix": "44", "tariff": "t"}], {"t": PER_SECOND}),
        LONG_AGO + timedelta(days=1),
    )
    retried = await api.post(f"/v1/usage/suspense/{mine[0]['id']}/retry", headers=operator.post_headers())
    assert retried.status_code == 200 and retried.json()["status"] == "rated"
    assert (await rated(api, operator, sub, month_of(at)))["total"] == "0.6000"


async def test_unknown_subscriber_waits_for_an_alias(
    api: httpx.AsyncClient, operator: Tenant, database_url: str
) -> None:
    sub = await voice_subscription(api, operator, database_url)
    number = f"+3460{uuid.uuid4().int % 10**7:07d}"
    at = recent_weekday(4, 10)
    report = await ingest(api, operator, [event(number, 120, at)])
    assert report["suspense"] == 1
    listed = await api.get(
        "/v1/usage/suspense", params={"reason": "unknown_subscriber"}, headers=operator.auth
    )
    suspended = next(e for e in listed.json()["data"] if e["subscriber"] == number)
    resp = await api.put(
        f"/v1/usage/subscribers/{number}",
        json={"alias": number, "service_id": sub.services[0]},
        headers=operator.auth,
    )
    assert resp.status_code == 200, resp.text
    retried = await api.post(f"/v1/usage/suspense/{suspended['id']}/retry", headers=operator.post_headers())
    assert retried.json()["status"] == "rated"
    assert (await rated(api, operator, sub, month_of(at)))["total"] == "1.2000"


async def test_text_fields_are_stored_as_sent_backslashes_and_final_line_ends_included(
    api: httpx.AsyncClient, operator: Tenant, database_url: str
) -> None:
    """The rows go in through COPY's text format: what it escapes must come back unchanged."""
    at = recent_weekday(3, 10)
    tag = uuid.uuid4().hex[:8]
    odd = event(f"alias\\{tag}\n", 5, at, client_event_id=f"id\\N{tag}\n", destination="+34 91\n")
    odd["metric"] = "voice\n"
    report = await ingest(api, operator, [odd])
    assert (report["suspense"], report["rejected"]) == (1, [])
    listed = await api.get(
        "/v1/usage/suspense", params={"reason": "unknown_subscriber"}, headers=operator.auth
    )
    stored = next(e for e in listed.json()["data"] if e["client_event_id"] == odd["client_event_id"])
    assert (stored["subscriber"], stored["metric"], stored["destination_raw"]) == (
        odd["subscriber"],
        "voice\n",
        "+34 91\n",
    )
    assert stored["detail"] == f"no subscription, service or alias {odd['subscriber']}"
    again = await ingest(api, operator, [odd])
    assert (again["suspense"], again["duplicates"]) == (0, 1)


async def test_rerating_after_a_correction_adds_only_the_difference(
    api: httpx.AsyncClient, operator: Tenant, database_url: str
) -> None:
    sub = await voice_subscription(api, operator, database_url)
    await publish_deck(api, operator, deck([{"prefix": "34", "tariff": "t"}], {"t": PER_SECOND}), LONG_AGO)
    at = recent_weekday(2, 9)
    await ingest(
        api, operator, [event(sub.id, 60, at, destination="34"), event(sub.id, 30, at, destination="34")]
    )
    await rate(api, operator)
    period = month_of(at)
    assert (await rated(api, operator, sub, period))["total"] == "0.9000"
    corrected = {"groups": [{"start": 0, "rate": "0.30", "rate_unit": 60, "increment": 1}]}
    await publish_deck(api, operator, deck([{"prefix": "34", "tariff": "t"}], {"t": corrected}), LONG_AGO)
    body = {"subscription_id": sub.id, "period_start": period.isoformat()}
    first = await api.post("/v1/usage/rerate", json=body, headers=operator.post_headers())
    assert first.status_code == 200, first.text
    assert (first.json()["adjustments"], first.json()["difference"]) == (2, "-0.4500")
    second = await api.post("/v1/usage/rerate", json=body, headers=operator.post_headers())
    assert (second.json()["adjustments"], second.json()["difference"]) == (0, "0.0000")
    summary = await rated(api, operator, sub, period)
    assert (summary["total"], summary["adjustments"]) == ("0.4500", 2)


async def test_prepaid_authorisation_from_allowance_and_credit_limit(
    api: httpx.AsyncClient, operator: Tenant, database_url: str
) -> None:
    sub = await subscription(
        api, operator, database_url, [await usage_plan(api, operator, voice_charge(included=2))]
    )
    body = {"subscriber": sub.id, "event_type": "voice", "credit_limit": "1.00"}
    resp = await api.post("/v1/usage/authorize", json=body, headers=operator.auth)
    assert resp.status_code == 200, resp.text
    out = resp.json()
    assert (out["max_quantity"], out["allowance_remaining"], out["unit"]) == (220, 120, "seconds")
    no_credit = await api.post(
        "/v1/usage/authorize", json={**body, "credit_limit": None}, headers=operator.auth
    )
    assert no_credit.json()["max_quantity"] == 120


async def test_radius_interim_updates_count_deltas_once(
    api: httpx.AsyncClient, operator: Tenant, database_url: str
) -> None:
    sub = await subscription(api, operator, database_url, [await usage_plan(api, operator, data_charge())])
    user = f"user-{uuid.uuid4().hex[:12]}@isp"
    await api.put(
        f"/v1/usage/subscribers/{user}",
        json={"alias": user, "service_id": sub.services[0]},
        headers=operator.auth,
    )
    at = int(recent_weekday(2, 10).timestamp())

    def record(
        kind: str, octets_in: int, octets_out: int, seconds: int, gigawords: int = 0
    ) -> dict[str, object]:
        return {
            "Acct-Status-Type": kind,
            "Acct-Session-Id": "S1",
            "User-Name": user,
            "Acct-Input-Octets": octets_in,
            "Acct-Input-Gigawords": gigawords,
            "Acct-Output-Octets": octets_out,
            "Acct-Session-Time": seconds,
            "Event-Timestamp": at + seconds,
        }

    records = [
        record("Start", 0, 0, 0),
        record("Interim-Update", 300 * MB, 100 * MB, 600),
        record("Interim-Update", 300 * MB, 100 * MB, 600),
        record("Interim-Update", 700 * MB, 200 * MB, 1200),
        record("Stop", 0, 300 * MB, 1800, gigawords=1),
    ]
    resp = await api.post("/v1/usage/radius", json={"records": records}, headers=operator.post_headers())
    assert resp.status_code == 200, resp.text
    assert (resp.json()["events"], resp.json()["stale"], resp.json()["accepted"]) == (3, 1, 3)
    await rate(api, operator)
    summary = await rated(api, operator, sub, month_of(datetime.fromtimestamp(at, UTC)))
    # The counters end at 1 gigaword (4096 MiB) in + 300 MiB out: 4396 MiB, counted once.
    assert summary["lines"][0]["quantity"] == 4396 * MB
    assert summary["total"] == "849.2000"  # 1024 MB x 0.50 + 3372 MB x 0.10


async def test_two_operators_with_the_same_plan_code_rate_at_their_own_prices(
    api: httpx.AsyncClient, operator: Tenant, database_url: str
) -> None:
    """Plan codes are per operator: a tariff compiled for one operator's "voice-shared" v1 must not rate
    another operator's "voice-shared" v1 in the same process (the compiled-tariff cache once was keyed
    by code and version only)."""
    other = make_operator(database_url)
    at = recent_weekday(2, 11)
    totals = []
    for tenant, per_minute in ((operator, "0.60"), (other, "1.20")):
        phone = await catalog_factory.product(api, tenant, "telephony")
        call = {"groups": [{"start": 0, "rate": per_minute, "rate_unit": 60, "increment": 1}]}
        body = {
            "code": "voice-shared",
            "name": "Voice",
            "product_code": phone,
            "effective_from": "2000-01-01",
            "phases": [{"kind": "evergreen", "prices": {"EUR": "5.00"}}],
            "usage": [voice_charge(call=call)],
        }
        await catalog_factory.post(api, tenant, "/v1/catalog/plans", body)
        sub = await subscription(api, tenant, database_url, ["voice-shared"])
        await ingest(api, tenant, [event(sub.id, 60, at)])
        await rate(api, tenant)
        totals.append((await rated(api, tenant, sub, month_of(at)))["total"])
    assert totals == ["0.6000", "1.2000"]
