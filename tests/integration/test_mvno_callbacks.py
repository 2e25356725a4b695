"""The MVNO host's signed callbacks on ``POST /v1/provisioning/callbacks/mvno`` (the simulator calls a copy of
the API served over real HTTP): a slow host's outcome completes the order the Onboarding process waits on
(done by the callback, not by a second call); a rejection told by callback fails it visibly and for good;
a copy of a callback counts once; a bad or missing signature is refused (401 problem+json), logged, and
changes nothing, whichever key comes with it."""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from domain.organisations import OrganisationKind
from integrations.provisioning.mvno.simulator import MvnoSimulator, sign
from runtime.settings import Settings
from runtime.worker import build_worker
from tests.support.eventually import eventually
from tests.support.factories import make_child, make_operator, person
from tests.support.live_api import serve
from tests.support.mobile_lines import SimShop, make_sim_shop, new_number, new_sim_card
from tests.support.mvno_simulator import MVNO_API_KEY, MVNO_CALLBACK_SECRET
from tests.support.payment_support import rows
from tests.support.subscription_support import wait_process

pytestmark = pytest.mark.calendar

CALLBACKS = "/v1/provisioning/callbacks/mvno"


@dataclass
class CallbackStack:
    api: httpx.AsyncClient
    settings: Settings


@pytest.fixture
def shop(database_url: str) -> SimShop:
    return make_sim_shop(database_url)


@pytest.fixture
async def stack(
    settings: Settings, dev_env: WorkflowEnvironment, mvno_platform: tuple[MvnoSimulator, str]
) -> AsyncIterator[CallbackStack]:
    """The API (in process) and a worker whose orders wait 0.3 s for the host, then are retried; the host
    calls back a second copy of the API, served on a real port."""
    temporal = dev_env.client.service_client.config.target_host
    base = settings.model_copy(
        update={"temporal_address": temporal, "task_queue": f"mvno-cb-{uuid.uuid4().hex[:8]}"}
    )
    callbacks = create_app(base)
    with serve(callbacks) as url:
        wired = base.model_copy(
            update={
                "mvno_base_url": mvno_platform[1],
                "mvno_api_key": MVNO_API_KEY,
                "mvno_timeout_seconds": 5.0,
                "mvno_wait_seconds": 0.3,
                "mvno_callback_secret": MVNO_CALLBACK_SECRET,
                "mvno_callback_url": f"{url}{CALLBACKS}",
            }
        )
        callbacks.state.settings = wired
        app = create_app(wired, temporal_client=dev_env.client)
        async with (
            build_worker(dev_env.client, wired),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://testserver", timeout=60.0
            ) as api,
        ):
            yield CallbackStack(api, wired)


async def onboard(stack: CallbackStack, shop: SimShop, **item: Any) -> dict[str, Any]:
    account = (await stack.api.post("/v1/accounts", json=person(), headers=shop.tenant.post_headers())).json()
    started = await stack.api.post(
        "/v1/subscriptions",
        headers=shop.tenant.post_headers(),
        json={
            "account_id": account["id"],
            "items": [{"plan": shop.plan, **item}],
            "start_date": "2024-03-10",
        },
    )
    assert started.status_code == 202, started.text
    await wait_process(stack.api, shop.tenant, started.json()["process_id"])
    got = await stack.api.get(
        f"/v1/subscriptions/{started.json()['subscription_id']}", headers=shop.tenant.auth
    )
    return dict(got.json())


def order_rows(database_url: str, subscription_id: str) -> list[dict[str, Any]]:
    return rows(
        database_url,
        "select id, action, state, attempts, error, result from provisioning_orders"
        " where subscription_id = :s",
        s=subscription_id,
    )


def callbacks_of(database_url: str, order_id: str) -> list[dict[str, Any]]:
    return rows(
        database_url,
        "select event_id, outcome, copies from provisioning_callbacks where provisioning_order_id = :o",
        o=order_id,
    )


def host_order(mvno: MvnoSimulator, msisdn: str) -> dict[str, Any]:
    [order] = [o for o in mvno.orders.values() if o["request"].get("msisdn") == msisdn.removeprefix("+")]
    return order


async def test_a_slow_hosts_callback_completes_the_order_onboarding_waits_on(
    stack: CallbackStack, shop: SimShop, mvno: MvnoSimulator, database_url: str
) -> None:
    card = new_sim_card()
    await shop.receive(stack.api, mvno, card)
    assert card.msisdn is not None
    mvno.processing_s = 0.6  # longer than the 0.3 s the activity waits: its first attempt gives up

    sub = await onboard(stack, shop)

    assert sub["status"] == "active", sub
    [order] = order_rows(database_url, sub["id"])
    assert (order["action"], order["state"], order["attempts"]) == ("activate", "done", 2)
    assert order["result"]["mvno"]["detail"] == "activate completed (host callback)"
    sent = host_order(mvno, card.msisdn)
    assert callbacks_of(database_url, order["id"]) == [
        {"event_id": f"{sent['order_id']}:completed", "outcome": "done", "copies": 1}
    ]
    assert [
        o["order_ref"] for o in mvno.orders.values() if o["request"].get("msisdn") == card.msisdn[1:]
    ] == [sent["order_ref"]]  # one order at the host: the retry found the order done, it did not send again


async def test_a_port_in_rejected_by_callback_fails_for_good_and_visibly(
    stack: CallbackStack, shop: SimShop, mvno: MvnoSimulator, database_url: str
) -> None:
    await shop.receive(stack.api, mvno, new_sim_card(msisdn=False))
    ported = new_number()
    mvno.processing_s = 0.6
    mvno.reject_next("donor_refused")

    sub = await onboard(stack, shop, port_in={"msisdn": ported, "donor_operator": "Free Mobile"})

    assert sub["status"] == "failed", sub
    assert "port_in rejected (donor_refused" in sub["failure_reason"]
    [order] = order_rows(database_url, sub["id"])
    assert (order["state"], order["attempts"]) == ("failed", 2)  # the retry stopped at the rejection
    sent = host_order(mvno, ported)
    assert sent["status"] == "rejected"
    assert callbacks_of(database_url, order["id"]) == [
        {"event_id": f"{sent['order_id']}:rejected", "outcome": "failed", "copies": 1}
    ]
    failed = await stack.api.get("/v1/provisioning/orders?state=failed", headers=shop.tenant.auth)
    [listed] = [o for o in failed.json()["data"] if o["id"] == order["id"]]
    assert listed["error"] == "port_in rejected (donor_refused: rejected by the host (injected))"


def signed(body: bytes, secret: str = MVNO_CALLBACK_SECRET) -> dict[str, str]:
    return {"Content-Type": "application/json", "X-MVNO-Signature": sign(secret, body, int(time.time()))}


async def test_a_copy_of_a_callback_counts_once(
    stack: CallbackStack, shop: SimShop, mvno: MvnoSimulator, database_url: str
) -> None:
    card = new_sim_card()
    await shop.receive(stack.api, mvno, card)
    assert card.msisdn is not None
    sub = await onboard(stack, shop)
    [order] = order_rows(database_url, sub["id"])
    await asyncio.to_thread(
        eventually, lambda: callbacks_of(database_url, order["id"]), timeout=20, what="the host's callback"
    )
    [first] = callbacks_of(database_url, order["id"])  # "no_change" if the activity's poll saw it first
    body = json.dumps(host_order(mvno, card.msisdn)).encode()

    again = await stack.api.post(CALLBACKS, content=body, headers=signed(body))

    assert again.status_code == 200, again.text
    assert (again.json()["duplicate"], again.json()["outcome"]) == (True, "duplicate")
    [recorded] = callbacks_of(database_url, order["id"])
    assert (recorded["copies"], recorded["outcome"]) == (2, first["outcome"])
    assert first["outcome"] in ("done", "no_change")
    assert order_rows(database_url, sub["id"])[0]["state"] == "done"


async def test_a_bad_signature_is_refused_logged_and_changes_nothing(
    stack: CallbackStack,
    shop: SimShop,
    mvno: MvnoSimulator,
    database_url: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    card = new_sim_card()
    await shop.receive(stack.api, mvno, card)
    assert card.msisdn is not None
    mvno.fail_next = 10_000  # the host is down: the order waits, failed and retried
    account = (await stack.api.post("/v1/accounts", json=person(), headers=shop.tenant.post_headers())).json()
    started = await stack.api.post(
        "/v1/subscriptions",
        headers=shop.tenant.post_headers(),
        json={"account_id": account["id"], "items": [{"plan": shop.plan}], "start_date": "2024-03-10"},
    )
    sub_id = started.json()["subscription_id"]
    [order] = await asyncio.to_thread(
        eventually, lambda: order_rows(database_url, sub_id), timeout=20, what="the order"
    )
    key = rows(database_url, "select idempotency_key from provisioning_orders where id = :o", o=order["id"])
    forged = {
        "order_id": "ord_forged",
        "order_ref": key[0]["idempotency_key"],
        "type": "activate",
        "status": "completed",
        "reason": None,
        "request": {"msisdn": card.msisdn[1:]},
    }
    body = json.dumps(forged).encode()
    stranger = make_operator(database_url, name="Other Operator")
    partner = make_child(database_url, shop.tenant.organisation_id, kind=OrganisationKind.PARTNER)
    attempts = [
        signed(body, "not-the-secret"),
        {**signed(body, "not-the-secret"), **stranger.auth},
        {**signed(body, "not-the-secret"), **partner.auth},
        {**signed(b"another body"), **shop.tenant.auth},  # a genuine signature, of another body
        {"Content-Type": "application/json", **shop.tenant.auth},  # none at all
        {"Content-Type": "application/json", "X-MVNO-Signature": "t=1,v1=00"},  # stale and wrong
    ]

    with caplog.at_level(logging.WARNING, logger="activities.provisioning.callbacks"):
        for headers in attempts:
            answer = await stack.api.post(CALLBACKS, content=body, headers=headers)
            assert answer.status_code == 401, answer.text
            assert answer.headers["content-type"].startswith("application/problem+json")
            assert answer.json()["code"] == "invalid_signature"

    refused = [r for r in caplog.records if "refused an MVNO callback" in r.getMessage()]
    assert len(refused) == len(attempts)
    assert callbacks_of(database_url, order["id"]) == []
    assert order_rows(database_url, sub_id)[0]["state"] != "done"
    assert rows(database_url, "select status from subscriptions where id = :s", s=sub_id) == [
        {"status": "draft"}
    ]

    genuine = await stack.api.post(CALLBACKS, content=body, headers=signed(body))  # the same body, signed
    assert (genuine.status_code, genuine.json()["outcome"]) == (200, "done"), genuine.text
    assert order_rows(database_url, sub_id)[0]["state"] == "done"


async def test_a_signed_callback_that_is_no_order_is_refused_and_an_unknown_order_recorded_once(
    stack: CallbackStack, database_url: str
) -> None:
    shape = {"order_id": "ord_x", "order_ref": "r", "type": "activate", "status": "completed", "reason": None}
    for junk in (
        b"not json",
        b"[1, 2]",
        json.dumps({"order_id": "ord_x"}).encode(),
        json.dumps({**shape, "status": "lost"}).encode(),
        json.dumps({**shape, "order_ref": 7}).encode(),
        json.dumps({**shape, "order_ref": "r" * 301}).encode(),
        json.dumps({**shape, "status": "rejected", "reason": "no"}).encode(),
    ):
        answer = await stack.api.post(CALLBACKS, content=junk, headers=signed(junk))
        assert (answer.status_code, answer.json()["code"]) == (422, "invalid_callback"), answer.text
    ref = f"onboarding-sub_{uuid.uuid4().hex}:svc_x:activate"
    order = {"order_id": f"ord_{uuid.uuid4().hex[:8]}", "order_ref": ref, "type": "activate"}
    body = json.dumps({**order, "status": "completed", "reason": None, "request": {}}).encode()
    first = await stack.api.post(CALLBACKS, content=body, headers=signed(body))
    again = await stack.api.post(CALLBACKS, content=body, headers=signed(body))
    assert (first.status_code, first.json()["outcome"], first.json()["order_id"]) == (
        200,
        "unknown_order",
        None,
    )
    assert (again.json()["outcome"], again.json()["duplicate"]) == ("duplicate", True)
    assert rows(
        database_url, "select outcome, copies from provisioning_callbacks where order_ref = :r", r=ref
    ) == [{"outcome": "unknown_order", "copies": 2}]
