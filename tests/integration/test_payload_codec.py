"""No personal data in clear in Temporal, on the dev server: an AccountVerification started through the
real API keeps its customer's email and name out of the stored history, the memo and the summary; the
codec endpoint gives the clear payloads to the codec staff's admins only; keys rotate."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from temporalio.api.common.v1 import Payload, WorkflowExecution
from temporalio.api.workflowservice.v1 import (
    DescribeWorkflowExecutionRequest,
    GetWorkflowExecutionHistoryRequest,
)
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from domain.organisations import Role
from runtime.codec import ENCODING, KEY_ID, EncryptionCodec, PayloadKeys
from runtime.settings import Settings
from runtime.worker import build_worker
from tests.support.eventually import eventually_async
from tests.support.factories import Tenant, make_child, make_operator, person

K_OLD = "old:" + base64.b64encode(b"o" * 32).decode()
K_NEW = "new:" + base64.b64encode(b"n" * 32).decode()
UI = "http://127.0.0.1:8233"


def wire(payload: Payload) -> dict[str, Any]:
    """A payload as the Temporal UI sends it (proto3 JSON: every bytes field base64)."""
    return {
        "metadata": {k: base64.b64encode(v).decode() for k, v in payload.metadata.items()},
        "data": base64.b64encode(payload.data).decode(),
    }


def unwire(item: dict[str, Any]) -> Payload:
    return Payload(
        metadata={k: base64.b64decode(v) for k, v in item.get("metadata", {}).items()},
        data=base64.b64decode(item.get("data", "")),
    )


def codec_app(settings: Settings, staff: Tenant, **overrides: Any) -> httpx.AsyncClient:
    app_settings = settings.model_copy(
        update={
            "temporal_address": "127.0.0.1:1",
            "codec_organisations": [staff.organisation_id],
            "codec_cors_origins": [UI],
            **overrides,
        }
    )
    transport = httpx.ASGITransport(app=create_app(app_settings))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


@pytest.fixture
async def stack(
    settings: Settings, dev_env: WorkflowEnvironment
) -> AsyncIterator[tuple[httpx.AsyncClient, Settings]]:
    test_settings = settings.model_copy(update={"task_queue": f"codec-{uuid.uuid4().hex[:8]}"})
    app = create_app(test_settings, temporal_client=dev_env.client)
    async with (
        build_worker(dev_env.client, test_settings),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client,
    ):
        yield client, test_settings


async def raw_history(client: Client, workflow_id: str) -> list[Any]:
    response = await client.workflow_service.get_workflow_execution_history(
        GetWorkflowExecutionHistoryRequest(
            namespace=client.namespace, execution=WorkflowExecution(workflow_id=workflow_id)
        )
    )
    return list(response.history.events)


async def test_a_verification_keeps_the_email_and_name_out_of_temporal(
    stack: tuple[httpx.AsyncClient, Settings], dev_env: WorkflowEnvironment, database_url: str
) -> None:
    api, settings = stack
    staff = make_operator(database_url)
    family = f"Zubizarreta{uuid.uuid4().hex[:6]}"
    body = person(verify=True, family_name=family)
    email = body["email"].encode()
    created = await api.post("/v1/accounts", json=body, headers=staff.post_headers())
    assert created.status_code == 201, created.text
    process_id = created.json()["process_id"]

    async def events() -> list[Any]:
        return await raw_history(dev_env.client, process_id)

    # Waiting for the email means the notice activity ran: its input and result are in the history.
    history = await eventually_async(
        events,
        until=lambda found: sum(e.HasField("activity_task_completed_event_attributes") for e in found) >= 1,
        timeout=20,
        what=f"an activity of {process_id} completed",
    )
    stored = b"".join(event.SerializeToString() for event in history)
    described = await dev_env.client.workflow_service.describe_workflow_execution(
        DescribeWorkflowExecutionRequest(
            namespace=dev_env.client.namespace, execution=WorkflowExecution(workflow_id=process_id)
        )
    )
    stored += described.SerializeToString()  # memo, search attributes, the summary shown in the UI
    assert email not in stored and family.encode() not in stored

    started = history[0].workflow_execution_started_event_attributes
    [sealed_input] = list(started.input.payloads)
    assert sealed_input.metadata["encoding"] == ENCODING and sealed_input.metadata[KEY_ID] == b"dev"
    # temporalio 1.35 runs the summary (user metadata) and the memo through the codec as well.
    assert history[0].user_metadata.summary.metadata["encoding"] == ENCODING
    memo = described.workflow_execution_info.memo.fields
    assert memo and all(field.metadata["encoding"] == ENCODING for field in memo.values())

    # The API still reads its process through the same converter.
    view = await api.get(f"/v1/processes/{process_id}", headers=staff.auth)
    assert view.status_code == 200 and view.json()["account_id"] == created.json()["id"]

    # The staff's admin reads the clear input through the codec endpoint, as the Temporal UI does.
    async with codec_app(settings, staff) as codec:
        decoded = await codec.post(
            "/codec/decode",
            json={"payloads": [wire(sealed_input)]},
            headers={**staff.auth, "X-Namespace": dev_env.client.namespace},
        )
    assert decoded.status_code == 200, decoded.text
    [clear] = [unwire(item) for item in decoded.json()["payloads"]]
    assert clear.metadata["encoding"] == b"json/plain"
    assert json.loads(clear.data)["email"] == body["email"]


@pytest.fixture
def staff(database_url: str) -> Tenant:
    return make_operator(database_url)


async def sealed(keys: str, value: bytes = b'{"email": "ana@example.com"}') -> Payload:
    [payload] = await EncryptionCodec(PayloadKeys.parse(keys)).encode(
        [Payload(metadata={"encoding": b"json/plain"}, data=value)]
    )
    return payload


async def test_only_the_codec_staffs_admins_may_decode(
    settings: Settings, database_url: str, staff: Tenant
) -> None:
    body = {"payloads": [wire(await sealed(f"dev:{base64.b64encode(b'x' * 32).decode()}"))]}
    other_operator = make_operator(database_url, name="Another Operator")
    partner = make_child(database_url, staff.organisation_id)
    agent = make_operator(database_url, role=Role.AGENT)
    async with codec_app(settings, staff) as codec:
        for path in ("/codec/decode", "/codec/encode"):
            nobody = await codec.post(path, json=body)
            assert (nobody.status_code, nobody.json()["code"]) == (401, "unauthenticated")
            bad = await codec.post(path, json=body, headers={"Authorization": "Bearer mb_nope"})
            assert (bad.status_code, bad.json()["code"]) == (401, "invalid_api_key")
            other = await codec.post(path, json=body, headers=other_operator.auth)
            assert (other.status_code, other.json()["code"]) == (403, "codec_forbidden")
            theirs = await codec.post(path, json=body, headers=partner.auth)
            assert (theirs.status_code, theirs.json()["code"]) == (403, "operator_only")
            not_admin = await codec.post(path, json=body, headers=agent.auth)
            assert (not_admin.status_code, not_admin.json()["code"]) == (403, "forbidden")
    # Not even the staff's own admin when no organisation is named for the codec.
    async with codec_app(settings, staff, codec_organisations=[]) as codec:
        refused = await codec.post("/codec/decode", json=body, headers=staff.auth)
        assert (refused.status_code, refused.json()["code"]) == (403, "codec_forbidden")


async def test_rotation_through_the_endpoint_and_an_unknown_key(settings: Settings, staff: Tenant) -> None:
    old = await sealed(K_OLD)
    async with codec_app(settings, staff, payload_keys=f"{K_NEW},{K_OLD}") as codec:
        opened = await codec.post("/codec/decode", json={"payloads": [wire(old)]}, headers=staff.auth)
        assert opened.status_code == 200, opened.text
        assert unwire(opened.json()["payloads"][0]).data == b'{"email": "ana@example.com"}'

        clear = Payload(metadata={"encoding": b"json/plain"}, data=b'"typed in the UI"')
        encoded = await codec.post("/codec/encode", json={"payloads": [wire(clear)]}, headers=staff.auth)
        assert encoded.status_code == 200, encoded.text
        new = unwire(encoded.json()["payloads"][0])
        assert new.metadata[KEY_ID] == b"new" and b"typed in the UI" not in new.data
        back = await codec.post("/codec/decode", json={"payloads": [wire(new)]}, headers=staff.auth)
        assert unwire(back.json()["payloads"][0]) == clear

        passed = await codec.post("/codec/decode", json={"payloads": [wire(clear)]}, headers=staff.auth)
        assert unwire(passed.json()["payloads"][0]) == clear  # not sealed: as it is

        empty = await codec.post("/codec/decode", json={"payloads": []}, headers=staff.auth)
        assert empty.json() == {"payloads": []}
        garbage = await codec.post("/codec/decode", json={"payloads": "nope"}, headers=staff.auth)
        assert (garbage.status_code, garbage.json()["code"]) == (400, "invalid_payloads")

    async with codec_app(settings, staff, payload_keys=K_NEW) as codec:
        unknown = await codec.post("/codec/decode", json={"payloads": [wire(old)]}, headers=staff.auth)
    assert (unknown.status_code, unknown.json()["code"]) == (422, "payload_not_readable")
    assert "'old'" in unknown.json()["detail"] and "MULTIBILL_PAYLOAD_KEYS" in unknown.json()["detail"]


async def test_the_temporal_ui_origin_may_call_the_codec(settings: Settings, staff: Tenant) -> None:
    preflight_headers = {
        "Origin": UI,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type,x-namespace",
    }
    async with codec_app(settings, staff) as codec:
        preflight = await codec.options("/codec/decode", headers=preflight_headers)
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == UI
        assert preflight.headers["access-control-allow-credentials"] == "true"
        stranger = await codec.options(
            "/codec/decode", headers={**preflight_headers, "Origin": "https://evil.example"}
        )
        assert "access-control-allow-origin" not in stranger.headers
        # A refusal carries the CORS headers too, so the UI can show it.
        refused = await codec.post("/codec/decode", json={"payloads": []}, headers={"Origin": UI})
        assert refused.status_code == 401 and refused.headers["access-control-allow-origin"] == UI
        # Only the codec routes answer cross-origin calls.
        health = await codec.get("/healthz", headers={"Origin": UI})
        assert "access-control-allow-origin" not in health.headers


async def test_the_dev_ui_needs_no_key_from_loopback_in_development_only(
    settings: Settings, staff: Tenant
) -> None:
    body = {"payloads": [wire(await sealed(K_OLD))]}
    dev = {"environment": "development", "codec_trust_loopback": True, "payload_keys": K_OLD}
    async with codec_app(settings, staff, **dev) as codec:  # ASGITransport calls from 127.0.0.1
        opened = await codec.post("/codec/decode", json=body)
        assert opened.status_code == 200, opened.text
    remote = httpx.ASGITransport(
        app=create_app(settings.model_copy(update={**dev, "temporal_address": "127.0.0.1:1"})),
        client=("203.0.113.9", 4000),
    )
    async with httpx.AsyncClient(transport=remote, base_url="http://testserver") as codec:
        assert (await codec.post("/codec/decode", json=body)).status_code == 401
    async with codec_app(settings, staff, **{**dev, "environment": "test"}) as codec:
        assert (await codec.post("/codec/decode", json=body)).status_code == 401
