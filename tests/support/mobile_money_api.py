"""An API with a worker behind it, wired to the mobile-money simulator (which calls back a copy of the API
served over real HTTP): ``momo_api``. Tests play the subscriber's phone with ``Handset``."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from runtime.payments import build_gateways
from runtime.settings import Settings
from runtime.worker import build_worker
from tests.support.eventually import eventually
from tests.support.live_api import serve
from tests.support.mobile_money_simulator import (
    CALLBACK_SECRET,
    CONSUMER_KEY,
    CONSUMER_SECRET,
    Handset,
    MobileMoneyGateway,
    unique_msisdn,
)


@dataclass
class MomoApi:
    client: httpx.AsyncClient
    url: str
    settings: Settings
    gateway: MobileMoneyGateway

    def handset(self, **phone: Any) -> Handset:
        """A new subscriber's phone, registered at the simulator (PIN 1234 unless told)."""
        handset = Handset(self.gateway.url, unique_msisdn())
        handset.register(**phone)
        return handset


def momo_settings(settings: Settings, gateway_url: str, callback_url: str, **extra: Any) -> Settings:
    return settings.model_copy(
        update={
            "mobile_money_base_url": gateway_url,
            "mobile_money_consumer_key": CONSUMER_KEY,
            "mobile_money_consumer_secret": CONSUMER_SECRET,
            "mobile_money_callback_secret": CALLBACK_SECRET,
            "mobile_money_callback_url": callback_url,
            "mobile_money_timeout_seconds": 5.0,
            **extra,
        }
    )


@pytest.fixture
async def momo_api(
    settings: Settings, mobile_money: MobileMoneyGateway, dev_env: WorkflowEnvironment
) -> AsyncIterator[MomoApi]:
    """The API the test calls (in process, on the test's event loop) and a worker on its own task queue;
    the gateway's callbacks go to a second instance of the API served on a real port."""
    temporal = dev_env.client.service_client.config.target_host
    queue = f"momo-{uuid.uuid4().hex[:8]}"
    base = settings.model_copy(update={"temporal_address": temporal, "task_queue": queue})
    callbacks = create_app(base)  # connects to Temporal itself, on the server thread's loop
    with serve(callbacks) as url:
        wired = momo_settings(base, mobile_money.url, f"{url}/v1/webhooks/mobile_money")
        callbacks.state.settings = wired
        callbacks.state.payment_gateways = build_gateways(wired)
        app = create_app(wired, temporal_client=dev_env.client)
        app.state.payment_gateways = build_gateways(wired)
        async with (
            build_worker(dev_env.client, wired),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://testserver", timeout=60.0
            ) as client,
        ):
            yield MomoApi(client, url, wired, mobile_money)


async def answer_prompt(handset: Handset, action: Callable[[], Any], timeout: float = 20.0) -> None:
    """Wait until the phone shows a prompt, then answer it (approve or cancel), off the event loop."""

    def prompted() -> bool:
        return handset.state()["prompt"] is not None

    await asyncio.to_thread(
        eventually, prompted, timeout=timeout, interval=0.05, what="a prompt on the phone"
    )
    await asyncio.to_thread(action)


async def while_answering(request: Awaitable[httpx.Response], answer: Awaitable[None]) -> httpx.Response:
    """Send a request that waits for the subscriber, and answer the phone meanwhile."""
    response, _ = await asyncio.gather(request, answer)
    return response
