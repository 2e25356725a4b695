"""Broadband through a real FreeRADIUS: the adapter writes SQL, a RADIUS client checks the answers.

FreeRADIUS (installed if missing, see tests/support/freeradius.py) reads the test database; the
NAS simulator receives the Disconnect- and CoA-Requests the adapter sends.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from pyrad import packet
from pyrad.client import Client

from domain.provisioning import ProvisioningAction
from integrations.provisioning.base import ProvisioningRequest
from integrations.provisioning.credentials import derive_password
from integrations.provisioning.radius import RadiusAdapter, RadiusConfig
from integrations.provisioning.radius.dynauth import NasPeer, dictionary
from models.base import engine_for
from tests.support.freeradius import FreeRadius, running_freeradius
from tests.support.nas import NasSimulator

PASSWORD_SECRET = "radius-password-secret"
NAS_SECRET = "nas-secret"
SPEED = {"download_speed": 100, "upload_speed": 20}


@pytest.fixture(scope="session")
def freeradius(database_url: str) -> Iterator[FreeRadius]:
    with running_freeradius(database_url, secret="radius-test-secret") as server:
        yield server


@pytest.fixture
def nas() -> Iterator[NasSimulator]:
    simulator = NasSimulator(NAS_SECRET).start()
    yield simulator
    simulator.stop()


@pytest.fixture
def adapter(database_url: str, nas: NasSimulator) -> RadiusAdapter:
    peer = NasPeer("127.0.0.1", nas.port, NAS_SECRET, timeout=0.5)
    return RadiusAdapter(RadiusConfig(database_url, PASSWORD_SECRET, peer))


def order(action: ProvisioningAction, service_id: str, **overrides: Any) -> ProvisioningRequest:
    key = overrides.pop("idempotency_key", f"test:{service_id}:{action.value}")
    return ProvisioningRequest(
        order_id=f"prv_{uuid.uuid4().hex[:10]}",
        idempotency_key=key,
        action=action,
        service_kind="broadband",
        account_id="acc_test",
        subscription_id="sub_test",
        service_id=service_id,
        plan_code="fibre-100",
        characteristics=overrides.pop("characteristics", dict(SPEED)),
        **overrides,
    )


def authenticate(server: FreeRadius, username: str, password: str) -> packet.Packet:
    client = Client(
        server=server.host, authport=server.auth_port, secret=server.secret.encode(), dict=dictionary()
    )
    client.timeout, client.retries = 2, 2
    request = client.CreateAuthPacket(code=packet.AccessRequest, User_Name=username)
    request["User-Password"] = request.PwCrypt(password)
    return client.SendPacket(request)


def attrs(reply: packet.Packet) -> dict[str, list[Any]]:
    return {str(k): list(reply[k]) for k in reply.keys() if isinstance(k, str)}  # noqa: SIM118 (decoded names)


def new_service() -> str:
    return f"svc_{uuid.uuid4().hex[:12]}"


def test_active_suspended_resumed_changed_terminated(
    freeradius: FreeRadius, adapter: RadiusAdapter, nas: NasSimulator
) -> None:
    service = new_service()
    activate = order(ProvisioningAction.ACTIVATE, service)
    result = adapter.execute(activate)
    assert (result.status, result.reference) == ("done", service)
    password = derive_password(PASSWORD_SECRET, activate.idempotency_key)

    accept = authenticate(freeradius, service, password)
    assert accept.code == packet.AccessAccept, freeradius.log_tail()
    assert attrs(accept) == {
        "Class": [b"mb:" + service.encode()],
        "Mikrotik-Rate-Limit": ["20M/100M"],
        "WISPr-Bandwidth-Max-Down": [100_000_000],
        "WISPr-Bandwidth-Max-Up": [20_000_000],
    }
    assert authenticate(freeradius, service, password + "x").code == packet.AccessReject
    assert nas.received == []

    assert adapter.execute(order(ProvisioningAction.SUSPEND, service)).status == "done"
    [disconnect] = nas.received
    assert disconnect.code == packet.DisconnectRequest and disconnect.authentic
    assert disconnect.attributes["User-Name"] == [service]
    assert list(disconnect.attributes) == ["User-Name", "Event-Timestamp"]
    reject = authenticate(freeradius, service, password)
    assert reject.code == packet.AccessReject
    assert attrs(reject) == {"Reply-Message": ["Account suspended"]}

    assert adapter.execute(order(ProvisioningAction.RESUME, service)).status == "done"
    assert authenticate(freeradius, service, password).code == packet.AccessAccept
    assert len(nas.received) == 1

    faster = {"download_speed": {"value": 1, "unit": "Gbit/s"}, "upload_speed": 250}
    assert adapter.execute(order(ProvisioningAction.CHANGE, service, characteristics=faster)).status == "done"
    coa = nas.received[-1]
    assert coa.code == packet.CoARequest and coa.authentic
    assert coa.attributes["Mikrotik-Rate-Limit"] == ["250M/1000M"]
    changed = authenticate(freeradius, service, password)
    assert changed.code == packet.AccessAccept
    assert changed["Mikrotik-Rate-Limit"] == ["250M/1000M"]
    assert changed["WISPr-Bandwidth-Max-Down"] == [1_000_000_000]

    assert adapter.execute(order(ProvisioningAction.TERMINATE, service)).status == "done"
    assert nas.received[-1].code == packet.DisconnectRequest
    assert authenticate(freeradius, service, password).code == packet.AccessReject
    assert all(s.service_id != service for s in adapter.list_state())


def rows(database_url: str, table: str, username: str) -> list[tuple[str, str, str]]:
    with engine_for(database_url).connect() as conn:
        return [
            tuple(r)
            for r in conn.execute(
                sa.text(f"select attribute, op, value from {table} where username=:u order by id"),  # noqa: S608
                {"u": username},
            )
        ]


def test_retried_activation_is_identical_and_reactivation_keeps_password(
    adapter: RadiusAdapter, database_url: str
) -> None:
    service = new_service()
    first = order(
        ProvisioningAction.ACTIVATE, service, characteristics={**SPEED, "radius_username": "ana@isp"}
    )
    assert adapter.execute(first).status == "done"
    assert adapter.execute(first).status == "done"
    password = derive_password(PASSWORD_SECRET, first.idempotency_key)
    assert rows(database_url, "radcheck", "ana@isp") == [("Cleartext-Password", ":=", password)]
    again = order(
        ProvisioningAction.ACTIVATE,
        service,
        idempotency_key="resync:other",
        characteristics={**SPEED, "radius_username": "ana@isp"},
    )
    assert adapter.execute(again).status == "done"
    assert rows(database_url, "radcheck", "ana@isp") == [("Cleartext-Password", ":=", password)]
    assert rows(database_url, "radreply", "ana@isp") == [("Class", ":=", f"mb:{service}")]
    [state] = [s for s in adapter.list_state() if s.service_id == service]
    assert (state.active, state.suspended, state.profile) == (True, False, "mb-speed-100M-20M")


def test_bad_input_is_refused_without_retry(adapter: RadiusAdapter) -> None:
    owner, other = new_service(), new_service()
    shared = {**SPEED, "radius_username": f"shared-{owner}"}
    assert adapter.execute(order(ProvisioningAction.ACTIVATE, owner, characteristics=shared)).status == "done"
    taken = adapter.execute(order(ProvisioningAction.ACTIVATE, other, characteristics=shared))
    assert (taken.status, taken.retryable) == ("failed", False)
    assert taken.detail == f"RADIUS user 'shared-{owner}' belongs to service {owner}"
    no_speed = adapter.execute(order(ProvisioningAction.ACTIVATE, new_service(), characteristics={}))
    assert (no_speed.status, no_speed.retryable, no_speed.detail) == (
        "failed",
        False,
        "download_speed is missing or not a number",
    )
    unknown = adapter.execute(order(ProvisioningAction.SUSPEND, new_service()))
    assert unknown.status == "failed" and not unknown.retryable
    assert "does not exist" in unknown.detail


def test_silent_nas_fails_the_suspension_retryably(adapter: RadiusAdapter, nas: NasSimulator) -> None:
    service = new_service()
    assert adapter.execute(order(ProvisioningAction.ACTIVATE, service)).status == "done"
    nas.silent = True
    result = adapter.execute(order(ProvisioningAction.SUSPEND, service))
    assert (result.status, result.retryable) == ("failed", True)
    assert result.detail == f"NAS 127.0.0.1:{nas.port} did not answer the Disconnect-Request"
    assert len(nas.received) == 2  # pyrad sent it twice
    nas.silent, nas.nak_cause = False, 503
    result = adapter.execute(order(ProvisioningAction.SUSPEND, service))
    assert result.status == "done"
    assert result.detail == f"suspend {service}; Disconnect-NAK: no session (subscriber offline)"
