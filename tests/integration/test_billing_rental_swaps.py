"""A rented router swapped (DeviceSwap) keeps its rental: the swap neither ends nor credits it (the
replacement goes on with the line), and the next run bills the rental in full.

The demo catalogue: Fibre 600 Mb 30.00/month renting a router at 3.00/month."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from models.base import engine_for
from tests.support.billing_runs import bill
from tests.support.demo_billing import (
    FIBRE,
    device_and_warehouse,
    notes,
    pending_credits,
    rentals,
    seed,
    subscribe,
)
from tests.support.factories import make_operator
from tests.support.subscription_support import Stack, wait_process

pytestmark = pytest.mark.calendar


def line_state(database_url: str, sub: dict[str, str]) -> list[tuple[str, object]]:
    with engine_for(database_url).connect() as conn:
        rows = conn.execute(
            sa.text("select status, ended_on from subscription_services where subscription_id = :s"),
            {"s": sub["subscription_id"]},
        ).all()
    return [tuple(r) for r in rows]  # type: ignore[misc]


@pytest.mark.today("2026-04-20T10:00:00+00:00")  # the router is swapped today, April billed in advance
async def test_a_swapped_router_keeps_its_rental(stack: Stack, database_url: str) -> None:
    tenant = make_operator(database_url)
    seed(database_url, tenant)
    sub = await subscribe(stack, tenant, "2026-03-01", FIBRE)
    await bill(stack, tenant, 1, "2026-03-01")
    await bill(stack, tenant, 1, "2026-04-01")
    device_id, _ = device_and_warehouse(database_url, tenant, sub)
    swapped = await stack.api.post(
        f"/v1/devices/{device_id}/swap", headers=tenant.post_headers(), json={"reason": "faulty"}
    )
    assert swapped.status_code == 202, swapped.text
    await wait_process(stack.api, tenant, swapped.json()["process_id"])
    with engine_for(database_url).connect() as conn:
        held = conn.execute(
            sa.text("select id, state from devices where subscription_id = :s or id = :d"),
            {"s": sub["subscription_id"], "d": device_id},
        ).all()
    assert len(held) == 2 and ("assigned" in dict(held).values())
    assert dict(held)[device_id] != "assigned"  # the replacement is with the line
    assert pending_credits(database_url, sub) == []  # the rental is not credited
    assert line_state(database_url, sub) == [("active", None)]  # nor ended
    await bill(stack, tenant, 1, "2026-05-01")
    assert rentals(database_url, sub) == [
        ("2026-03-01", "2026-04-01", 300),
        ("2026-04-01", "2026-05-01", 300),
        ("2026-05-01", "2026-06-01", 300),  # in full, no day cut at the swap
    ]
    assert notes(database_url, sub["account_id"]) == []
