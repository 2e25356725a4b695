"""Number port-in asked for at onboarding (API, worker on the Temporal dev server, MVNO simulator over HTTP):
the host ports the subscriber's number in on the reserved SIM instead of activating the SIM's own number;
a failure of the host is retried and visible; a rejection is visible and fails the onboarding (nothing
left half-done); bad input (not E.164, unknown donor, a past port date, a number already ours, a plan that
is not mobile, another organisation's or a partner's key) is refused with a code and writes nothing."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from activities.catalog import records as catalog
from domain.catalog import BillingTerm, Phase, PhaseKind, PlanSpec, ProductKind, ProductSpec
from domain.organisations import OrganisationKind
from integrations.provisioning.mvno.simulator import MvnoSimulator
from models.base import unit_of_work
from tests.support.device_support import code, device_row
from tests.support.factories import make_child, make_operator, person
from tests.support.mobile_lines import MobileStack, SimShop, make_sim_shop, new_number, new_sim_card
from tests.support.payment_support import rows
from tests.support.subscription_support import wait_process

pytestmark = pytest.mark.calendar

START = "2024-03-10"


@pytest.fixture
def shop(database_url: str) -> SimShop:
    return make_sim_shop(database_url)


async def new_account(stack: MobileStack, shop: SimShop) -> str:
    made = await stack.api.post("/v1/accounts", json=person(), headers=shop.tenant.post_headers())
    assert made.status_code == 201, made.text
    return str(made.json()["id"])


def order_body(account: str, plan: str, port_in: dict[str, Any] | None) -> dict[str, Any]:
    item: dict[str, Any] = {"plan": plan}
    if port_in is not None:
        item["port_in"] = port_in
    return {"account_id": account, "items": [item], "start_date": START}


async def onboard(stack: MobileStack, shop: SimShop, port_in: dict[str, Any]) -> dict[str, Any]:
    account = await new_account(stack, shop)
    started = await stack.api.post(
        "/v1/subscriptions", headers=shop.tenant.post_headers(), json=order_body(account, shop.plan, port_in)
    )
    assert started.status_code == 202, started.text
    await wait_process(stack.api, shop.tenant, started.json()["process_id"])
    got = await stack.api.get(
        f"/v1/subscriptions/{started.json()['subscription_id']}", headers=shop.tenant.auth
    )
    return dict(got.json())


def orders_of(database_url: str, subscription_id: str) -> list[dict[str, Any]]:
    return rows(
        database_url,
        "select id, action, state, adapter, attempts, error, request from provisioning_orders"
        " where subscription_id = :s order by created_at, id",
        s=subscription_id,
    )


def host_orders_for(mvno: MvnoSimulator, msisdn: str) -> list[dict[str, Any]]:
    return [o for o in mvno.orders.values() if o["request"].get("msisdn") == msisdn.removeprefix("+")]


async def test_onboarding_ports_the_subscribers_number_in(
    mobile_stack: MobileStack, shop: SimShop, mvno: MvnoSimulator, database_url: str
) -> None:
    card = new_sim_card()  # the SIM comes with its own number: the port-in replaces it
    [sim] = await shop.receive(mobile_stack.api, mvno, card)
    assert card.msisdn is not None
    ported = new_number()
    mvno.fail_next = 1  # the host is down for the first call: the order is retried

    sub = await onboard(
        mobile_stack,
        shop,
        {"msisdn": ported, "donor_operator": "orange", "authorisation_code": "PAC-1234"},
    )

    assert sub["status"] == "active", sub
    line = mvno.lines[ported.removeprefix("+")]
    assert (line["iccid"], line["imsi"], line["ported_from"], line["state"]) == (
        card.iccid,
        card.imsi,
        "Orange",
        "active",
    )
    assert card.msisdn.removeprefix("+") not in mvno.lines  # the SIM's own number was never activated
    [host_order] = host_orders_for(mvno, ported)
    assert host_order["type"] == "port_in"
    assert host_order["request"]["authorisation_code"] == "PAC-1234"
    port_date = date.fromisoformat(host_order["request"]["port_date"])
    assert port_date > datetime.now(UTC).date() - timedelta(days=1)  # tomorrow in the account's zone
    assert line["ported_on"] == port_date.isoformat()
    [order] = orders_of(database_url, sub["id"])
    assert (order["action"], order["state"], order["adapter"], order["attempts"]) == (
        "activate",
        "done",
        "mvno",
        2,
    )
    assert order["request"]["characteristics"]["port_in"] == {
        "msisdn": ported,
        "donor_operator": "Orange",
        "authorisation_code": "PAC-1234",
        "port_date": port_date.isoformat(),
    }
    failures = rows(
        database_url,
        "select data from business_events where type = 'provisioning.failed' and object_id = :s",
        s=sub["id"],
    )
    assert len(failures) == 1 and "503" in failures[0]["data"]["error"]  # the failed try is visible
    assert (device_row(database_url, sim["id"])["state"], sim["id"]) == ("assigned", sim["id"])
    assert rows(database_url, "select msisdn from devices where id = :d", d=sim["id"]) == [{"msisdn": ported}]
    # The SIM is traced by each of its identities, and its history says where it went.
    api, auth = mobile_stack.api, shop.tenant.auth
    for name, value in (("iccid", card.iccid), ("imsi", card.imsi), ("msisdn", ported)):
        found = await api.get("/v1/devices", params={name: value}, headers=auth)
        assert [(d["id"], d["iccid"], d["imsi"], d["msisdn"]) for d in found.json()["data"]] == [
            (sim["id"], card.iccid, card.imsi, ported)
        ], (name, found.text)
    lost = await api.get("/v1/devices", params={"msisdn": card.msisdn}, headers=auth)
    assert lost.json()["data"] == []  # the SIM's own number was given up for the ported one
    history = await api.get("/v1/stock/movements", params={"device_id": sim["id"]}, headers=auth)
    trail = sorted((m["at"], m["to_state"], m["subscription_id"]) for m in history.json()["data"])
    assert [(state, subscription) for _, state, subscription in trail] == [
        ("in_stock", None),
        ("reserved", sub["id"]),
        ("assigned", sub["id"]),
    ]


async def test_a_port_in_the_host_rejects_is_visible_and_fails_the_onboarding(
    mobile_stack: MobileStack, shop: SimShop, mvno: MvnoSimulator, database_url: str
) -> None:
    card = new_sim_card(msisdn=False)
    [sim] = await shop.receive(mobile_stack.api, mvno, card)
    ported = new_number()
    mvno.reject_next("donor_refused")

    sub = await onboard(mobile_stack, shop, {"msisdn": ported, "donor_operator": "Vodafone"})

    assert sub["status"] == "failed", sub
    assert "port_in rejected (donor_refused" in sub["failure_reason"]
    assert ported.removeprefix("+") not in mvno.lines
    failed = await mobile_stack.api.get("/v1/provisioning/orders?state=failed", headers=shop.tenant.auth)
    mine = [o for o in failed.json()["data"] if o["subscription_id"] == sub["id"]]
    assert [(o["action"], o["adapter"]) for o in mine] == [("activate", "mvno")]
    assert "donor_refused" in mine[0]["error"]
    assert device_row(database_url, sim["id"])["state"] == "in_stock"  # the reservation is released
    assert rows(database_url, "select msisdn from devices where id = :d", d=sim["id"]) == [{"msisdn": None}]
    charges = rows(database_url, "select status from pending_charges where subscription_id = :s", s=sub["id"])
    assert all(c["status"] == "void" for c in charges)


async def test_a_retry_that_finds_the_port_in_rejected_never_sends_it_again(
    mobile_stack: MobileStack, shop: SimShop, mvno: MvnoSimulator, database_url: str
) -> None:
    await shop.receive(mobile_stack.api, mvno, new_sim_card(msisdn=False))
    ported = new_number()
    mvno.processing_s = 4.0  # the first attempt gives up waiting (3 s); the retry finds it rejected
    mvno.reject_next("donor_refused")

    sub = await onboard(mobile_stack, shop, {"msisdn": ported, "donor_operator": "Telkom"})

    assert sub["status"] == "failed", sub
    assert "port_in rejected (donor_refused" in sub["failure_reason"]
    [order] = orders_of(database_url, sub["id"])
    assert order["state"] == "failed" and order["attempts"] >= 2  # the first attempt waited in vain
    assert [o["status"] for o in host_orders_for(mvno, ported)] == ["rejected"]  # not sent again
    assert ported.removeprefix("+") not in mvno.lines


def prepaid_mobile_plan(database_url: str, shop: SimShop) -> str:
    """A prepaid plan of the shop's mobile product, renting its SIM (the first period from the wallet)."""
    plan = code("m10pre")
    with unit_of_work(database_url) as session:
        mobile = catalog.plan_on(session, shop.tenant.organisation_id, shop.plan, date(2024, 3, 10))
        base = PlanSpec.model_validate(mobile.spec)
        spec = base.model_copy(
            update={"code": plan, "name": "Mobile prepaid", "billing_term": BillingTerm.PREPAID}
        )
        catalog.add_plan(session, shop.tenant.organisation_id, spec, date(2000, 1, 1))
    return plan


async def test_a_ported_line_is_given_up_when_a_later_step_fails(
    mobile_stack: MobileStack, shop: SimShop, mvno: MvnoSimulator, database_url: str
) -> None:
    """An empty wallet fails the prepaid onboarding after the line went live: the compensation terminates
    the ported line at the host (nothing left half-done) and the subscription fails with the reason."""
    [sim] = await shop.receive(mobile_stack.api, mvno, new_sim_card(msisdn=False))
    ported = new_number()
    prepaid = SimShop(shop.tenant, shop.sim_product, shop.sim_model, prepaid_mobile_plan(database_url, shop),
                      shop.warehouse_id)  # fmt: skip

    sub = await onboard(mobile_stack, prepaid, {"msisdn": ported, "donor_operator": "MTN"})

    assert sub["status"] == "failed", sub
    assert "top it up first" in sub["failure_reason"]
    assert mvno.lines[ported.removeprefix("+")]["state"] == "terminated"
    assert sorted((o["action"], o["state"]) for o in orders_of(database_url, sub["id"])) == [
        ("activate", "done"),
        ("terminate", "done"),
    ]
    assert device_row(database_url, sim["id"])["state"] == "in_stock"  # the reservation is released
    assert rows(database_url, "select msisdn from devices where id = :d", d=sim["id"]) == [{"msisdn": None}]


def broadband_plan(database_url: str, shop: SimShop) -> str:
    product, plan = code("bb"), code("bb100")
    with unit_of_work(database_url) as session:
        catalog.add_product(
            session,
            shop.tenant.organisation_id,
            ProductSpec(code=product, name="Fibre", kind=ProductKind.BROADBAND),
        )
        spec = PlanSpec(
            code=plan,
            name="Fibre 100",
            product_code=product,
            phases=[Phase(kind=PhaseKind.EVERGREEN, prices={"EUR": Decimal("30.00")})],
        )
        catalog.add_plan(session, shop.tenant.organisation_id, spec, date(2000, 1, 1))
    return plan


async def test_bad_port_in_requests_are_refused_with_a_code_and_write_nothing(
    mobile_stack: MobileStack, shop: SimShop, mvno: MvnoSimulator, database_url: str
) -> None:
    api = mobile_stack.api
    account = await new_account(mobile_stack, shop)
    [ours] = await shop.receive(api, mvno, new_sim_card())
    yesterday = (datetime.now(UTC).date() - timedelta(days=2)).isoformat()
    good = {"msisdn": new_number(), "donor_operator": "SFR"}
    cases: list[tuple[str, dict[str, Any], int, str, str]] = [
        (shop.plan, {**good, "msisdn": "0612345678"}, 422, "invalid_msisdn", "items[0].port_in.msisdn"),
        (
            shop.plan,
            {**good, "msisdn": "+33 6 12 34 56 78"},
            422,
            "invalid_msisdn",
            "items[0].port_in.msisdn",
        ),
        (
            shop.plan,
            {**good, "donor_operator": "Acme Mobile"},
            422,
            "unknown_donor_operator",
            "donor_operator",
        ),
        (shop.plan, {**good, "port_date": yesterday}, 422, "port_date_in_past", "items[0].port_in.port_date"),
        (shop.plan, {**good, "authorisation_code": "no way!"}, 422, "invalid_authorisation_code", "code"),
        (shop.plan, {**good, "msisdn": ours["msisdn"]}, 409, "msisdn_in_use", "items[0].port_in.msisdn"),
        (shop.plan, {"msisdn": good["msisdn"]}, 422, "missing", "donor_operator"),
        (shop.plan, {**good, "iccid": "x"}, 422, "extra_forbidden", "iccid"),
        (broadband_plan(database_url, shop), good, 422, "port_in_not_mobile", "items[0].port_in"),
    ]
    for plan, port_in, status, problem, field in cases:
        answer = await api.post(
            "/v1/subscriptions", headers=shop.tenant.post_headers(), json=order_body(account, plan, port_in)
        )
        assert answer.status_code == status, (port_in, answer.text)
        assert answer.headers["content-type"].startswith("application/problem+json")
        body = answer.json()
        assert body["code"] == problem or problem in [e["code"] for e in body.get("errors", [])], body
        assert field in answer.text, answer.text
    assert rows(database_url, "select count(*) as n from subscriptions where account_id = :a", a=account) == [
        {"n": 0}
    ]


async def test_another_organisations_or_a_partners_key_cannot_port_into_the_account(
    mobile_stack: MobileStack, shop: SimShop, database_url: str
) -> None:
    account = await new_account(mobile_stack, shop)
    body = order_body(account, shop.plan, {"msisdn": new_number(), "donor_operator": "SFR"})
    stranger = make_operator(database_url, name="Other Operator")
    partner = make_child(database_url, shop.tenant.organisation_id, kind=OrganisationKind.PARTNER)
    for tenant in (stranger, partner):
        answer = await mobile_stack.api.post("/v1/subscriptions", headers=tenant.post_headers(), json=body)
        assert (answer.status_code, answer.json()["code"]) == (404, "account_not_found"), answer.text
    assert rows(database_url, "select count(*) as n from subscriptions where account_id = :a", a=account) == [
        {"n": 0}
    ]
