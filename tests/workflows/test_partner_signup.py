"""Onboarding a "TV Max + Netflix Standard" bundle creates the Netflix subscriber and exposes the sign-up
link; PartnerSignUp (a child, on a durable timer) makes the membership active once the subscriber signs
up, or fails it when the link expires. On the time-skipping server against the simulator over HTTP."""

from __future__ import annotations

import time
from typing import Any, cast

import httpx
import pytest
from sqlalchemy import select
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from domain import process_ids
from integrations.partners.netflix.client import complete_signup
from models.base import unit_of_work
from models.events import EventRecord
from models.partners import PartnerSubscription
from runtime.settings import Settings
from tests.support.factories import make_operator
from tests.support.netflix_simulator import NETFLIX_OPERATOR, NetflixHarness
from tests.support.onboarding_worker import worker_for
from tests.support.partner_support import PartnerShop, bundle_input, connect_netflix, make_partner_shop
from workflows.onboarding import OnboardingWorkflow
from workflows.partners import PartnerSignUpWorkflow

pytestmark = pytest.mark.calendar


async def skipping_result(env: WorkflowEnvironment, handle: WorkflowHandle[Any, Any]) -> Any:
    """The result of a workflow the test did not start itself (such a handle does not skip time). The
    test server's long poll may come back empty while a long run of polls goes on: ask again."""
    give_up = time.monotonic() + 600  # a day of 10-minute polls takes a while on a loaded machine
    while time.monotonic() < give_up:
        try:
            async with cast(Any, env).time_skipping_unlocked():
                return await handle.result()
        except RuntimeError as exc:
            if "No completion event" not in str(exc):
                raise
    raise AssertionError(f"{handle.id} did not complete")


@pytest.fixture
async def partner_shop(settings: Settings, database_url: str, netflix: NetflixHarness) -> PartnerShop:
    from api.app import create_app

    tenant = make_operator(database_url)
    app = create_app(settings.model_copy(update={"temporal_address": "127.0.0.1:1"}))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as api:
        shop = await make_partner_shop(api, tenant, database_url)
    connect_netflix(database_url, settings.data_key, shop.principal, netflix)
    return shop


def membership(database_url: str, subscription_id: str) -> PartnerSubscription:
    with unit_of_work(database_url) as session:
        row = session.execute(
            select(PartnerSubscription).where(PartnerSubscription.subscription_id == subscription_id)
        ).scalar_one()
        session.expunge(row)
        return row


def event_types(database_url: str, psub_id: str) -> list[str]:
    with unit_of_work(database_url) as session:
        rows = session.execute(
            select(EventRecord.type).where(EventRecord.object_id == psub_id).order_by(EventRecord.id)
        ).scalars()
        return list(rows)


async def test_onboarding_a_netflix_bundle_signs_up_and_activates_the_membership(
    own_time_skipping_env: WorkflowEnvironment,
    settings: Settings,
    database_url: str,
    netflix: NetflixHarness,
    partner_shop: PartnerShop,
) -> None:
    worker, queue, _ = worker_for(own_time_skipping_env, settings)
    order = bundle_input(database_url, partner_shop)
    async with worker:
        onboarded = await own_time_skipping_env.client.execute_workflow(
            OnboardingWorkflow.run, order, id=order.process_id, task_queue=queue.task_queue
        )
        assert onboarded.status == "active"  # not held up by the sign-up
        row = membership(database_url, order.subscription_id)
        assert (row.status, row.provider, row.partner_plan, row.channel) == (
            "pending_signup",
            "netflix",
            "STANDARD",
            "BROADBAND",
        )
        assert (row.partner_customer_id, row.account_id) == (partner_shop.account_id, partner_shop.account_id)
        assert (row.allowance_minor, row.currency, row.included_in_price) == (1549, "USD", True)
        subscriber = netflix.simulator.subscribers[(NETFLIX_OPERATOR, partner_shop.account_id)]
        assert (subscriber["status"], subscriber["plan"], subscriber["channel"]) == (
            "PENDING_SIGNUP",
            "STANDARD",
            "BROADBAND",
        )
        assert row.signup_url == subscriber["signup_url"]
        assert event_types(database_url, row.id) == ["partner.signup_link"]

        complete_signup(row.signup_url, netflix.url)
        handle = own_time_skipping_env.client.get_workflow_handle_for(
            PartnerSignUpWorkflow.run, process_ids.partner_signup(row.id)
        )
        result = await skipping_result(own_time_skipping_env, handle)  # the next poll (10 min on) finds it
    assert (result.status, result.reason) == ("active", None)
    after = membership(database_url, order.subscription_id)
    assert after.status == "active" and after.activated_at is not None
    assert event_types(database_url, row.id) == ["partner.signup_link", "partner.activated"]


async def test_the_signed_up_signal_checks_at_once(
    own_time_skipping_env: WorkflowEnvironment,
    settings: Settings,
    database_url: str,
    netflix: NetflixHarness,
    partner_shop: PartnerShop,
) -> None:
    worker, queue, _ = worker_for(own_time_skipping_env, settings)
    order = bundle_input(database_url, partner_shop)
    async with worker:
        await own_time_skipping_env.client.execute_workflow(
            OnboardingWorkflow.run, order, id=order.process_id, task_queue=queue.task_queue
        )
        row = membership(database_url, order.subscription_id)
        complete_signup(row.signup_url or "", netflix.url, plan="PREMIUM")
        handle = own_time_skipping_env.client.get_workflow_handle_for(
            PartnerSignUpWorkflow.run, process_ids.partner_signup(row.id)
        )
        await handle.signal(PartnerSignUpWorkflow.signed_up)
        result = await handle.result()  # no time skipped: the signal wakes it
    assert result.status == "active"


async def test_an_expired_signup_link_fails_the_membership_with_a_reason(
    own_time_skipping_env: WorkflowEnvironment,
    settings: Settings,
    database_url: str,
    netflix: NetflixHarness,
    partner_shop: PartnerShop,
) -> None:
    from sqlalchemy import update

    from models.partners import PartnerConnection

    with unit_of_work(database_url) as session:  # links valid for an hour (the connection's option)
        session.execute(
            update(PartnerConnection)
            .where(PartnerConnection.organisation_id == partner_shop.principal.organisation_id)
            .values(options={"signup_validity_seconds": 3600})
        )
        session.commit()
    worker, queue, _ = worker_for(own_time_skipping_env, settings)
    order = bundle_input(database_url, partner_shop)
    async with worker:
        await own_time_skipping_env.client.execute_workflow(
            OnboardingWorkflow.run, order, id=order.process_id, task_queue=queue.task_queue
        )
        row = membership(database_url, order.subscription_id)
        handle = own_time_skipping_env.client.get_workflow_handle_for(
            PartnerSignUpWorkflow.run, process_ids.partner_signup(row.id)
        )
        result = await skipping_result(own_time_skipping_env, handle)  # an hour of polls, skipped
        status = await handle.query(PartnerSignUpWorkflow.status)
    assert result.status == "failed"
    assert result.reason == "the netflix sign-up link expired before the subscriber completed it"
    assert status.polls == 6 + 1  # every 10 minutes for the hour, and once at its end
    after = membership(database_url, order.subscription_id)
    assert (after.status, after.end_reason) == ("failed", result.reason)
    assert event_types(database_url, row.id) == ["partner.signup_link", "partner.failed"]


async def test_onboarding_without_a_netflix_connection_fails_only_the_membership(
    own_time_skipping_env: WorkflowEnvironment,
    settings: Settings,
    database_url: str,
    netflix: NetflixHarness,
    partner_shop: PartnerShop,
) -> None:
    from sqlalchemy import update

    from models.partners import PartnerConnection

    with unit_of_work(database_url) as session:
        session.execute(
            update(PartnerConnection)
            .where(PartnerConnection.organisation_id == partner_shop.tenant.organisation_id)
            .values(enabled=False)
        )
    worker, queue, _ = worker_for(own_time_skipping_env, settings)
    order = bundle_input(database_url, partner_shop)
    async with worker:
        onboarded = await own_time_skipping_env.client.execute_workflow(
            OnboardingWorkflow.run, order, id=order.process_id, task_queue=queue.task_queue
        )
    assert onboarded.status == "active"
    row = membership(database_url, order.subscription_id)
    assert row.status == "failed"
    assert row.end_reason == (
        f"organisation {partner_shop.tenant.organisation_id}'s connection to partner 'netflix' "
        f"({row.end_reason.split('(')[1].split(')')[0]}) is disabled"
    )
    assert netflix.simulator.subscribers == {}


async def test_a_plan_change_and_a_termination_reach_the_simulator(
    own_time_skipping_env: WorkflowEnvironment,
    settings: Settings,
    database_url: str,
    netflix: NetflixHarness,
    partner_shop: PartnerShop,
) -> None:
    from datetime import date

    from activities.subscriptions import records as store
    from activities.subscriptions.changes import ActionRequest, ChangeRequest, prepare_action, prepare_change
    from workflows.subscription_change import PlanChangeWorkflow, SubscriptionActionWorkflow

    worker, queue, _ = worker_for(own_time_skipping_env, settings)
    order = bundle_input(database_url, partner_shop)
    key = (NETFLIX_OPERATOR, partner_shop.account_id)
    async with worker:
        await own_time_skipping_env.client.execute_workflow(
            OnboardingWorkflow.run, order, id=order.process_id, task_queue=queue.task_queue
        )
        row = membership(database_url, order.subscription_id)
        complete_signup(row.signup_url or "", netflix.url)
        handle = own_time_skipping_env.client.get_workflow_handle_for(
            PartnerSignUpWorkflow.run, process_ids.partner_signup(row.id)
        )
        await handle.signal(PartnerSignUpWorkflow.signed_up)
        assert (await handle.result()).status == "active"

        with unit_of_work(database_url) as session:
            sub = store.load(session, order.subscription_id, lock=True)
            process_id = f"change-{sub.id}"
            change = prepare_change(
                session,
                sub,
                ChangeRequest(
                    type="change_plan",
                    plan=partner_shop.premium_plan,
                    service_id=row.service_id,
                    timing="immediate",
                    effective_date=date(2024, 1, 10),
                ),
                process_id,
                "test",
            )
            store.acquire(session, sub.id, process_id)
        changed = await own_time_skipping_env.client.execute_workflow(
            PlanChangeWorkflow.run, change, id=process_id, task_queue=queue.task_queue
        )
        assert changed.step == "done", changed
        assert netflix.simulator.subscribers[key]["plan"] == "PREMIUM"
        moved = membership(database_url, order.subscription_id)
        assert (moved.id, moved.status, moved.partner_plan, moved.allowance_minor) == (
            row.id,
            "active",
            "PREMIUM",
            2299,
        )

        with unit_of_work(database_url) as session:
            sub = store.load(session, order.subscription_id, lock=True)
            process_id = f"terminate-{sub.id}"
            action = prepare_action(
                session,
                sub,
                "terminate",
                ActionRequest(reason="moving abroad", effective_date=date(2024, 1, 20)),
                process_id,
                "test",
            )
            store.acquire(session, sub.id, process_id)
        ended = await own_time_skipping_env.client.execute_workflow(
            SubscriptionActionWorkflow.run, action, id=process_id, task_queue=queue.task_queue
        )
        assert ended.step == "done", ended
    subscriber = netflix.simulator.subscribers[key]
    assert (subscriber["status"], subscriber["end_reason"]) == ("ENDED", "moving abroad")
    after = membership(database_url, order.subscription_id)
    assert (after.status, after.end_reason) == ("ended", "moving abroad")
    assert event_types(database_url, row.id) == ["partner.signup_link", "partner.activated", "partner.ended"]


async def test_a_second_bundle_for_the_same_account_fails_its_membership_only(
    own_time_skipping_env: WorkflowEnvironment,
    settings: Settings,
    database_url: str,
    netflix: NetflixHarness,
    partner_shop: PartnerShop,
) -> None:
    worker, queue, _ = worker_for(own_time_skipping_env, settings)
    first, second = bundle_input(database_url, partner_shop), bundle_input(database_url, partner_shop)
    async with worker:
        for order in (first, second):
            onboarded = await own_time_skipping_env.client.execute_workflow(
                OnboardingWorkflow.run, order, id=order.process_id, task_queue=queue.task_queue
            )
            assert onboarded.status == "active"
    live, refused = (
        membership(database_url, first.subscription_id),
        membership(database_url, second.subscription_id),
    )
    assert live.status == "pending_signup"
    assert (refused.status, refused.end_reason) == (
        "failed",
        f"account {partner_shop.account_id} already has a live netflix membership ({live.id})",
    )
    assert event_types(database_url, refused.id) == ["partner.failed"]
    assert len(netflix.simulator.subscribers) == 1


async def test_a_partner_product_sold_alone_signs_up_its_member(
    own_time_skipping_env: WorkflowEnvironment,
    settings: Settings,
    database_url: str,
    netflix: NetflixHarness,
    partner_shop: PartnerShop,
) -> None:
    """Not only in a bundle: the Netflix Premium plan bought on its own gets its membership and link."""
    import uuid
    from datetime import date

    from activities.subscriptions.onboarding import SubscriptionOrder, prepare_onboarding
    from domain.ids import new_id

    sub_id = new_id("sub")
    with unit_of_work(database_url) as session:
        order = prepare_onboarding(
            session,
            partner_shop.principal,
            SubscriptionOrder(
                account_id=partner_shop.account_id,
                items=[{"plan": partner_shop.premium_plan}],  # type: ignore[list-item]
                start_date=date(2024, 1, 1),
                bill_day=1,
            ),
            subscription_id=sub_id,
            process_id=f"onboarding-{sub_id}",
            request_id=uuid.uuid4().hex,
        )
    worker, queue, _ = worker_for(own_time_skipping_env, settings)
    async with worker:
        onboarded = await own_time_skipping_env.client.execute_workflow(
            OnboardingWorkflow.run, order, id=order.process_id, task_queue=queue.task_queue
        )
        assert onboarded.status == "active"
        row = membership(database_url, order.subscription_id)
        assert (row.status, row.partner_plan, row.allowance_minor) == ("pending_signup", "PREMIUM", 2299)
        subscriber = netflix.simulator.subscribers[(NETFLIX_OPERATOR, partner_shop.account_id)]
        assert (subscriber["status"], subscriber["plan"]) == ("PENDING_SIGNUP", "PREMIUM")
        assert subscriber["promotion_code"] == row.promotion_code == "WELCOME3"  # the product's promotion
        assert row.signup_url == subscriber["signup_url"]
        complete_signup(row.signup_url or "", netflix.url)
        handle = own_time_skipping_env.client.get_workflow_handle_for(
            PartnerSignUpWorkflow.run, process_ids.partner_signup(row.id)
        )
        await handle.signal(PartnerSignUpWorkflow.signed_up)
        assert (await handle.result()).status == "active"
    assert membership(database_url, order.subscription_id).status == "active"


async def test_a_partner_addon_added_then_removed_signs_up_then_cancels_at_the_partner(
    own_time_skipping_env: WorkflowEnvironment, settings: Settings, database_url: str, netflix: NetflixHarness
) -> None:
    """Plan changes reach the partner: Netflix bought as an add-on later is signed up; removing the add-on
    cancels the membership at Netflix and ends it here."""
    import uuid
    from datetime import date

    from activities.accounts.organisations import authenticate
    from activities.subscriptions import records as store
    from activities.subscriptions.changes import ChangeRequest, prepare_change
    from activities.subscriptions.onboarding import SubscriptionOrder, prepare_onboarding
    from api.app import create_app
    from domain.ids import new_id
    from tests.support.catalog_factory import plan, post, product
    from tests.support.factories import person
    from tests.support.partner_support import connect_netflix, netflix_product
    from workflows.subscription_change import PlanChangeWorkflow

    tenant = make_operator(database_url)
    app = create_app(settings.model_copy(update={"temporal_address": "127.0.0.1:1"}))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as api:
        tv = await product(api, tenant, "video")
        standard = await product(api, tenant, **netflix_product(included=False))  # type: ignore[arg-type]
        addon = await plan(api, tenant, product_code=standard, role="addon", prices={"EUR": "0.00"})
        base = await plan(
            api,
            tenant,
            product_code=tv,
            prices={"EUR": "40.00"},
            addons=[{"plan_code": addon, "rule": "allowed"}],
        )
        account = await post(api, tenant, "/v1/accounts", person())
    with unit_of_work(database_url) as session:
        principal = authenticate(session, tenant.token)
    assert principal is not None
    connect_netflix(database_url, settings.data_key, principal, netflix)
    sub_id = new_id("sub")
    with unit_of_work(database_url) as session:
        order = prepare_onboarding(
            session,
            principal,
            SubscriptionOrder(
                account_id=account["id"],
                items=[{"plan": base}],  # type: ignore[list-item]
                start_date=date(2024, 1, 1),
                bill_day=1,
            ),
            subscription_id=sub_id,
            process_id=f"onboarding-{sub_id}",
            request_id=uuid.uuid4().hex,
        )
    key = (NETFLIX_OPERATOR, account["id"])

    async def change(request: ChangeRequest, name: str) -> None:
        with unit_of_work(database_url) as session:
            sub = store.load(session, sub_id, lock=True)
            process_id = f"{name}-{sub.id}"
            prepared = prepare_change(session, sub, request, process_id, "test")
            store.acquire(session, sub.id, process_id)
        done = await own_time_skipping_env.client.execute_workflow(
            PlanChangeWorkflow.run, prepared, id=process_id, task_queue=queue.task_queue
        )
        assert done.step == "done", done

    worker, queue, _ = worker_for(own_time_skipping_env, settings)
    async with worker:
        onboarded = await own_time_skipping_env.client.execute_workflow(
            OnboardingWorkflow.run, order, id=order.process_id, task_queue=queue.task_queue
        )
        assert onboarded.status == "active"
        assert key not in netflix.simulator.subscribers  # no partner product yet

        await change(ChangeRequest(type="add_addon", plan=addon, effective_date=date(2024, 1, 10)), "add")
        row = membership(database_url, sub_id)
        assert (row.status, row.partner_plan) == ("pending_signup", "STANDARD")
        assert netflix.simulator.subscribers[key]["status"] == "PENDING_SIGNUP"
        complete_signup(row.signup_url or "", netflix.url)
        handle = own_time_skipping_env.client.get_workflow_handle_for(
            PartnerSignUpWorkflow.run, process_ids.partner_signup(row.id)
        )
        await handle.signal(PartnerSignUpWorkflow.signed_up)
        assert (await handle.result()).status == "active"

        removal = ChangeRequest(
            type="remove_addon",
            service_id=row.service_id,
            timing="immediate",
            effective_date=date(2024, 1, 20),
        )
        await change(removal, "remove")
    subscriber = netflix.simulator.subscribers[key]
    assert subscriber["status"] == "ENDED"
    assert subscriber["end_reason"] == "the subscription no longer holds the partner service"
    after = membership(database_url, sub_id)
    assert (after.status, after.end_reason) == ("ended", "plan changed: partner service dropped")


async def test_a_bundle_sold_by_a_partner_outlet_uses_the_operators_connection_and_bills(
    own_time_skipping_env: WorkflowEnvironment,
    settings: Settings,
    database_url: str,
    netflix: NetflixHarness,
    partner_shop: PartnerShop,
) -> None:
    """The operator is the merchant of record: a customer of a partner outlet gets the membership through the
    operator's Netflix connection, and the operator's charge acceptance finds and bills it."""
    import uuid
    from datetime import date

    from activities.accounts.organisations import authenticate
    from activities.partner_charges.io import AcceptanceInput
    from activities.subscriptions.onboarding import SubscriptionOrder, prepare_onboarding
    from api.app import create_app
    from domain.ids import new_id
    from tests.support.catalog_factory import post
    from tests.support.factories import make_child, person
    from tests.support.partner_factory import pending_charges_of
    from workflows.partner_charges import NetflixChargeAcceptanceWorkflow

    operator = partner_shop.tenant.organisation_id
    outlet = make_child(database_url, operator)
    app = create_app(settings.model_copy(update={"temporal_address": "127.0.0.1:1"}))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as api:
        account = await post(api, outlet, "/v1/accounts", person())
    with unit_of_work(database_url) as session:
        seller = authenticate(session, outlet.token)
        assert seller is not None
        sub_id = new_id("sub")
        order = prepare_onboarding(
            session,
            seller,
            SubscriptionOrder(
                account_id=account["id"],
                items=[{"plan": partner_shop.tv_plan}, {"plan": partner_shop.netflix_plan}],  # type: ignore[list-item]
                bundle=partner_shop.bundle,
                start_date=date(2024, 1, 1),
                bill_day=1,
            ),
            subscription_id=sub_id,
            process_id=f"onboarding-{sub_id}",
            request_id=uuid.uuid4().hex,
        )
    worker, queue, _ = worker_for(own_time_skipping_env, settings)
    async with worker:
        onboarded = await own_time_skipping_env.client.execute_workflow(
            OnboardingWorkflow.run, order, id=order.process_id, task_queue=queue.task_queue
        )
        assert onboarded.status == "active"
        row = membership(database_url, sub_id)
        assert (row.status, row.end_reason) == ("pending_signup", None)
        assert (row.organisation_id, row.account_id) == (operator, account["id"])
        assert netflix.simulator.subscribers[(NETFLIX_OPERATOR, account["id"])]["status"] == "PENDING_SIGNUP"
        complete_signup(row.signup_url or "", netflix.url)
        handle = own_time_skipping_env.client.get_workflow_handle_for(
            PartnerSignUpWorkflow.run, process_ids.partner_signup(row.id)
        )
        await handle.signal(PartnerSignUpWorkflow.signed_up)
        assert (await handle.result()).status == "active"

        netflix.simulator.bill_period(date(2026, 3, 1))
        result = await own_time_skipping_env.client.execute_workflow(
            NetflixChargeAcceptanceWorkflow.run,
            AcceptanceInput(organisation_id=operator, provider="netflix"),
            id=f"partner-charges-outlet-{uuid.uuid4().hex[:8]}",
            task_queue=queue.task_queue,
        )
    assert (result.fetched, result.accepted, result.declined) == (1, 1, 0)
    assert pending_charges_of(database_url, account["id"]) == []  # the bundle's price includes it
