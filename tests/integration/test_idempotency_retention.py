"""Idempotency-Keys past their retention are pruned by the daily maintenance, and only those.

The stored responses are dated in 1990 and the maintenance run is dated 1990-03-01 (30 days' retention:
the cut-off is 1990-01-30), so nothing here depends on today's date or on the keys other tests store.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import httpx
from sqlalchemy import text

from activities.maintenance.activities import PartitionActivities
from activities.maintenance.io import MaintainPartitions
from activities.maintenance.retention import idempotency_cutoff
from models.base import unit_of_work
from runtime.settings import Settings
from tests.support.factories import Tenant, person

RUN_ON = date(1990, 3, 1)


def _date_key(database_url: str, organisation_id: str, key: str, stored: datetime) -> None:
    with unit_of_work(database_url) as session:
        changed = session.execute(
            text("UPDATE idempotency_keys SET created_at = :at WHERE organisation_id = :o AND key = :k"),
            {"at": stored, "o": organisation_id, "k": key},
        ).rowcount  # type: ignore[attr-defined]
    assert changed == 1


def _kept(database_url: str, organisation_id: str, keys: list[str]) -> list[str]:
    with unit_of_work(database_url) as session:
        rows = session.execute(
            text(
                "SELECT key FROM idempotency_keys WHERE organisation_id = :o AND key = ANY(:k) ORDER BY key"
            ),
            {"o": organisation_id, "k": keys},
        ).scalars()
        return list(rows)


def test_the_cutoff_is_the_run_days_midnight_less_the_retention() -> None:
    assert idempotency_cutoff(RUN_ON, 30) == datetime(1990, 1, 30, tzinfo=UTC)
    assert idempotency_cutoff(date(2028, 3, 1), 1) == datetime(2028, 2, 29, tzinfo=UTC)


async def test_a_key_past_its_retention_is_pruned_and_then_a_new_request(
    api: httpx.AsyncClient, operator: Tenant, database_url: str, settings: Settings
) -> None:
    old, recent = "retention-old-" + operator.organisation_id, "retention-recent-" + operator.organisation_id
    body = person()
    first = await api.post("/v1/accounts", json=body, headers=operator.post_headers(old))
    kept = await api.post("/v1/accounts", json=person(), headers=operator.post_headers(recent))
    assert first.status_code == kept.status_code == 201, first.text
    replay = await api.post("/v1/accounts", json=body, headers=operator.post_headers(old))
    assert replay.headers["idempotent-replayed"] == "true" and replay.content == first.content
    _date_key(database_url, operator.organisation_id, old, datetime(1990, 1, 29, 23, 59, tzinfo=UTC))
    _date_key(database_url, operator.organisation_id, recent, datetime(1990, 1, 30, tzinfo=UTC))

    maintenance = PartitionActivities(settings.model_copy(update={"idempotency_retention_days": 30}))
    result = maintenance.maintain(MaintainPartitions(on=RUN_ON, batch_size=1))
    assert result.idempotency_keys_pruned >= 1  # batches of one: the loop goes on past a full batch
    assert _kept(database_url, operator.organisation_id, [old, recent]) == [recent]

    other = person(given_name="Bea")
    again = await api.post("/v1/accounts", json=other, headers=operator.post_headers(old))
    assert again.status_code == 201, again.text
    assert "idempotent-replayed" not in again.headers
    assert again.json()["id"] != first.json()["id"]  # a new request: a new account
    clash = await api.post("/v1/accounts", json=other, headers=operator.post_headers(recent))
    assert clash.status_code == 409, clash.text  # still remembered: another body under it is refused
    assert clash.json()["code"] == "idempotency_key_reused"

    assert maintenance.maintain(MaintainPartitions(on=RUN_ON)).idempotency_keys_pruned == 0
