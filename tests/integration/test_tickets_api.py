"""/v1/tickets and the care configuration through the API: a ticket's life with its TicketEscalation on the
dev server (found by TicketId and AccountId), its history and events; bad input answered with problem+json and
nothing written; another organisation's tickets not found; a partner owning a queue works its tickets."""

from __future__ import annotations

import base64
import dataclasses
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from temporalio.testing import WorkflowEnvironment

from activities.accounts.organisations import mint_api_key
from activities.care import disputes
from activities.care.activities import CareActivities
from activities.devices import logins as device_logins
from api.app import create_app
from domain import process_ids
from domain.ids import new_id
from domain.organisations import Role
from models.base import unit_of_work
from models.billing import CreditNote
from models.devices import DeviceLogin, StockMovement
from models.organisations import Organisation
from models.subscriptions import Subscription
from runtime.settings import Settings
from runtime.worker import build_worker
from tests.support import device_support
from tests.support.billing_factory import Line, make_account, make_invoice
from tests.support.care_support import OFFICE_HOURS, events_of, history_of, make_care, raise_ticket
from tests.support.factories import Tenant, make_child, make_operator
from tests.support.subscription_support import make_shop as make_catalogue
from tests.support.usage_factory import subscription as insert_subscription
from workflows.common import ACCOUNT_ID, PROCESS, TICKET_ID
from workflows.ticket_escalation import TicketEscalationWorkflow


@pytest.fixture
async def care_api(settings: Settings, dev_env: WorkflowEnvironment) -> AsyncIterator[httpx.AsyncClient]:
    queue = settings.model_copy(update={"task_queue": f"care-{uuid.uuid4().hex[:8]}"})
    async with build_worker(dev_env.client, queue, activities=CareActivities(settings).all()):
        app = create_app(queue, temporal_client=dev_env.client)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client


async def post(api: httpx.AsyncClient, tenant: Tenant, path: str, body: dict[str, Any]) -> httpx.Response:
    return await api.post(path, json=body, headers=tenant.post_headers())


async def configure(api: httpx.AsyncClient, tenant: Tenant) -> dict[str, str]:
    calendar = await post(
        api,
        tenant,
        "/v1/business-calendars",
        {
            "name": "Desk",
            "timezone": "Europe/Madrid",
            "working_hours": OFFICE_HOURS,
            "holidays": ["2026-12-25"],
        },
    )
    assert calendar.status_code == 201, calendar.text
    assert calendar.json()["holidays"] == ["2026-12-25"]
    second = await post(
        api, tenant, "/v1/ticket-queues", {"name": "Second", "supervisor": "boss@example.com"}
    )
    first = await post(
        api, tenant, "/v1/ticket-queues", {"name": "First", "next_queue_id": second.json()["id"]}
    )
    assert first.status_code == 201, first.text
    category = await post(
        api,
        tenant,
        "/v1/ticket-categories",
        {
            "code": "billing_dispute",
            "name": "Billing dispute",
            "priority": "high",
            "queue_id": first.json()["id"],
            "calendar_id": calendar.json()["id"],
            "first_response_minutes": 120,
            "resolution_minutes": 960,
            "action": "billing_dispute",
            "escalation_policy": {"levels": [{"at_percent": 100, "next_queue": True}]},
        },
    )
    assert category.status_code == 201, category.text
    return {"calendar": calendar.json()["id"], "queue": first.json()["id"], "category": category.json()["id"]}


async def test_a_ticket_lives_from_new_to_closed_with_its_process(
    care_api: httpx.AsyncClient, dev_env: WorkflowEnvironment, database_url: str
) -> None:
    api = care_api
    tenant = make_operator(database_url)
    ids = await configure(api, tenant)
    account = make_account(database_url, tenant.organisation_id)
    invoice = make_invoice(database_url, account, [Line("Fibra", 3000)])
    body = {
        "account_id": account,
        "category": "billing_dispute",
        "subject": "Charged twice",
        "invoice_id": invoice,
    }
    key = uuid.uuid4().hex
    created = await api.post("/v1/tickets", json=body, headers=tenant.post_headers(key))
    assert created.status_code == 201, created.text
    ticket = created.json()
    assert (ticket["status"], ticket["priority"], ticket["queue_id"], ticket["invoice_id"]) == (
        "new",
        "high",
        ids["queue"],
        invoice,
    )
    again = await api.post("/v1/tickets", json=body, headers=tenant.post_headers(key))
    assert again.json()["id"] == ticket["id"] and again.headers["Idempotent-Replayed"] == "true"
    handle = dev_env.client.get_workflow_handle_for(TicketEscalationWorkflow.run, ticket["process_id"])
    described = await handle.describe()
    assert described.typed_search_attributes.get(TICKET_ID) == ticket["id"]
    assert described.typed_search_attributes.get(ACCOUNT_ID) == account
    assert described.typed_search_attributes.get(PROCESS) == "TicketEscalation"

    comment = await post(
        api, tenant, f"/v1/tickets/{ticket['id']}/comments", {"body": "Looking", "public": True}
    )
    assert comment.status_code == 201 and comment.json()["first_responded_at"] is not None
    for status in ("open", "waiting_on_customer"):
        moved = await post(api, tenant, f"/v1/tickets/{ticket['id']}/transitions", {"status": status})
        assert moved.status_code == 200 and moved.json()["status"] == status, moved.text
    reply = {"body": "Here is the bill", "from_customer": True}
    assert (await post(api, tenant, f"/v1/tickets/{ticket['id']}/comments", reply)).json()["status"] == "open"
    note = base64.b64encode(b"invoice copy").decode()
    attached = await post(
        api,
        tenant,
        f"/v1/tickets/{ticket['id']}/attachments",
        {"filename": "bill.txt", "content_type": "text/plain", "content_base64": note},
    )
    assert attached.status_code == 201 and attached.json()["size"] == 12, attached.text
    [line] = [
        h
        for h in (await api.get(f"/v1/tickets/{ticket['id']}", headers=tenant.auth)).json()["history"]
        if h["kind"] == "attachment"
    ]
    assert (line["data"]["content_type"], line["data"]["size"]) == ("text/plain", 12)
    got = await api.get(
        f"/v1/tickets/{ticket['id']}/attachments/{attached.json()['id']}", headers=tenant.auth
    )
    assert base64.b64decode(got.json()["content_base64"]) == b"invoice copy"
    assigned = await post(api, tenant, f"/v1/tickets/{ticket['id']}/assignment", {"assignee": "maria"})
    assert assigned.json()["assignee"] == "maria"
    for status in ("resolved", "open", "resolved", "closed"):
        moved = await post(api, tenant, f"/v1/tickets/{ticket['id']}/transitions", {"status": status})
        assert moved.status_code == 200, moved.text
    assert moved.json()["reopens"] == 1
    result = await handle.result()
    assert (result.step, result.arm) == ("closed", 1)

    detail = (await api.get(f"/v1/tickets/{ticket['id']}", headers=tenant.auth)).json()
    kinds = [line["kind"] for line in detail["history"]]
    assert (
        kinds
        == ["created", "comment", "status", "status", "comment", "status", "attachment", "assignment"]
        + ["status"] * 4
    )
    assert detail["history"][4]["visibility"] == "public" and detail["history"][5]["data"]["to"] == "open"
    types = [e.type for e in events_of(database_url, ticket["id"])]
    # the customer's reply and the reopen it causes are one change
    assert types[0] == "ticket.created" and types.count("ticket.updated") == 10
    listed = await api.get(
        "/v1/tickets", params={"account_id": account, "status": "closed"}, headers=tenant.auth
    )
    assert [t["id"] for t in listed.json()["data"]] == [ticket["id"]]
    refused = await post(api, tenant, f"/v1/tickets/{ticket['id']}/transitions", {"status": "open"})
    assert (refused.status_code, refused.json()["code"]) == (409, "ticket_transition_refused")


async def test_bad_input_is_refused_and_writes_nothing(api: httpx.AsyncClient, database_url: str) -> None:
    tenant = make_operator(database_url)
    ids = await configure(api, tenant)
    mars = {"name": "X", "timezone": "Mars/Olympus", "working_hours": OFFICE_HOURS}
    resp = await post(api, tenant, "/v1/business-calendars", mars)
    assert (resp.status_code, resp.json()["code"], resp.json()["errors"][0]["field"]) == (
        422,
        "invalid_calendar",
        "timezone",
    )
    overlap = {
        "name": "X",
        "timezone": "UTC",
        "working_hours": {"mon": [["09:00", "12:00"], ["11:00", "13:00"]]},
    }
    resp = await post(api, tenant, "/v1/business-calendars", overlap)
    assert (resp.status_code, resp.json()["errors"][0]["field"]) == (422, "working_hours")
    care = make_care(database_url, tenant=tenant)
    ticket = raise_ticket(database_url, care)
    big = base64.b64encode(b"x" * (512 * 1024 + 1)).decode()
    too_big = {"filename": "a.txt", "content_type": "text/plain", "content_base64": big}
    resp = await post(api, tenant, f"/v1/tickets/{ticket.id}/attachments", too_big)
    assert (resp.status_code, resp.json()["code"]) == (413, "attachment_too_large")
    exe = {"filename": "a.exe", "content_type": "application/x-msdownload", "content_base64": "TVqQAAM="}
    resp = await post(api, tenant, f"/v1/tickets/{ticket.id}/attachments", exe)
    assert (resp.status_code, resp.json()["code"]) == (415, "attachment_type_refused")
    assert resp.headers["content-type"].startswith("application/problem+json")
    disguised = {"filename": "cat.png", "content_type": "image/png", "content_base64": "TVqQAAM="}
    resp = await post(api, tenant, f"/v1/tickets/{ticket.id}/attachments", disguised)
    assert (resp.status_code, resp.json()["code"]) == (415, "attachment_content_mismatch")

    other = make_operator(database_url, name="Other")
    foreign = make_account(database_url, other.organisation_id)
    body = {"account_id": foreign, "category": "billing_dispute", "subject": "x"}
    resp = await post(api, tenant, "/v1/tickets", body)
    assert (resp.status_code, resp.json()["code"]) == (404, "account_not_found")
    mine = make_account(database_url, tenant.organisation_id)
    their_invoice = make_invoice(database_url, foreign, [Line("Fibra", 3000)])
    body = {"account_id": mine, "category": "billing_dispute", "subject": "x", "invoice_id": their_invoice}
    resp = await post(api, tenant, "/v1/tickets", body)
    assert (resp.status_code, resp.json()["code"]) == (404, "invoice_not_found")
    resp = await api.get(f"/v1/tickets/{ticket.id}", headers=other.auth)
    assert (resp.status_code, resp.json()["code"]) == (404, "ticket_not_found")
    unknown_queue = {"name": "Y", "next_queue_id": "tq_01M8P64HPQ9FH2FKBFGN6183RX"}
    resp = await post(api, tenant, "/v1/ticket-queues", unknown_queue)
    assert (resp.status_code, resp.json()["code"]) == (404, "ticket_queue_not_found")
    listed = await api.get("/v1/tickets", headers=tenant.auth)
    assert [t["id"] for t in listed.json()["data"]] == [ticket.id]  # nothing else was written
    assert ids["category"]


async def test_a_partner_owning_a_queue_works_its_tickets(api: httpx.AsyncClient, database_url: str) -> None:
    operator = make_operator(database_url)
    outlet = make_child(database_url, operator.organisation_id)
    care = make_care(database_url, tenant=operator)
    queue = await post(
        api,
        operator,
        "/v1/ticket-queues",
        {"name": "Outlet", "owner_organisation_id": outlet.organisation_id},
    )
    ticket = raise_ticket(database_url, care)
    resp = await api.get(f"/v1/tickets/{ticket.id}", headers=outlet.auth)
    assert resp.status_code == 404  # the operator's own queue: not the outlet's
    moved = await post(api, operator, f"/v1/tickets/{ticket.id}/assignment", {"queue_id": queue.json()["id"]})
    assert moved.status_code == 200, moved.text
    resp = await post(api, outlet, f"/v1/tickets/{ticket.id}/comments", {"body": "On it", "public": True})
    assert resp.status_code == 201, resp.text
    refused = await post(api, outlet, "/v1/ticket-queues", {"name": "Mine"})
    assert (refused.status_code, refused.json()["code"]) == (403, "operator_only")


def agent_of(database_url: str, tenant: Tenant) -> Tenant:
    with unit_of_work(database_url) as session:
        org = session.get(Organisation, tenant.organisation_id)
        assert org is not None
        _, token = mint_api_key(session, organisation=org, role=Role.AGENT, name="care agent")
    return Tenant(tenant.organisation_id, token)


async def test_a_billing_dispute_holds_the_invoice_and_ends_in_a_supervisors_credit_note(
    api: httpx.AsyncClient, database_url: str
) -> None:
    tenant = make_operator(database_url)
    care = make_care(database_url, tenant=tenant, action="billing_dispute")
    invoice = make_invoice(database_url, care.account_id, [Line("Fibra", 3000)])
    ticket = raise_ticket(database_url, care, invoice_id=invoice)
    agent = agent_of(database_url, tenant)
    held = await post(api, agent, f"/v1/tickets/{ticket.id}/invoice-hold", {})
    assert held.status_code == 200, held.text
    with unit_of_work(database_url) as session:
        assert disputes.is_held(session, invoice)
    credit = {"outcome": "credit", "amount_minor": 1000, "description": "Charged twice"}
    refused = await post(api, agent, f"/v1/tickets/{ticket.id}/dispute-settlement", credit)
    assert (refused.status_code, refused.json()["code"]) == (403, "supervisor_approval_required")
    settled = await post(api, tenant, f"/v1/tickets/{ticket.id}/dispute-settlement", credit)
    assert settled.status_code == 200 and settled.json()["status"] == "resolved", settled.text
    with unit_of_work(database_url) as session:
        assert not disputes.is_held(session, invoice)
        notes = session.execute(select(CreditNote).where(CreditNote.invoice_id == invoice)).scalars().all()
        # 1000 net at the invoice's 21%: 210 tax, 1210 credited
        assert [(n.total_minor, n.tax_minor) for n in notes] == [(-1210, -210)]
    actions = [h.data.get("action") for h in history_of(database_url, ticket.id, "action")]
    assert actions == ["hold_invoice", "credit_note"]
    again = await post(api, tenant, f"/v1/tickets/{ticket.id}/invoice-hold", {})
    assert (again.status_code, again.json()["code"]) == (409, "dispute_settled")
    plain = make_care(database_url, tenant=tenant)
    other = raise_ticket(database_url, plain)
    resp = await post(api, tenant, f"/v1/tickets/{other.id}/invoice-hold", {})
    assert (resp.status_code, resp.json()["code"]) == (409, "not_a_billing_dispute")


async def test_a_rejected_billing_dispute_releases_the_hold_without_a_credit(
    api: httpx.AsyncClient, database_url: str
) -> None:
    tenant = make_operator(database_url)
    care = make_care(database_url, tenant=tenant, action="billing_dispute")
    invoice = make_invoice(database_url, care.account_id, [Line("Fibra", 3000)])
    ticket = raise_ticket(database_url, care, invoice_id=invoice)
    agent = agent_of(database_url, tenant)
    assert (await post(api, agent, f"/v1/tickets/{ticket.id}/invoice-hold", {})).status_code == 200
    again = await post(api, agent, f"/v1/tickets/{ticket.id}/invoice-hold", {})
    assert again.status_code == 200  # held already: one hold, one history line
    reject = {"outcome": "reject", "description": "Both charges are right"}
    settled = await post(api, agent, f"/v1/tickets/{ticket.id}/dispute-settlement", reject)
    assert settled.status_code == 200 and settled.json()["status"] == "resolved", settled.text
    with unit_of_work(database_url) as session:
        assert not disputes.is_held(session, invoice)  # dunning goes on
        assert session.execute(select(CreditNote).where(CreditNote.invoice_id == invoice)).first() is None
    lines = history_of(database_url, ticket.id, "action")
    assert [(h.data["action"], h.body) for h in lines] == [
        ("hold_invoice", None),
        ("reject_dispute", "Both charges are right"),
    ]
    credit = {"outcome": "credit", "amount_minor": 1000, "description": "Charged twice"}
    late = await post(api, tenant, f"/v1/tickets/{ticket.id}/dispute-settlement", credit)
    assert (late.status_code, late.json()["code"]) == (409, "dispute_settled")
    no_amount = await post(
        api, tenant, f"/v1/tickets/{ticket.id}/dispute-settlement", {"outcome": "credit", "description": "x"}
    )
    assert (no_amount.status_code, no_amount.json()["code"]) == (422, "amount_required")


async def test_a_cancel_request_starts_the_subscriptions_termination(
    care_api: httpx.AsyncClient, dev_env: WorkflowEnvironment, database_url: str
) -> None:
    api = care_api
    tenant = make_operator(database_url)
    catalogue = await make_catalogue(api, tenant)
    sub = await insert_subscription(api, tenant, database_url, [catalogue.cheap], start=date(2026, 1, 1))
    with unit_of_work(database_url) as session:
        account_id = session.get(Subscription, sub.id).account_id  # type: ignore[union-attr]
    care = make_care(database_url, tenant=tenant, action="cancel_request")
    care = dataclasses.replace(care, account_id=account_id)
    ticket = raise_ticket(database_url, care, subscription_id=sub.id)
    key = uuid.uuid4().hex
    resp = await api.post(
        f"/v1/tickets/{ticket.id}/cancellation",
        json={"timing": "immediate"},
        headers=tenant.post_headers(key),
    )
    assert resp.status_code == 202, resp.text
    process_id = resp.json()["process_id"]
    assert process_id == process_ids.subscription_request("terminate", sub.id, key)
    described = await dev_env.client.get_workflow_handle(process_id).describe()
    assert described.workflow_type == "SubscriptionAction"
    actions = [h.data for h in history_of(database_url, ticket.id, "action")]
    assert actions == [{"action": "terminate", "process_id": process_id, "timing": "immediate"}]
    await dev_env.client.get_workflow_handle(process_id).terminate("test over")
    # by default the plan's terms apply: the subscription ends at the end of its current term
    later = await insert_subscription(api, tenant, database_url, [catalogue.cheap], start=date(2026, 1, 1))
    with unit_of_work(database_url) as session:
        later_account = session.get(Subscription, later.id).account_id  # type: ignore[union-attr]
    care = dataclasses.replace(care, account_id=later_account)
    ticket = raise_ticket(database_url, care, subscription_id=later.id)
    resp = await post(api, tenant, f"/v1/tickets/{ticket.id}/cancellation", {"effective_date": "2090-01-11"})
    assert resp.status_code == 202, resp.text
    change = resp.json()["change"]
    assert (change["action"], change["timing"], change["effective_on"]) == (
        "terminate",
        "end_of_term",
        "2090-02-01",
    )
    await dev_env.client.get_workflow_handle(resp.json()["process_id"]).terminate("test over")
    dispute = raise_ticket(database_url, make_care(database_url, tenant=tenant, action="billing_dispute"))
    resp = await post(api, tenant, f"/v1/tickets/{dispute.id}/cancellation", {})
    assert (resp.status_code, resp.json()["code"]) == (409, "not_a_cancel_request")


async def test_a_stolen_device_is_blocked_at_once_and_swapped(
    care_api: httpx.AsyncClient, dev_env: WorkflowEnvironment, database_url: str
) -> None:
    shop = device_support.make_shop(database_url)
    subscriber = device_support.make_subscriber(database_url, shop)
    box, _spare = device_support.receive(database_url, shop, 2)
    device_support.assign(database_url, shop, box, subscriber)
    with unit_of_work(database_url) as session:  # the secret the subscriber's apps (and the thief) hold
        _, secret = device_logins.issue_credential(session, shop.principal, subscriber.service_id)
    with unit_of_work(database_url) as session:
        session.add(
            DeviceLogin(
                id=new_id("dlg"),
                account_id=subscriber.account_id,
                service_id=subscriber.service_id,
                device_id="tv-1",
            )
        )
    care = make_care(database_url, tenant=shop.tenant, action="stolen_device")
    care = dataclasses.replace(care, account_id=subscriber.account_id)
    ticket = raise_ticket(database_url, care, device_id=box)
    stranger = make_operator(database_url)  # another organisation's staff: no such ticket, nothing moves
    partner = make_child(database_url, shop.tenant.organisation_id)  # a partner: not its customer
    for other in (stranger, partner):
        resp = await post(care_api, other, f"/v1/tickets/{ticket.id}/stolen-device", {})
        assert (resp.status_code, resp.json()["code"]) == (404, "ticket_not_found")
    assert device_support.device_row(database_url, box)["state"] == "assigned"
    resp = await post(care_api, shop.tenant, f"/v1/tickets/{ticket.id}/stolen-device", {})
    assert resp.status_code == 202, resp.text
    assert (resp.json()["device_id"], resp.json()["reason"]) == (box, "stolen")
    # lost/stolen at once (no worker here runs the swap): one movement, made by no process
    assert device_support.device_row(database_url, box)["state"] == "lost_stolen"
    with unit_of_work(database_url) as session:
        [lost] = session.execute(
            select(StockMovement).where(
                StockMovement.device_id == box, StockMovement.to_state == "lost_stolen"
            )
        ).scalars()
        assert (lost.kind, lost.from_state, lost.process_id) == ("state_change", "assigned", None)
        assert (lost.subscription_id, lost.reason) == (
            subscriber.subscription_id,
            f"stolen: ticket {ticket.id}",
        )
    with unit_of_work(database_url) as session:
        logins = session.execute(
            select(DeviceLogin).where(DeviceLogin.service_id == subscriber.service_id)
        ).scalars()
        assert [(x.logged_out_at is not None, x.logout_reason) for x in logins] == [(True, "stolen")]
    with pytest.raises(device_logins.LoginRefused), unit_of_work(database_url) as session:
        device_logins.login(
            session,
            account_id=subscriber.account_id,
            secret=secret,
            device_id="thief-tv",
            device_name=None,
            now=datetime(2026, 11, 30, 12, tzinfo=UTC),
        )
    handle = dev_env.client.get_workflow_handle(resp.json()["process_id"])
    assert (await handle.describe()).workflow_type == "DeviceSwap"
    await handle.terminate("test over")
    [blocked] = [h.data for h in history_of(database_url, ticket.id, "action")]
    assert blocked == {
        "action": "block_device",
        "device_id": box,
        "device_state": "lost_stolen",
        "movement_id": lost.id,
        "logins_ended": 1,
        "credential_revoked": True,
    }
