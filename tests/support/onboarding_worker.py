"""Onboarding on the time-skipping server: a shop (the subscription catalogue and an account, with the
operator's principal), an onboarding input for one of its plans, and a worker on its own queue that
provisions broadband through a recording adapter. Shared by the subscription and dunning workflow tests."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from activities.accounts.organisations import authenticate
from activities.subscriptions.onboarding import OnboardingInput, SubscriptionOrder, prepare_onboarding
from api.app import create_app
from domain.ids import new_id
from domain.principal import Principal
from models.base import unit_of_work
from runtime.settings import Settings
from runtime.worker import build_worker
from tests.support.factories import make_operator
from tests.support.subscription_support import RecordingAdapter, Shop, make_shop, worker_activities


@pytest.fixture
async def onboarding_shop(settings: Settings, database_url: str) -> AsyncIterator[tuple[Shop, Principal]]:
    tenant = make_operator(database_url)
    app = create_app(settings.model_copy(update={"temporal_address": "127.0.0.1:1"}))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as api:
        made = await make_shop(api, tenant)
    with unit_of_work(database_url) as session:
        principal = authenticate(session, tenant.token)
    assert principal is not None
    yield made, principal


def onboarding_input(database_url: str, shop: Shop, principal: Principal, plan: str) -> OnboardingInput:
    order = SubscriptionOrder(
        account_id=shop.account_id, items=[{"plan": plan}], start_date=date(2024, 1, 1), bill_day=1
    )  # type: ignore[list-item]
    sub_id = new_id("sub")
    with unit_of_work(database_url) as session:
        return prepare_onboarding(
            session,
            principal,
            order,
            subscription_id=sub_id,
            process_id=f"onboarding-{sub_id}",
            request_id=uuid.uuid4().hex,
        )


def worker_for(env: WorkflowEnvironment, settings: Settings, *replace: Any) -> tuple[Any, Settings, Any]:
    """A worker on its own queue, provisioning broadband through a recording adapter."""
    queue = settings.model_copy(update={"task_queue": f"subs-ts-{uuid.uuid4().hex[:8]}"})
    adapter = RecordingAdapter("radius-test", frozenset({"broadband"}))
    activities = worker_activities(queue, adapter, replace=replace)
    return build_worker(env.client, queue, activities=activities), queue, adapter
