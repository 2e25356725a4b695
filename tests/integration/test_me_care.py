"""/v1/me care: a subscriber raises a ticket in a category open to subscribers (its TicketEscalation starts
on the dev server), reads its public thread (never an internal note), replies (a ticket waiting on them
opens again and its SLA clock resumes), attaches files (type and size checked), and closes it; another
subscriber's tickets are not found. Notification preferences and language: read and set, with the CSRF
token, never another account's."""

from __future__ import annotations

import base64
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from activities.care import tickets as store
from activities.care.activities import CareActivities
from api.app import create_app
from models.base import unit_of_work
from runtime.settings import Settings
from runtime.worker import build_worker
from tests.support.billing_factory import Line, make_account, make_invoice
from tests.support.care_support import make_care
from tests.support.eventually import eventually_async
from tests.support.factories import Tenant
from tests.support.subscribers import SignedIn, sign_in
from workflows.ticket_escalation import EscalationStatus, TicketEscalationWorkflow


@pytest.fixture
async def care_api(settings: Settings, dev_env: WorkflowEnvironment) -> AsyncIterator[httpx.AsyncClient]:
    queue = settings.model_copy(update={"task_queue": f"me-care-{uuid.uuid4().hex[:8]}"})
    async with build_worker(dev_env.client, queue, activities=CareActivities(settings).all()):
        app = create_app(queue, temporal_client=dev_env.client)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client


async def me_post(
    api: httpx.AsyncClient, signed: SignedIn, path: str, body: dict[str, Any], key: str | None = None
) -> httpx.Response:
    headers = {**signed.write_headers, "Idempotency-Key": key or uuid.uuid4().hex}
    return await api.post(path, json=body, cookies=signed.cookies, headers=headers)


async def staff_post(
    api: httpx.AsyncClient, tenant: Tenant, path: str, body: dict[str, Any]
) -> httpx.Response:
    return await api.post(path, json=body, headers=tenant.post_headers())


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


async def test_a_subscriber_raises_follows_replies_to_and_closes_a_ticket(
    care_api: httpx.AsyncClient, dev_env: WorkflowEnvironment, database_url: str
) -> None:
    api = care_api
    care = make_care(database_url, code="no_signal")
    tenant = care.tenant
    hidden = make_care(database_url, tenant=tenant, code="fraud_review")  # not open to subscribers
    opened = await api.patch(
        f"/v1/ticket-categories/{care.category}", json={"open_to_subscribers": True}, headers=tenant.auth
    )
    assert opened.status_code == 200 and opened.json()["open_to_subscribers"] is True, opened.text
    mine = sign_in(database_url, care.account_id)
    stranger = sign_in(database_url, make_account(database_url, tenant.organisation_id))
    invoice = make_invoice(database_url, care.account_id, [Line("Fibra", 3000)])
    their_invoice = make_invoice(database_url, stranger.account_id, [Line("Fibra", 3000)])

    categories = await api.get("/v1/me/ticket-categories", cookies=mine.cookies)
    assert [c["code"] for c in categories.json()["data"]] == ["no_signal"]
    refused = await me_post(api, mine, "/v1/me/tickets", {"category": "fraud_review", "subject": "x"})
    assert (refused.status_code, refused.json()["code"]) == (404, "ticket_category_not_found")
    assert hidden.category
    not_mine = {"category": "no_signal", "subject": "Bill", "invoice_id": their_invoice}
    wrong_ref = await me_post(api, mine, "/v1/me/tickets", not_mine)
    assert (wrong_ref.status_code, wrong_ref.json()["code"]) == (404, "invoice_not_found")

    body = {
        "category": "no_signal",
        "subject": "No signal",
        "description": "Since Monday",
        "invoice_id": invoice,
    }
    key = uuid.uuid4().hex
    raised = await me_post(api, mine, "/v1/me/tickets", body, key)
    assert raised.status_code == 201, raised.text
    ticket = raised.json()
    assert (ticket["status"], ticket["account_id"], ticket["invoice_id"]) == ("new", care.account_id, invoice)
    assert "process_id" not in ticket and "organisation_id" not in ticket
    again = await me_post(api, mine, "/v1/me/tickets", body, key)
    assert again.json()["id"] == ticket["id"]
    tid = ticket["id"]
    with unit_of_work(database_url) as session:
        process_id = store.find_ticket(session, care.principal, tid).process_id
    handle = dev_env.client.get_workflow_handle_for(TicketEscalationWorkflow.run, process_id)

    async def status() -> EscalationStatus:
        found: EscalationStatus = await handle.query(TicketEscalationWorkflow.status)
        return found

    await eventually_async(status, until=lambda s: s.ticket_status == "new", what="the SLA process started")

    note = await staff_post(
        api, tenant, f"/v1/tickets/{tid}/comments", {"body": "VIP, check the DSLAM", "public": False}
    )
    answer = await staff_post(
        api, tenant, f"/v1/tickets/{tid}/comments", {"body": "Send a photo", "public": True}
    )
    assert note.status_code == answer.status_code == 201, note.text
    for target in ("open", "waiting_on_customer"):
        moved = await staff_post(api, tenant, f"/v1/tickets/{tid}/transitions", {"status": target})
        assert moved.json()["status"] == target, moved.text
    paused = await eventually_async(
        status, until=lambda s: s.step == "paused: waiting_on_customer", what="the clock paused"
    )
    assert paused.next == []

    detail = await api.get(f"/v1/me/tickets/{tid}", cookies=mine.cookies)
    assert detail.status_code == 200, detail.text
    assert [line["body"] for line in detail.json()["thread"]] == ["Send a photo"]
    assert "DSLAM" not in detail.text

    replied = await me_post(api, mine, f"/v1/me/tickets/{tid}/comments", {"body": "Here it is"})
    assert (replied.status_code, replied.json()["status"]) == (201, "open")
    resumed = await eventually_async(
        status, until=lambda s: s.ticket_status == "open" and s.next != [], what="the clock resumed"
    )
    assert resumed.step != "paused: waiting_on_customer"
    assert all("resolution" in n.what for n in resumed.next), resumed.next

    photo = await me_post(
        api,
        mine,
        f"/v1/me/tickets/{tid}/attachments",
        {"filename": "router.txt", "content_type": "text/plain", "content_base64": b64(b"lights off")},
    )
    assert (photo.status_code, photo.json()["size"]) == (201, 10), photo.text
    too_big = await me_post(
        api,
        mine,
        f"/v1/me/tickets/{tid}/attachments",
        {"filename": "big.txt", "content_type": "text/plain", "content_base64": b64(b"a" * (512 * 1024 + 1))},
    )
    assert (too_big.status_code, too_big.json()["code"]) == (413, "attachment_too_large")
    exe = await me_post(
        api,
        mine,
        f"/v1/me/tickets/{tid}/attachments",
        {"filename": "x.exe", "content_type": "application/x-msdownload", "content_base64": b64(b"MZ")},
    )
    assert (exe.status_code, exe.json()["code"]) == (415, "attachment_type_refused")
    thread = (await api.get(f"/v1/me/tickets/{tid}", cookies=mine.cookies)).json()["thread"]
    assert [(line["kind"], line["from_customer"]) for line in thread] == [
        ("comment", False),
        ("comment", True),
        ("attachment", True),
    ]
    got = await api.get(f"/v1/me/tickets/{tid}/attachments/{photo.json()['id']}", cookies=mine.cookies)
    assert base64.b64decode(got.json()["content_base64"]) == b"lights off"

    for path in (f"/v1/me/tickets/{tid}", f"/v1/me/tickets/{tid}/attachments/{photo.json()['id']}"):
        other = await api.get(path, cookies=stranger.cookies)
        assert other.status_code == 404 and other.json()["code"].endswith("_not_found"), path
    for path, payload in (
        (f"/v1/me/tickets/{tid}/comments", {"body": "hi"}),
        (f"/v1/me/tickets/{tid}/close", {}),
    ):
        other = await me_post(api, stranger, path, payload)
        assert (other.status_code, other.json()["code"]) == (404, "ticket_not_found"), path
    assert (await api.get("/v1/me/tickets", cookies=stranger.cookies)).json()["data"] == []
    listed = await api.get("/v1/me/tickets", cookies=mine.cookies)
    assert [t["id"] for t in listed.json()["data"]] == [tid]
    staff = await api.get("/v1/me/tickets", headers=tenant.auth)
    assert (staff.status_code, staff.json()["code"]) == (403, "subscriber_only")
    no_csrf = await api.post(
        f"/v1/me/tickets/{tid}/close", cookies=mine.cookies, headers={"Idempotency-Key": uuid.uuid4().hex}
    )
    assert (no_csrf.status_code, no_csrf.json()["code"]) == (403, "csrf_token_invalid")

    closed = await me_post(api, mine, f"/v1/me/tickets/{tid}/close", {})
    assert (closed.status_code, closed.json()["status"]) == (200, "closed"), closed.text
    result = await handle.result()
    assert result.step == "closed"
    twice = await me_post(api, mine, f"/v1/me/tickets/{tid}/close", {})
    assert (twice.status_code, twice.json()["code"]) == (409, "ticket_closed")
    late = await me_post(api, mine, f"/v1/me/tickets/{tid}/comments", {"body": "one more thing"})
    assert (late.status_code, late.json()["code"]) == (409, "ticket_closed")


async def test_notification_preferences_and_language(
    api: httpx.AsyncClient, operator: Tenant, database_url: str
) -> None:
    mine = sign_in(database_url, make_account(database_url, operator.organisation_id))
    other = sign_in(database_url, make_account(database_url, operator.organisation_id))
    first = await api.get("/v1/me/notification-preferences", cookies=mine.cookies)
    assert first.status_code == 200, first.text
    assert (first.json()["channels"], first.json()["marketing_opt_out"]) == (None, False)
    body = {"channels": ["email"], "marketing_opt_out": True, "language": "es"}
    put = await api.put(
        "/v1/me/notification-preferences", json=body, cookies=mine.cookies, headers=mine.write_headers
    )
    assert put.status_code == 200, put.text
    assert (put.json()["channels"], put.json()["marketing_opt_out"], put.json()["language"]) == (
        ["email"],
        True,
        "es",
    )
    staff_view = await api.get(
        f"/v1/accounts/{mine.account_id}/notification-preferences", headers=operator.auth
    )
    assert (staff_view.json()["channels"], staff_view.json()["marketing_opt_out"]) == (["email"], True)
    account = await api.get(f"/v1/accounts/{mine.account_id}", headers=operator.auth)
    assert account.json()["language"] == "es"

    no_csrf = await api.put("/v1/me/notification-preferences", json=body, cookies=other.cookies)
    assert (no_csrf.status_code, no_csrf.json()["code"]) == (403, "csrf_token_invalid")
    theirs = await api.put(
        "/v1/me/notification-preferences",
        json={**body, "account_id": mine.account_id, "marketing_opt_out": False},
        cookies=other.cookies,
        headers=other.write_headers,
    )
    assert (theirs.status_code, theirs.json()["code"]) == (404, "account_not_found")
    peek = await api.get(
        "/v1/me/notification-preferences", params={"account_id": mine.account_id}, cookies=other.cookies
    )
    assert peek.status_code == 404
    still = await api.get("/v1/me/notification-preferences", cookies=mine.cookies)
    assert still.json()["marketing_opt_out"] is True
    bad = await api.put(
        "/v1/me/notification-preferences",
        json={"channels": ["pigeon"]},
        cookies=mine.cookies,
        headers=mine.write_headers,
    )
    assert bad.status_code == 422
    staff = await api.get("/v1/me/notification-preferences", headers=operator.auth)
    assert (staff.status_code, staff.json()["code"]) == (403, "subscriber_only")
