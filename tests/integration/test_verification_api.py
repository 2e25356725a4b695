"""End to end on the Temporal dev server: POST /v1/accounts with verify starts AccountVerification,
the email reaches a real SMTP server, the link confirms it, and /v1/processes shows each step."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from runtime.settings import Settings
from runtime.worker import build_worker
from tests.support.eventually import eventually_async
from tests.support.factories import Tenant, make_operator, person
from tests.support.smtp import SmtpSink


@pytest.fixture
async def stack(
    settings: Settings, dev_env: WorkflowEnvironment
) -> AsyncIterator[tuple[httpx.AsyncClient, Client]]:
    """API + worker on the dev server, on a task queue of this test's own."""
    test_settings = settings.model_copy(update={"task_queue": f"verify-{uuid.uuid4().hex[:8]}"})
    app = create_app(test_settings, temporal_client=dev_env.client)
    async with (
        build_worker(dev_env.client, test_settings),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client,
    ):
        yield client, dev_env.client


async def wait_for_step(
    api: httpx.AsyncClient, tenant: Tenant, process_id: str, step: str, status: str = "running"
) -> dict[str, Any]:

    async def view() -> dict[str, Any]:
        return dict((await api.get(f"/v1/processes/{process_id}", headers=tenant.auth)).json())

    return await eventually_async(
        view,
        until=lambda body: body.get("step") == step and body.get("status") == status,
        timeout=15,
        what=f"process {process_id} at {step} ({status})",
    )


async def test_verify_account_end_to_end(
    stack: tuple[httpx.AsyncClient, Client], database_url: str, smtp_server: SmtpSink
) -> None:
    api, client = stack
    tenant = make_operator(database_url)
    body = person(verify=True)
    created = await api.post("/v1/accounts", json=body, headers=tenant.post_headers("verify-1"))
    assert created.status_code == 201, created.text
    account = created.json()
    assert account["verification_status"] == "pending"
    process_id = account["process_id"]
    assert process_id == f"account-verification-{account['id']}"

    waiting = await wait_for_step(api, tenant, process_id, "awaiting_confirmation")
    assert waiting["process"] == "AccountVerification" and waiting["status"] == "running"
    assert waiting["account_id"] == account["id"] and waiting["organisation_id"] == tenant.organisation_id

    # Staff can find the process in the Temporal UI by its search attributes.
    description = await client.get_workflow_handle(process_id).describe()
    attributes = {k.name: v for k, v in description.typed_search_attributes}  # type: ignore[attr-defined]
    assert attributes["AccountId"] == account["id"]
    assert attributes["OrganisationId"] == tenant.organisation_id
    assert attributes["Process"] == "AccountVerification"

    # A retried POST replays the answer and does not start a second process or send a second email.
    again = await api.post("/v1/accounts", json=body, headers=tenant.post_headers("verify-1"))
    assert again.json()["id"] == account["id"]

    mail = await smtp_server.wait_for(body["email"])
    text = (
        mail.get_payload(decode=True)
        if not mail.is_multipart()
        else mail.get_payload(0).get_payload(decode=True)
    )
    link = re.search(r"http://testserver(/portal/verify/\S+)", text.decode())
    assert link, text
    assert len(smtp_server.to(body["email"])) == 1

    wrong = await api.get(f"/portal/verify/{account['id']}?token=forged-token-123")
    assert wrong.status_code == 404
    # Opening the link (as a mail scanner does) shows a button and confirms nothing.
    page = await api.get(link.group(1))
    assert page.status_code == 200 and "confirm" in page.text.lower()
    form = re.search(r'<form id="verify-form" method="post" action="([^"]+)">', page.text)
    token = re.search(r'name="token" value="([^"]+)"', page.text)
    assert form and token, page.text
    assert "<script" not in page.text
    await asyncio.sleep(0.3)
    still = await wait_for_step(api, tenant, process_id, "awaiting_confirmation")
    assert still["status"] == "running"
    got = (await api.get(f"/v1/accounts/{account['id']}", headers=tenant.auth)).json()
    assert (got["verification_status"], got["verified_at"]) == ("pending", None)

    forged = await api.post(form.group(1), data={"token": "forged-token-123"})
    assert forged.status_code == 404
    pressed = await api.post(form.group(1), data={"token": token.group(1)})
    assert pressed.status_code == 200 and "is confirmed" in pressed.text

    done = await wait_for_step(api, tenant, process_id, "verified", "completed")
    assert done["closed_at"]
    got = (await api.get(f"/v1/accounts/{account['id']}", headers=tenant.auth)).json()
    assert got["verification_status"] == "verified" and got["verified_at"]
    # Opening the link or pressing the button again is harmless.
    again = await api.get(link.group(1))
    assert again.status_code == 200 and "verify-form" not in again.text
    assert (await api.post(form.group(1), data={"token": token.group(1)})).status_code == 200


async def test_processes_of_other_organisations_are_not_found(
    stack: tuple[httpx.AsyncClient, Client], database_url: str
) -> None:
    api, _ = stack
    owner, stranger = make_operator(database_url), make_operator(database_url)
    created = (await api.post("/v1/accounts", json=person(verify=True), headers=owner.post_headers())).json()
    await wait_for_step(api, owner, created["process_id"], "awaiting_confirmation")
    foreign = await api.get(f"/v1/processes/{created['process_id']}", headers=stranger.auth)
    assert foreign.status_code == 404 and foreign.json()["code"] == "process_not_found"
    missing = await api.get("/v1/processes/no-such-process", headers=owner.auth)
    assert missing.status_code == 404


async def test_confirm_through_the_api_with_token(
    stack: tuple[httpx.AsyncClient, Client], database_url: str, settings: Settings
) -> None:
    from domain.verification import make_token

    api, _ = stack
    tenant = make_operator(database_url)
    created = (await api.post("/v1/accounts", json=person(verify=True), headers=tenant.post_headers())).json()
    await wait_for_step(api, tenant, created["process_id"], "awaiting_confirmation")
    bad = await api.post("/v1/verifications", json={"account_id": created["id"], "token": "x" * 43})
    assert bad.status_code == 404 and bad.json()["code"] == "verification_not_found"
    token = make_token(settings.secret_key, created["id"], created["email"])
    ok = await api.post("/v1/verifications", json={"account_id": created["id"], "token": token})
    assert ok.status_code == 202
    await wait_for_step(api, tenant, created["process_id"], "verified", "completed")


async def test_healthz_reports_database_and_temporal(
    stack: tuple[httpx.AsyncClient, Client], settings: Settings
) -> None:
    api, _ = stack
    healthy = await api.get("/healthz")
    assert healthy.status_code == 200
    assert healthy.json()["database"]["status"] == "up" and healthy.json()["temporal"]["status"] == "up"
    no_temporal = create_app(settings.model_copy(update={"temporal_address": "127.0.0.1:1"}))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=no_temporal), base_url="http://t") as c:
        down = await c.get("/healthz")
    assert down.status_code == 503 and down.json()["temporal"]["status"] == "down"
    no_db = create_app(
        settings.model_copy(update={"database_url": "postgresql+psycopg2://nobody@127.0.0.1:1/x"}),
        temporal_client=stack[1],
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=no_db), base_url="http://t") as c:
        down = await c.get("/healthz")
    assert down.status_code == 503 and down.json()["database"]["status"] == "down"
    assert down.json()["temporal"]["status"] == "up"
