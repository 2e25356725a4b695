"""Mobile lines for tests: a catalogue with a SIM device product and a mobile plan (tariff profile
``mvno-basic``), a SIM model and a warehouse (``make_sim_shop``); SIMs received through the API and known
to the host (``SimShop.receive``); an API and a worker whose provisioning goes to the MVNO simulator
(``mobile_stack``)."""

from __future__ import annotations

import itertools
import random
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from activities.catalog import records as catalog
from activities.devices import warehouse
from api.app import create_app
from domain.catalog import Characteristic, DeviceTerms, Phase, PhaseKind, PlanSpec, ProductKind, ProductSpec
from integrations.provisioning.mvno.simulator import MvnoSimulator
from models.base import unit_of_work
from runtime.settings import Settings
from runtime.worker import build_worker
from tests.support.device_support import code, principal_of
from tests.support.factories import Tenant, make_operator
from tests.support.mvno_simulator import MVNO_API_KEY, make_iccid

_SERIALS = itertools.count(random.randrange(10**6) * 1000 + 1)
_NUMBERS = itertools.count(random.randrange(10**6) * 100 + 1)


def new_number() -> str:
    """An E.164 number no other test uses."""
    return f"+3361{next(_NUMBERS) % 10**8:08d}"


@dataclass(frozen=True)
class SimCard:
    iccid: str
    imsi: str
    msisdn: str | None


def new_sim_card(*, msisdn: bool = True) -> SimCard:
    serial = next(_SERIALS)
    return SimCard(make_iccid(serial), f"20801{serial % 10**10:010d}", new_number() if msisdn else None)


@dataclass(frozen=True)
class SimShop:
    tenant: Tenant
    sim_product: str
    sim_model: str
    plan: str
    warehouse_id: str

    async def receive(
        self, api: httpx.AsyncClient, host: MvnoSimulator, *cards: SimCard
    ) -> list[dict[str, Any]]:
        """Receive the SIMs into the warehouse through the API (and put them in the host's stock)."""
        items = [
            {"iccid": c.iccid, "imsi": c.imsi, **({"msisdn": c.msisdn} if c.msisdn else {})} for c in cards
        ]
        body = {"warehouse_id": self.warehouse_id, "model": self.sim_model, "items": items}
        received = await api.post("/v1/devices", json=body, headers=self.tenant.post_headers())
        assert received.status_code == 201, received.text
        for card in cards:
            host.add_sim(card.iccid, card.imsi)
        return list(received.json()["data"])


def make_sim_shop(database_url: str) -> SimShop:
    tenant = make_operator(database_url)
    principal = principal_of(database_url, tenant)
    org = tenant.organisation_id
    sim, mobile, plan, model = code("sim"), code("mobile"), code("m10"), code("simcard")
    profile = Characteristic(name="tariff_profile", type="string", value="mvno-basic")
    with unit_of_work(database_url) as session:
        catalog.add_product(
            session, org, ProductSpec(code=sim, name="SIM card", kind=ProductKind.DEVICE, traceable=True)
        )
        catalog.add_product(
            session,
            org,
            ProductSpec(code=mobile, name="Mobile line", kind=ProductKind.MOBILE, characteristics=[profile]),
        )
        spec = PlanSpec(
            code=plan,
            name="Mobile 10 GB",
            product_code=mobile,
            phases=[Phase(kind=PhaseKind.EVERGREEN, prices={"EUR": Decimal("10.00")})],
            device=DeviceTerms(product_code=sim, mode="rent", prices={"EUR": Decimal("0.00")}),
        )
        catalog.add_plan(session, org, spec, date(2000, 1, 1))
        warehouse.add_device_model(
            session,
            principal,
            {
                "code": model,
                "product_code": sim,
                "manufacturer": "Gemalto",
                "name": "Triple SIM",
                "kind": "sim",
            },
        )
        main = warehouse.create_warehouse(session, principal, {"code": code("main"), "name": "Main"})
        return SimShop(tenant, sim, model, plan, main.id)


@dataclass
class MobileStack:
    api: httpx.AsyncClient
    settings: Settings


@pytest.fixture
async def mobile_stack(
    settings: Settings, dev_env: WorkflowEnvironment, mvno_platform: tuple[MvnoSimulator, str]
) -> AsyncIterator[MobileStack]:
    """The API and a worker on their own task queue; mobile lines provision on the MVNO simulator."""
    wired = settings.model_copy(
        update={
            "task_queue": f"mvno-{uuid.uuid4().hex[:8]}",
            "mvno_base_url": mvno_platform[1],
            "mvno_api_key": MVNO_API_KEY,
            "mvno_timeout_seconds": 5.0,
            "mvno_wait_seconds": 3.0,
        }
    )
    app = create_app(wired, temporal_client=dev_env.client)
    async with (
        build_worker(dev_env.client, wired),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as api,
    ):
        yield MobileStack(api, wired)
