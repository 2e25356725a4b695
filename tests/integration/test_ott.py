"""The CAS/OTT adapter against the entitlement API simulator, over real HTTP on a free port."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from domain.provisioning import ProvisioningAction
from integrations.provisioning.base import ProvisioningRequest
from integrations.provisioning.ott import OttAdapter, OttConfig
from integrations.provisioning.ott.simulator import OttSimulator
from tests.support.live_api import serve
from tests.support.ports import free_port

API_KEY = "ott-test-key"


@pytest.fixture(scope="module")
def platform() -> Iterator[tuple[OttSimulator, str]]:
    simulator = OttSimulator(api_key=API_KEY, known_packs={"basic", "sports", "movies"})
    with serve(simulator.app()) as url:
        yield simulator, url


@pytest.fixture
def sim(platform: tuple[OttSimulator, str]) -> Iterator[OttSimulator]:
    simulator = platform[0]
    yield simulator
    simulator.latency, simulator.fail_next, simulator.fail_status = 0.0, 0, 503


@pytest.fixture
def adapter(platform: tuple[OttSimulator, str]) -> Iterator[OttAdapter]:
    ott = OttAdapter(OttConfig(platform[1], API_KEY, timeout_seconds=2.0))
    yield ott
    ott.close()


def order(action: ProvisioningAction, service_id: str, **overrides: Any) -> ProvisioningRequest:
    return ProvisioningRequest(
        order_id="prv_test",
        idempotency_key=overrides.pop("idempotency_key", f"test:{service_id}:{action.value}"),
        action=action,
        service_kind="video",
        account_id="acc_ott",
        subscription_id="sub_ott",
        service_id=service_id,
        plan_code="tv-plus",
        characteristics=overrides.pop("characteristics", {"channel_packs": ["basic", "sports"]}),
        **overrides,
    )


def entitlements(sim: OttSimulator, service: str) -> list[tuple[str, str, str | None, str | None]]:
    ents = sim.subscribers[service]["entitlements"].values()
    return sorted((e["kind"], e["code"], e["device_id"], e["expires_at"]) for e in ents)


def test_lifecycle_maps_to_the_entitlement_api(adapter: OttAdapter, sim: OttSimulator) -> None:
    service = f"svc_{uuid.uuid4().hex[:10]}"
    activate = order(ProvisioningAction.ACTIVATE, service)
    assert adapter.execute(activate).detail == "entitled pack basic, pack sports"
    assert adapter.execute(activate).status == "done"  # a retry replays
    assert entitlements(sim, service) == [("pack", "basic", None, None), ("pack", "sports", None, None)]

    assert adapter.execute(order(ProvisioningAction.SUSPEND, service)).detail == "subscriber suspended"
    [state] = [s for s in adapter.list_state() if s.service_id == service]
    assert (state.active, state.suspended, state.profile) == (True, True, "basic,sports")
    assert adapter.execute(order(ProvisioningAction.RESUME, service)).detail == "subscriber active"
    assert sim.subscribers[service]["status"] == "active"

    change = order(ProvisioningAction.CHANGE, service, characteristics={"channel_packs": ["basic", "movies"]})
    assert adapter.execute(change).status == "done"
    assert entitlements(sim, service) == [("pack", "basic", None, None), ("pack", "movies", None, None)]

    assert adapter.execute(order(ProvisioningAction.TERMINATE, service)).detail == "subscriber deleted"
    assert service not in sim.subscribers
    assert adapter.execute(order(ProvisioningAction.TERMINATE, service)).detail == "already gone"


@pytest.mark.calendar
@pytest.mark.today("2026-06-17T12:00:00+00:00")  # the platform refuses expiries already past
def test_a_rental_on_a_device_carries_its_expiry(adapter: OttAdapter, sim: OttSimulator) -> None:
    service = f"svc_{uuid.uuid4().hex[:10]}"
    until = "2026-06-19T12:00:00+00:00"
    rental = order(
        ProvisioningAction.ACTIVATE,
        service,
        characteristics={"titles": ["film-42"]},
        expires_at=until,
        device={"id": "stb-7"},
    )
    assert adapter.execute(rental).status == "done"
    assert entitlements(sim, service) == [("title", "film-42", "stb-7", until)]


def test_errors_map_to_retryable_or_not(adapter: OttAdapter, sim: OttSimulator) -> None:
    service = f"svc_{uuid.uuid4().hex[:10]}"
    bad = adapter.execute(
        order(ProvisioningAction.ACTIVATE, service, characteristics={"channel_packs": ["x"]})
    )
    assert (bad.status, bad.retryable) == ("failed", False)
    assert (
        bad.detail
        == f"POST /v1/subscribers/{service}/entitlements answered 422 unknown_pack: no channel pack x"
    )

    sim.fail_next = 1
    down = adapter.execute(order(ProvisioningAction.SUSPEND, service))
    assert (down.status, down.retryable) == ("failed", True)
    assert down.detail == f"PUT /v1/subscribers/{service} answered 503 unavailable: injected failure"

    sim.latency = 4.0
    slow = adapter.execute(order(ProvisioningAction.RESUME, service))
    assert (slow.status, slow.retryable) == ("failed", True)
    assert slow.detail == f"PUT /v1/subscribers/{service} timed out after 2.0s"


def test_unreachable_platform_and_wrong_key(platform: tuple[OttSimulator, str]) -> None:
    closed = OttAdapter(OttConfig(f"http://127.0.0.1:{free_port()}", API_KEY, timeout_seconds=0.5))
    result = closed.execute(order(ProvisioningAction.SUSPEND, "svc_x"))
    assert (result.status, result.retryable) == ("failed", True)
    assert result.detail.startswith("PUT /v1/subscribers/svc_x failed: ConnectError")
    wrong = OttAdapter(OttConfig(platform[1], "wrong", timeout_seconds=0.5))
    denied = wrong.execute(order(ProvisioningAction.SUSPEND, "svc_x"))
    assert (denied.retryable, denied.detail) == (
        False,
        "PUT /v1/subscribers/svc_x answered 401 unauthorized: missing or wrong API key",
    )


def test_simulator_idempotency_and_validation(platform: tuple[OttSimulator, str]) -> None:
    headers = {"Authorization": f"Bearer {API_KEY}"}
    with httpx.Client(base_url=platform[1], headers=headers) as http:
        sid = f"svc_{uuid.uuid4().hex[:10]}"
        assert http.put(f"/v1/subscribers/{sid}", json={"account_ref": "acc_1"}).status_code == 200
        body = {"kind": "pack", "code": "basic"}
        url = f"/v1/subscribers/{sid}/entitlements"
        assert http.post(url, json=body).json()["error"]["code"] == "idempotency_key_required"
        first = http.post(url, json=body, headers={"Idempotency-Key": "k1"})
        again = http.post(url, json=body, headers={"Idempotency-Key": "k1"})
        assert (first.status_code, again.status_code, again.headers["Idempotent-Replayed"]) == (
            201,
            201,
            "true",
        )
        assert first.json() == again.json()
        other = http.post(url, json={**body, "code": "sports"}, headers={"Idempotency-Key": "k1"})
        assert (other.status_code, other.json()["error"]["code"]) == (409, "idempotency_key_reused")
        past = {**body, "expires_at": "2020-01-01T00:00:00+00:00"}
        expired = http.post(url, json=past, headers={"Idempotency-Key": "k2"})
        assert (expired.status_code, expired.json()["error"]["code"]) == (422, "invalid_expiry")
        missing = http.delete(f"/v1/subscribers/{sid}/entitlements/ent_0")
        assert (missing.status_code, missing.json()["error"]["code"]) == (404, "entitlement_not_found")
