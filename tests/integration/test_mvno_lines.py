"""Mobile lines end to end (API, worker on the Temporal dev server, MVNO simulator over HTTP): SIMs
received by ICCID and IMSI (bad ones refused), onboarding a mobile plan assigns a SIM from stock and
activates it on the host, suspend / resume / terminate, a SIM swap keeps the number, a port-in, a rejected
order visible and re-run."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from typing import Any

import httpx
import pytest

from activities.devices.traceable import receive_devices
from activities.provisioning.io import OrderInput
from activities.provisioning.operator_tools import run_order
from domain.errors import Conflict
from domain.provisioning import ProvisioningAction
from integrations.provisioning.mvno.simulator import MvnoSimulator
from models.base import unit_of_work
from models.devices import Device
from runtime.provisioning import build_registry
from tests.support.device_support import device_row, principal_of
from tests.support.factories import person
from tests.support.mobile_lines import MobileStack, SimShop, make_sim_shop, new_number, new_sim_card
from tests.support.payment_support import rows
from tests.support.subscription_support import wait_process

pytestmark = pytest.mark.calendar


@pytest.fixture
def shop(database_url: str) -> SimShop:
    return make_sim_shop(database_url)


async def onboard(stack: MobileStack, shop: SimShop) -> dict[str, Any]:
    api, tenant = stack.api, shop.tenant
    account = (await api.post("/v1/accounts", json=person(), headers=tenant.post_headers())).json()
    started = await api.post(
        "/v1/subscriptions",
        headers=tenant.post_headers(),
        json={"account_id": account["id"], "items": [{"plan": shop.plan}], "start_date": "2024-03-10"},
    )
    assert started.status_code == 202, started.text
    await wait_process(api, tenant, started.json()["process_id"])
    got = await api.get(f"/v1/subscriptions/{started.json()['subscription_id']}", headers=tenant.auth)
    return dict(got.json())


def host_line(mvno: MvnoSimulator, msisdn: str) -> tuple[str, str, str]:
    line = mvno.lines[msisdn.removeprefix("+")]
    return line["iccid"], line["tariff_profile"], line["state"]


def orders_of(database_url: str, subscription_id: str) -> list[dict[str, Any]]:
    return rows(
        database_url,
        "select id, action, state, adapter, error from provisioning_orders where subscription_id = :s"
        " order by created_at, id",
        s=subscription_id,
    )


async def act(stack: MobileStack, shop: SimShop, sub: dict[str, Any], action: str, **body: Any) -> None:
    started = await stack.api.post(
        f"/v1/subscriptions/{sub['id']}/{action}", headers=shop.tenant.post_headers(), json=body
    )
    assert started.status_code == 202, started.text
    await wait_process(stack.api, shop.tenant, started.json()["process_id"])


async def test_sims_are_received_by_iccid_and_imsi_and_bad_ones_refused(
    mobile_stack: MobileStack, shop: SimShop, mvno: MvnoSimulator, database_url: str
) -> None:
    card = new_sim_card()
    [sim] = await shop.receive(mobile_stack.api, mvno, card)
    assert (sim["serial"], sim["iccid"], sim["imsi"], sim["msisdn"], sim["state"]) == (
        card.iccid,
        card.iccid,
        card.imsi,
        card.msisdn,
        "in_stock",
    )
    api, headers = mobile_stack.api, shop.tenant.post_headers

    async def refused(item: dict[str, Any]) -> httpx.Response:
        body = {"warehouse_id": shop.warehouse_id, "model": shop.sim_model, "items": [item]}
        return await api.post("/v1/devices", json=body, headers=headers())

    good = new_sim_card()
    bad_luhn = good.iccid[:-1] + str((int(good.iccid[-1]) + 1) % 10)
    answer = await refused({"iccid": bad_luhn, "imsi": good.imsi})
    assert (answer.status_code, answer.json()["code"]) == (422, "invalid_iccid")
    assert "items[0].iccid" in answer.text
    answer = await refused({"iccid": "1234567890123456789", "imsi": good.imsi})  # not 89…
    assert (answer.status_code, answer.json()["code"]) == (422, "invalid_iccid")
    answer = await refused({"iccid": good.iccid, "imsi": "20801123"})
    assert answer.status_code == 422 and "imsi" in answer.text
    answer = await refused({"iccid": good.iccid})
    assert (answer.status_code, answer.json()["code"]) == (422, "field_required")
    answer = await refused({"iccid": card.iccid, "imsi": good.imsi})  # already in the warehouse
    assert (answer.status_code, answer.json()["code"]) == (409, "iccid_exists")
    answer = await refused({"iccid": good.iccid, "imsi": card.imsi})
    assert (answer.status_code, answer.json()["code"]) == (409, "imsi_exists")
    count = rows(database_url, "select count(*) as n from devices where iccid = :i", i=good.iccid)
    assert count == [{"n": 0}]


def test_the_database_guards_a_sim_received_twice_at_once(shop: SimShop, database_url: str) -> None:
    card = new_sim_card()
    batch = {
        "warehouse_id": shop.warehouse_id,
        "model": shop.sim_model,
        "items": [{"iccid": card.iccid, "imsi": card.imsi, "msisdn": card.msisdn}],
    }
    principal = principal_of(database_url, shop.tenant)

    def receive() -> list[Device]:
        with unit_of_work(database_url) as session:
            return receive_devices(session, principal, batch)

    with ThreadPoolExecutor(max_workers=1) as pool:
        with unit_of_work(database_url) as first:
            receive_devices(first, principal, batch)
            second = pool.submit(receive)  # passes the checks (not committed yet), waits on the unique index
            time.sleep(0.5)
        with pytest.raises(Conflict) as refused:
            second.result(timeout=10)
    assert refused.value.code == "device_exists"
    assert rows(database_url, "select count(*) as n from devices where iccid = :i", i=card.iccid) == [
        {"n": 1}
    ]


async def test_onboarding_assigns_a_sim_and_the_line_lives_on_the_host(
    mobile_stack: MobileStack, shop: SimShop, mvno: MvnoSimulator, database_url: str
) -> None:
    card = new_sim_card()
    [sim] = await shop.receive(mobile_stack.api, mvno, card)
    assert card.msisdn is not None

    sub = await onboard(mobile_stack, shop)

    assert sub["status"] == "active", sub
    row = device_row(database_url, sim["id"])
    assert (row["state"], row["subscription_id"]) == ("assigned", sub["id"])
    assert host_line(mvno, card.msisdn) == (card.iccid, "mvno-basic", "active")
    assert [(o["action"], o["state"], o["adapter"]) for o in orders_of(database_url, sub["id"])] == [
        ("activate", "done", "mvno")
    ]

    await act(mobile_stack, shop, sub, "suspend", effective_date="2024-03-20")
    assert host_line(mvno, card.msisdn)[2] == "suspended"
    await act(mobile_stack, shop, sub, "resume", effective_date="2024-03-25")
    assert host_line(mvno, card.msisdn)[2] == "active"
    await act(mobile_stack, shop, sub, "terminate", effective_date="2024-03-30")
    assert host_line(mvno, card.msisdn)[2] == "terminated"
    assert [(o["action"], o["state"]) for o in orders_of(database_url, sub["id"])] == [
        ("activate", "done"),
        ("suspend", "done"),
        ("resume", "done"),
        ("terminate", "done"),
    ]
    assert rows(database_url, "select msisdn from devices where id = :d", d=sim["id"]) == [{"msisdn": None}]


async def test_a_sim_swap_keeps_the_number(
    mobile_stack: MobileStack, shop: SimShop, mvno: MvnoSimulator, database_url: str
) -> None:
    card = new_sim_card()
    [old] = await shop.receive(mobile_stack.api, mvno, card)
    sub = await onboard(mobile_stack, shop)
    assert sub["status"] == "active", sub
    spare = new_sim_card(msisdn=False)
    [new] = await shop.receive(mobile_stack.api, mvno, spare)
    assert card.msisdn is not None

    started = await mobile_stack.api.post(
        f"/v1/devices/{old['id']}/swap",
        json={"reason": "faulty", "fee_amount_minor": 0},
        headers=shop.tenant.post_headers(),
    )
    assert started.status_code == 202, started.text
    await wait_process(mobile_stack.api, shop.tenant, started.json()["process_id"])

    assert host_line(mvno, card.msisdn) == (spare.iccid, "mvno-basic", "active")
    assert mvno.sims[card.iccid]["state"] == "retired"
    assert device_row(database_url, new["id"])["state"] == "assigned"
    numbers = rows(
        database_url,
        "select id, msisdn from devices where id in (:a, :b) order by id",
        a=old["id"],
        b=new["id"],
    )
    assert {r["id"]: r["msisdn"] for r in numbers} == {old["id"]: None, new["id"]: card.msisdn}


async def test_a_number_is_ported_in(
    mobile_stack: MobileStack, shop: SimShop, mvno: MvnoSimulator, database_url: str
) -> None:
    await shop.receive(mobile_stack.api, mvno, new_sim_card())
    sub = await onboard(mobile_stack, shop)
    card = new_sim_card(msisdn=False)
    [sim] = await shop.receive(mobile_stack.api, mvno, card)
    ported = new_number()
    mvno.today = lambda: date(2024, 3, 10)
    order = OrderInput(
        idempotency_key=f"port-in:{sim['id']}",
        action=ProvisioningAction.ACTIVATE,
        service_kind="mobile",
        account_id=sub["account_id"],
        subscription_id=sub["id"],
        service_id=f"svc-port-{sim['id'][-8:]}",
        plan_code=shop.plan,
        characteristics={
            "tariff_profile": "mvno-plus",
            "port_in": {"msisdn": ported, "donor_operator": "Orange", "port_date": "2024-03-12"},
        },
        device={"device_id": sim["id"]},
    )

    outcome = run_order(database_url, build_registry(mobile_stack.settings), order)

    assert outcome.state == "done", outcome
    line = mvno.lines[ported.removeprefix("+")]
    assert (line["iccid"], line["tariff_profile"], line["ported_from"], line["state"]) == (
        card.iccid,
        "mvno-plus",
        "Orange",
        "active",
    )
    assert rows(database_url, "select msisdn from devices where id = :d", d=sim["id"]) == [{"msisdn": ported}]


async def test_a_rejected_order_is_visible_and_re_run(
    mobile_stack: MobileStack, shop: SimShop, mvno: MvnoSimulator, database_url: str
) -> None:
    card = new_sim_card()
    await shop.receive(mobile_stack.api, mvno, card)
    sub = await onboard(mobile_stack, shop)
    assert card.msisdn is not None
    mvno.reject_next("rejected_by_host")

    started = await mobile_stack.api.post(
        f"/v1/subscriptions/{sub['id']}/suspend",
        headers=shop.tenant.post_headers(),
        json={"effective_date": "2024-03-20"},
    )
    await wait_process(mobile_stack.api, shop.tenant, started.json()["process_id"])
    assert host_line(mvno, card.msisdn)[2] == "active"
    failed = await mobile_stack.api.get("/v1/provisioning/orders?state=failed", headers=shop.tenant.auth)
    [order] = [o for o in failed.json()["data"] if o["subscription_id"] == sub["id"]]
    assert (order["action"], order["adapter"]) == ("suspend", "mvno")
    assert "rejected (rejected_by_host" in order["error"]

    retried = await mobile_stack.api.post(
        f"/v1/provisioning/orders/{order['id']}/retry", headers=shop.tenant.post_headers()
    )
    assert retried.status_code == 200, retried.text
    assert (retried.json()["outcome"], retried.json()["order"]["state"]) == ("done", "done")
    assert host_line(mvno, card.msisdn)[2] == "suspended"
    refs = sorted(
        o["order_ref"] for o in mvno.orders.values() if o["request"].get("msisdn") == card.msisdn[1:]
    )
    assert len(refs) == 3 and refs[2].endswith("#2")  # activate, the rejected suspend, its re-run
