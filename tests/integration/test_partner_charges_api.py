"""/v1/partner-charges (list, filters, cursor, detail, run now) and the push webhook
/v1/partners/{provider}/charges, with SportStream (a provider that pushes signed charges) over HTTP and
NetflixChargeAcceptance on the time-skipping server deciding what was pushed."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime

import httpx
import pytest
from sqlalchemy import func, select
from temporalio.testing import WorkflowEnvironment

from activities.partner_charges.deciding import decide_received
from activities.partner_charges.io import AcceptanceResult
from activities.partner_charges.receiving import store_received
from activities.partner_charges.sessions import PartnerRegistry
from api.app import create_app
from integrations.partners.base import PartnerCharge as Incoming
from integrations.partners.base import PartnerConnection as ConnectionSpec
from integrations.partners.base import PartnerError, SubscribeRequest
from integrations.partners.netflix.provider import NetflixProvider
from integrations.partners.sportstream.provider import SportStreamProvider
from integrations.partners.sportstream.simulator import Push
from models.base import unit_of_work
from models.partners import PartnerCharge
from runtime.settings import Settings
from tests.support.factories import Tenant, make_operator
from tests.support.netflix_simulator import NETFLIX_OPERATOR, NETFLIX_SECRET, NetflixHarness
from tests.support.partner_factory import (
    Member,
    acceptance_worker,
    charges_of,
    make_connection,
    make_member,
    membership_of,
    pending_charges_of,
)
from tests.support.sportstream_simulator import SPORTSTREAM_OPERATOR, SPORTSTREAM_SECRET, SportStreamHarness

PERIOD = date(2026, 3, 1)
LEAGUE = 999


def registry() -> PartnerRegistry:
    found = PartnerRegistry()
    found.register(NetflixProvider(timeout_seconds=2.0))
    found.register(SportStreamProvider(timeout_seconds=2.0))
    return found


def incoming(number: str, customer: str, amount: int = 999, currency: str = "EUR") -> Incoming:
    return Incoming(
        charge_number=number,
        customer_id=customer,
        partner_plan="LEAGUE",
        amount_minor=amount,
        currency=currency,
        local_amount_minor=amount,
        local_currency=currency,
        paid_through=date(2026, 3, 31),
        received_at=datetime(2026, 3, 1, 9, tzinfo=UTC),
    )


def decided(database_url: str, operator: str, provider: str, charges: list[Incoming]) -> None:
    """Charges stored and decided directly (the transaction scripts the workflow's activities run)."""
    at = datetime(2026, 3, 1, 10, tzinfo=UTC)
    with unit_of_work(database_url) as session:
        store_received(session, operator, provider, charges, at)
    with unit_of_work(database_url) as session:
        decide_received(session, operator, provider, at, 100)


async def test_charges_are_listed_filtered_paged_and_read(
    api: httpx.AsyncClient, database_url: str, operator: Tenant
) -> None:
    fan = make_member(database_url, operator.organisation_id, "sportstream", plan="LEAGUE")
    other = make_member(
        database_url, operator.organisation_id, "sportstream", plan="LEAGUE", allowance_minor=500
    )
    decided(
        database_url,
        operator.organisation_id,
        "sportstream",
        [incoming("SS1", fan.customer_id), incoming("SS2", other.customer_id), incoming("SS3", "acc_nobody")],
    )
    h = operator.auth
    everything = (await api.get("/v1/partner-charges", headers=h)).json()
    assert [c["charge_number"] for c in everything["data"]] == ["SS3", "SS2", "SS1"]  # newest first
    accepted = (await api.get("/v1/partner-charges?status=accepted", headers=h)).json()["data"]
    assert [(c["charge_number"], c["billed_as"], c["subscriber_amount_minor"]) for c in accepted] == [
        ("SS1", "invoice", 999)
    ]
    mine = (await api.get(f"/v1/partner-charges?account_id={other.account_id}", headers=h)).json()["data"]
    assert [(c["status"], c["reason"].split(":")[0]) for c in mine] == [("declined", "above_allowance")]
    assert (await api.get("/v1/partner-charges?provider=netflix", headers=h)).json()["data"] == []
    page1 = (await api.get("/v1/partner-charges?limit=2", headers=h)).json()
    assert page1["has_more"] is True
    page2 = (await api.get(f"/v1/partner-charges?limit=2&cursor={page1['next_cursor']}", headers=h)).json()
    assert [c["charge_number"] for c in page1["data"] + page2["data"]] == ["SS3", "SS2", "SS1"]
    assert page2["has_more"] is False

    one = (await api.get(f"/v1/partner-charges/{accepted[0]['id']}", headers=h)).json()
    assert (one["object"], one["reference"], one["times_received"]) == (
        "partner_charge",
        f"MB-{accepted[0]['id']}",
        1,
    )
    assert one["pending_charge_id"].startswith("chg_")

    stranger = make_operator(database_url, name="Other")
    missing = await api.get(f"/v1/partner-charges/{one['id']}", headers=stranger.auth)
    assert (missing.status_code, missing.json()["code"]) == (404, "partner_charge_not_found")
    assert (await api.get("/v1/partner-charges", headers=stranger.auth)).json()["data"] == []
    bad = await api.get("/v1/partner-charges?status=paid", headers=h)
    assert bad.status_code == 422
    cursor = await api.get("/v1/partner-charges?cursor=nonsense", headers=h)
    assert (cursor.status_code, cursor.json()["code"]) == (422, "invalid_cursor")
    junk = await api.get("/v1/partner-charges/pch_nonsense", headers=h)
    assert junk.status_code == 404


async def test_a_run_needs_a_known_provider_and_a_connection(
    api: httpx.AsyncClient, operator: Tenant
) -> None:
    unknown = await api.post(
        "/v1/partner-charges/runs", json={"provider": "hulu"}, headers=operator.post_headers()
    )
    assert (unknown.status_code, unknown.json()["code"]) == (404, "partner_provider_not_found")
    missing = await api.post(
        "/v1/partner-charges/runs", json={"provider": "netflix"}, headers=operator.post_headers()
    )
    assert (missing.status_code, missing.json()["code"]) == (404, "partner_connection_not_found")
    bad = await api.post(
        "/v1/partner-charges/runs", json={"provider": "Net flix"}, headers=operator.post_headers()
    )
    assert bad.status_code == 422


@dataclass
class PushWorld:
    api: httpx.AsyncClient
    env: WorkflowEnvironment
    operator: str
    connection_id: str
    settings: Settings

    @property
    def webhook(self) -> str:
        return f"/v1/partners/sportstream/charges?connection={self.connection_id}"

    async def deliver(self, push: Push) -> httpx.Response:
        """What SportStream sends, posted to our webhook (in process)."""
        return await self.api.post(push.url, content=push.body, headers=push.headers)

    async def settled(self, process_id: str) -> AcceptanceResult:
        result: AcceptanceResult = await self.env.client.get_workflow_handle(
            process_id, result_type=AcceptanceResult
        ).result()
        return result


@pytest.fixture
async def push_world(
    time_skipping_env: WorkflowEnvironment, settings: Settings, sportstream: SportStreamHarness
) -> AsyncIterator[PushWorld]:
    db = settings.database_url or ""
    operator = make_operator(db).organisation_id
    connection = make_connection(
        settings, operator, "sportstream", sportstream.url, SPORTSTREAM_OPERATOR, SPORTSTREAM_SECRET
    )
    providers = registry()
    async with acceptance_worker(time_skipping_env.client, settings, providers) as queue:
        app = create_app(queue, temporal_client=time_skipping_env.client)
        app.state.partner_registry = providers
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver"
        ) as api:
            world = PushWorld(api, time_skipping_env, operator, connection, settings)
            sportstream.simulator.webhooks[SPORTSTREAM_OPERATOR] = world.webhook
            yield world


def fan_of(world: PushWorld, sportstream: SportStreamHarness) -> Member:
    """A member of ours who subscribed at SportStream (through the provider)."""
    member = make_member(world.settings.database_url or "", world.operator, "sportstream", plan="LEAGUE")
    spec = ConnectionSpec(
        provider="sportstream",
        base_url=sportstream.url,
        partner_id=SPORTSTREAM_OPERATOR,
        secret=SPORTSTREAM_SECRET,
    )
    session = SportStreamProvider().connect(spec)
    try:
        link = session.subscribe(SubscribeRequest(customer_id=member.customer_id, partner_plan="LEAGUE"))
        again = session.subscribe(SubscribeRequest(customer_id=member.customer_id, partner_plan="LEAGUE"))
    finally:
        session.close()
    assert link.signup_url == again.signup_url  # a retried subscribe finds the member
    return member


async def test_signed_pushed_charges_are_accepted_and_a_repeat_counted_once(
    push_world: PushWorld, sportstream: SportStreamHarness
) -> None:
    db = push_world.settings.database_url or ""
    fans = [fan_of(push_world, sportstream) for _ in range(2)]
    sportstream.simulator.duplicate_next_pushes = 1
    first, repeat = sportstream.simulator.bill_period(PERIOD)
    answer = await push_world.deliver(first)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["charges"], body["new"], body["repeats"]) == (2, 2, 0)
    result = await push_world.settled(body["process_id"])
    assert (result.accepted, result.declined, result.reported) == (2, 0, 2)

    again = (await push_world.deliver(repeat)).json()
    assert (again["new"], again["repeats"]) == (0, 2)
    await push_world.settled(again["process_id"])
    charges = charges_of(db, push_world.operator, "sportstream")
    assert sorted((c.status, c.times_received, c.billed_as) for c in charges.values()) == [
        ("accepted", 2, "invoice"),
        ("accepted", 2, "invoice"),
    ]
    for fan in fans:
        [(kind, amount, currency, _key)] = pending_charges_of(db, fan.account_id)
        assert (kind, amount, currency) == ("partner_charge", LEAGUE, "EUR")
    for charge in charges.values():
        assert sportstream.simulator.charges[charge.charge_number]["status"] == "APPROVED"
        assert sportstream.simulator.charges[charge.charge_number]["reference"] == f"MB-{charge.id}"
    member = sportstream.simulator.members[(SPORTSTREAM_OPERATOR, fans[0].customer_id)]
    assert member["paid_through"] == date(2026, 3, 31)


async def test_a_bad_signature_is_refused_and_stores_nothing(
    push_world: PushWorld, sportstream: SportStreamHarness, caplog: pytest.LogCaptureFixture
) -> None:
    fan_of(push_world, sportstream)
    [push] = sportstream.simulator.bill_period(PERIOD)
    tampered = json.loads(push.body)
    tampered["charges"][0]["amount"] = 1
    forged = Push(push.url, push.headers, json.dumps(tampered).encode())
    wrong_secret = sportstream.simulator.push_of(SPORTSTREAM_OPERATOR, "guessed", push.url, [])
    unsigned = Push(push.url, {"Content-Type": "application/json"}, push.body)
    no_connection = Push("/v1/partners/sportstream/charges", push.headers, push.body)
    for bad in (forged, wrong_secret, unsigned, no_connection):
        answer = await push_world.deliver(bad)
        assert (answer.status_code, answer.json()["code"]) == (401, "invalid_signature"), answer.text
        assert answer.headers["content-type"].startswith("application/problem+json")
    assert "refused a sportstream push" in caplog.text
    assert charges_of(push_world.settings.database_url or "", push_world.operator, "sportstream") == {}
    pull = await push_world.api.post("/v1/partners/netflix/charges", content=push.body, headers=push.headers)
    assert (pull.status_code, pull.json()["code"]) == (404, "partner_provider_not_found")


async def test_pushed_charges_in_an_unknown_currency_are_declined(
    push_world: PushWorld, sportstream: SportStreamHarness
) -> None:
    db = push_world.settings.database_url or ""
    fan = fan_of(push_world, sportstream)
    sportstream.simulator.currency = "ZZZ"
    [push] = sportstream.simulator.bill_period(PERIOD)
    body = (await push_world.deliver(push)).json()
    result = await push_world.settled(body["process_id"])
    assert (result.accepted, result.declined, result.reported) == (0, 1, 1)
    [charge] = charges_of(db, push_world.operator, "sportstream").values()
    assert (charge.decline_status, (charge.reason or "").split(":")[0]) == ("BAD_REQUEST", "currency_unknown")
    assert pending_charges_of(db, fan.account_id) == []
    assert membership_of(db, fan.membership_id)[0] == "ended"
    assert sportstream.simulator.members[(SPORTSTREAM_OPERATOR, fan.customer_id)]["status"] == "ENDED"


async def test_staff_run_acceptance_now(push_world: PushWorld, netflix: NetflixHarness) -> None:
    """POST /v1/partner-charges/runs starts the process once per key (202, the process id)."""
    db = push_world.settings.database_url or ""
    admin = make_operator(db)
    make_connection(
        push_world.settings, admin.organisation_id, "netflix", netflix.url, NETFLIX_OPERATOR, NETFLIX_SECRET
    )
    key = uuid.uuid4().hex
    started = await push_world.api.post(
        "/v1/partner-charges/runs", json={"provider": "netflix"}, headers=admin.post_headers(key)
    )
    assert started.status_code == 202, started.text
    replay = await push_world.api.post(
        "/v1/partner-charges/runs", json={"provider": "netflix"}, headers=admin.post_headers(key)
    )
    assert replay.json() == started.json()
    result = await push_world.settled(started.json()["process_id"])
    assert (result.organisation_id, result.provider, result.accepted) == (admin.organisation_id, "netflix", 0)
    with unit_of_work(db) as session:
        count = session.execute(
            select(func.count()).where(PartnerCharge.organisation_id == admin.organisation_id)
        ).scalar_one()
    assert count == 0


def test_the_sportstream_provider_changes_plans_and_cancels(sportstream: SportStreamHarness) -> None:
    spec = ConnectionSpec(
        provider="sportstream",
        base_url=sportstream.url,
        partner_id=SPORTSTREAM_OPERATOR,
        secret=SPORTSTREAM_SECRET,
    )
    provider = SportStreamProvider(timeout_seconds=2.0)
    assert (provider.name, provider.charges_by, provider.max_batch) == ("sportstream", "push", 20)
    session = provider.connect(spec)
    try:
        session.subscribe(SubscribeRequest(customer_id="acc_fan", partner_plan="LEAGUE"))
        assert session.membership("acc_fan").status == "ACTIVE"
        assert session.change_plan("acc_fan", "ALLSPORTS").partner_plan == "ALLSPORTS"
        sportstream.simulator.webhooks[SPORTSTREAM_OPERATOR] = "http://operator.example/hook"
        [push] = sportstream.simulator.bill_period(PERIOD)
        [charge] = provider.parse_pushed_charges(spec, push.headers, push.body)
        assert (charge.customer_id, charge.partner_plan, charge.amount_minor, charge.currency) == (
            "acc_fan",
            "ALLSPORTS",
            1999,
            "EUR",
        )
        ended = session.cancel("acc_fan", "moved abroad")
        assert (ended.status, ended.end_reason) == ("ENDED", "moved abroad")
        with pytest.raises(PartnerError) as missing:
            session.membership("acc_nobody")
        assert (missing.value.code, missing.value.retryable) == ("member_not_found", False)
        assert session.pending_charges() == []
    finally:
        session.close()
    intruder = provider.connect(spec.model_copy(update={"secret": "guessed"}))
    try:
        with pytest.raises(PartnerError) as refused:
            intruder.membership("acc_fan")
        assert refused.value.code == "unauthorized"
    finally:
        intruder.close()


async def test_pushed_charges_are_kept_when_temporal_is_down(
    api: httpx.AsyncClient, settings: Settings, sportstream: SportStreamHarness
) -> None:
    """The push is the provider's only copy: stored and answered 200 even when the process cannot start
    (the hourly run decides them)."""
    db = settings.database_url or ""
    operator = make_operator(db).organisation_id
    connection = make_connection(
        settings, operator, "sportstream", sportstream.url, SPORTSTREAM_OPERATOR, SPORTSTREAM_SECRET
    )
    member = make_member(db, operator, "sportstream", plan="LEAGUE")
    sportstream.simulator.members[(SPORTSTREAM_OPERATOR, member.customer_id)] = {
        "customer_id": member.customer_id,
        "status": "ACTIVE",
        "plan": "LEAGUE",
        "end_reason": None,
        "paid_through": None,
        "welcome_url": "https://sportstream.example/welcome",
        "welcome_expires_at": datetime(2026, 3, 2, tzinfo=UTC),
    }
    sportstream.simulator.webhooks[SPORTSTREAM_OPERATOR] = (
        f"/v1/partners/sportstream/charges?connection={connection}"
    )
    [push] = sportstream.simulator.bill_period(PERIOD)
    answer = await api.post(push.url, content=push.body, headers=push.headers)
    assert answer.status_code == 200, answer.text
    assert (answer.json()["new"], answer.json()["process_id"]) == (1, None)
    [charge] = charges_of(db, operator, "sportstream").values()
    assert (charge.status, charge.amount_minor, charge.partner_customer_id) == (
        "received",
        999,
        member.customer_id,
    )
