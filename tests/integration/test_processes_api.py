"""/v1/processes on the Temporal dev server: the list of a subtree's processes with its filters and cursor,
another organisation seeing none of them, and one process with its steps, failures and what comes next
(a dunning case's dated plan, a scheduled downgrade's effective date)."""

from __future__ import annotations

import base64
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from temporalio import activity, workflow
from temporalio.client import WorkflowHandle
from temporalio.exceptions import ApplicationError
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from activities.dunning.io import DunningActivities, DunningInput, NoticeInput
from api.app import create_app
from api.process_starter import ProcessStart, start_process
from api.processes import MAX_ORGANISATIONS
from domain import process_ids
from domain.dunning import Ladder, Step
from domain.ids import new_ids
from domain.organisations import OrganisationKind
from domain.process_ids import ProcessLabels
from models.base import unit_of_work
from runtime.settings import Settings
from runtime.worker import build_worker
from tests.support.billing_factory import Line, make_invoice
from tests.support.catalog_factory import post
from tests.support.eventually import eventually_async
from tests.support.factories import Tenant, make_child, make_operator, person
from tests.support.subscription_support import (
    RecordingAdapter,
    Shop,
    Stack,
    activity_name,
    make_shop,
    onboard,
    wait_process,
    worker_activities,
)
from workflows.account_verification import AccountVerificationWorkflow, VerificationInput
from workflows.common import ORGANISATION_PATH, search_attributes, start_child
from workflows.dunning import DunningWorkflow

pytestmark = pytest.mark.calendar

REFUSAL = "the mail relay refused the notice (test)"


@activity.defn(name=activity_name(DunningActivities.send_notice))
async def refusing_notice(notice: NoticeInput) -> None:
    """A dunning notice whose every attempt fails: the step keeps retrying with this reason."""
    raise ApplicationError(REFUSAL)


@pytest.fixture
async def stack(settings: Settings, dev_env: Any) -> AsyncIterator[Stack]:
    """The API and a worker on the dev server whose dunning notices always fail."""
    queue_settings = settings.model_copy(update={"task_queue": f"procs-{uuid.uuid4().hex[:8]}"})
    broadband = RecordingAdapter("radius-test", frozenset({"broadband"}))
    video = RecordingAdapter("ott-test", frozenset({"video"}))
    activities = worker_activities(queue_settings, broadband, video, replace=(refusing_notice,))
    app = create_app(queue_settings, temporal_client=dev_env.client)
    async with (
        build_worker(dev_env.client, queue_settings, activities=activities),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as api,
    ):
        yield Stack(api, dev_env.client, broadband, video, queue_settings.task_queue)


@pytest.fixture
async def shop(stack: Stack, database_url: str) -> Shop:
    return await make_shop(stack.api, make_operator(database_url))


async def listed(
    api: httpx.AsyncClient, tenant: Tenant, until: Any, what: str, **params: Any
) -> dict[str, Any]:
    """GET /v1/processes with ``params`` until ``until(body)`` (visibility lags the start a little)."""

    async def page() -> dict[str, Any]:
        resp = await api.get("/v1/processes", params=params, headers=tenant.auth)
        assert resp.status_code == 200, resp.text
        return dict(resp.json())

    return await eventually_async(page, until=until, timeout=20, what=what)


def ids(body: dict[str, Any]) -> set[str]:
    return {row["id"] for row in body["data"]}


async def test_list_filters_and_cursor_and_another_organisation_sees_none(
    stack: Stack, shop: Shop, database_url: str
) -> None:
    first = await onboard(stack.api, shop)
    second = await onboard(stack.api, shop, items=[{"plan": shop.dear}])
    subs = {first["id"], second["id"]}
    everything = await listed(
        stack.api,
        shop.tenant,
        lambda body: {row["subscription_id"] for row in body["data"]} >= subs,
        "both onboardings listed",
    )
    by_sub = {row["subscription_id"]: row for row in everything["data"]}
    row = by_sub[first["id"]]
    assert (row["process"], row["workflow_type"], row["status"]) == ("Onboarding", "Onboarding", "completed")
    assert row["organisation_id"] == shop.tenant.organisation_id and row["account_id"] == shop.account_id
    assert row["started_at"] and row["closed_at"]
    assert row["id"] == process_ids.onboarding(first["id"])
    # the summary staff see names the account and the plan, never the person
    shown = (await stack.api.get(f"/v1/processes/{row['id']}", headers=shop.tenant.auth)).json()
    assert shown["summary"] == f"Onboarding of account {shop.account_id} to {shop.cheap}"
    account = (await stack.api.get(f"/v1/accounts/{shop.account_id}", headers=shop.tenant.auth)).json()
    assert account["display_name"] and account["display_name"] not in shown["summary"]
    assert [s["name"] for s in shown["steps"] if s["kind"] == "activity"][:2] == [
        "open_subscription",  # the subscription and its activation charges, one local step
        "provision_service",
    ]
    assert all(s["outcome"] == "completed" for s in shown["steps"] if s["kind"] == "activity")
    assert shown["next"] == [] and shown["failures"] == []

    # filters: by subscription, by account, by type and status, by start time
    one = await listed(
        stack.api, shop.tenant, lambda b: bool(b["data"]), "by subscription", subscription_id=first["id"]
    )
    assert {r["subscription_id"] for r in one["data"]} == {first["id"]}
    by_account = await listed(
        stack.api, shop.tenant, lambda b: len(b["data"]) >= 2, "by account", account_id=shop.account_id
    )
    assert {r["account_id"] for r in by_account["data"]} == {shop.account_id}
    typed = await listed(
        stack.api,
        shop.tenant,
        lambda b: len(b["data"]) >= 2,
        "by type",
        type="Onboarding",
        status="completed",
    )
    assert {(r["process"], r["status"]) for r in typed["data"]} == {("Onboarding", "completed")}
    none = await listed(stack.api, shop.tenant, lambda b: True, "by type", type="Dunning")
    assert none["data"] == [] and none["next_cursor"] is None and none["has_more"] is False
    failed = await listed(stack.api, shop.tenant, lambda b: True, "failed ones", status="failed")
    assert failed["data"] == []
    # Temporal's clock, not this process's (the calendar step moves Python's): from the processes' own starts
    started = max(datetime.fromisoformat(r["started_at"]) for r in everything["data"])
    future = (started + timedelta(days=1)).isoformat()
    assert (await listed(stack.api, shop.tenant, lambda b: True, "future", started_since=future))[
        "data"
    ] == []
    past = (started - timedelta(hours=1)).isoformat()
    recent = await listed(stack.api, shop.tenant, lambda b: len(b["data"]) >= 2, "recent", started_since=past)
    assert {r["subscription_id"] for r in recent["data"]} >= subs

    # the cursor: pages of one, each process once, the last page without a cursor
    seen: list[str] = []
    params: dict[str, Any] = {"limit": 1, "type": "Onboarding"}
    for _ in range(5):
        resp = await stack.api.get("/v1/processes", params=params, headers=shop.tenant.auth)
        assert resp.status_code == 200, resp.text
        page = resp.json()
        assert len(page["data"]) <= 1
        seen.extend(ids(page))
        if not page["has_more"]:
            break
        params["cursor"] = page["next_cursor"]
    assert len(seen) == len(set(seen)) and {by_sub[s]["id"] for s in subs} <= set(seen)

    # another organisation sees none of them, neither in the list nor one by one
    other = make_operator(database_url)
    theirs = (await stack.api.get("/v1/processes", headers=other.auth)).json()
    assert not ids(theirs) & set(seen)
    # nor does a partner below the operator (it sees its own subtree, not its parent's)
    partner = make_child(database_url, shop.tenant.organisation_id)
    below = (await stack.api.get("/v1/processes", headers=partner.auth)).json()
    assert below["data"] == []
    for caller in (other, partner):
        for process_id in seen:
            hidden = await stack.api.get(f"/v1/processes/{process_id}", headers=caller.auth)
            assert hidden.status_code == 404 and hidden.json()["code"] == "process_not_found"


async def test_a_bad_filter_or_cursor_is_a_422(stack: Stack, shop: Shop) -> None:
    for params, field in (
        ({"status": "sleeping"}, "status"),
        ({"account_id": "sub_01M8P64HPQCZ70WA8KAVN28KTT"}, "account_id"),
        ({"invoice_id": "inv_' OR '1'='1"}, "invoice_id"),
        ({"type": "Onboarding' OR WorkflowType != '"}, "type"),
    ):
        resp = await stack.api.get("/v1/processes", params=params, headers=shop.tenant.auth)
        assert resp.status_code == 422, (params, resp.text)
        assert resp.json()["code"] == "invalid_filter" and resp.json()["field"] == field
    for cursor in ("not-a-cursor", base64.urlsafe_b64encode(b"acc_123").decode()):
        resp = await stack.api.get("/v1/processes", params={"cursor": cursor}, headers=shop.tenant.auth)
        assert resp.status_code == 422 and resp.json()["code"] == "invalid_cursor", resp.text
    bad_time = await stack.api.get(
        "/v1/processes", params={"started_since": "soon"}, headers=shop.tenant.auth
    )
    assert bad_time.status_code == 422


async def test_a_scheduled_downgrade_shows_its_effective_date_and_steps(stack: Stack, shop: Shop) -> None:
    sub = await onboard(stack.api, shop, items=[{"plan": shop.dear}], start_date="2024-01-01", bill_day=1)
    resp = await stack.api.post(
        f"/v1/subscriptions/{sub['id']}/changes",
        headers=shop.tenant.post_headers(),
        json={"type": "change_plan", "plan": shop.cheap, "effective_date": "2090-01-11"},
    )
    assert resp.status_code == 202, resp.text
    process_id = resp.json()["process_id"]
    change = resp.json()["change"]
    assert change["effective_on"] == "2090-02-01"

    async def view() -> dict[str, Any]:
        return dict((await stack.api.get(f"/v1/processes/{process_id}", headers=shop.tenant.auth)).json())

    shown = await eventually_async(
        view, until=lambda v: v.get("step") == "scheduled", timeout=20, what="downgrade scheduled"
    )
    assert shown["status"] == "running" and shown["subscription_id"] == sub["id"]
    assert shown["summary"] == f"Change plan of {sub['id']} to {shop.cheap} on 2090-02-01"
    assert shown["next"] and shown["next"][0]["source"] == "process"
    effective = datetime.fromisoformat(shown["next"][0]["at"])
    assert effective == datetime.fromisoformat(change["run_at"])
    assert effective.date().isoformat() >= "2090-01-31" and "2090-02-01" in shown["next"][0]["what"]
    # the history: the change was recorded (an activity that completed) and a timer waits for the date
    scheduled = [s for s in shown["steps"] if s["kind"] == "activity" and s["name"] == "schedule_change"]
    assert scheduled and scheduled[0]["outcome"] == "completed" and scheduled[0]["attempt"] == 1
    timers = [s for s in shown["steps"] if s["kind"] == "timer"]
    assert timers and timers[0]["outcome"] == "running"
    assert abs(datetime.fromisoformat(timers[0]["fires_at"]) - effective) < timedelta(seconds=30)
    assert shown["failures"] == []
    line = sub["services"][0]["line_id"]
    assert shown["current_details"] == f"change_plan of {sub['id']} ({line}) to {shop.cheap}: scheduled"

    listed_one = await listed(
        stack.api,
        shop.tenant,
        lambda b: process_id in ids(b),
        "the running change",
        subscription_id=sub["id"],
        status="running",
    )
    assert [r["process"] for r in listed_one["data"]] == ["PlanChange"]

    scheduled_changes = (
        await stack.api.get(f"/v1/subscriptions/{sub['id']}", headers=shop.tenant.auth)
    ).json()
    change_id = scheduled_changes["scheduled_changes"][0]["id"]
    cancelled = await stack.api.delete(
        f"/v1/subscriptions/{sub['id']}/changes/{change_id}", headers=shop.tenant.auth
    )
    assert cancelled.status_code == 200
    done = await wait_process(stack.api, shop.tenant, process_id)
    assert done["step"] == "cancelled" and done["next"] == []
    assert any(s["kind"] == "signal" and s["name"] == "cancel" for s in done["steps"])
    assert any(s["kind"] == "timer" and s["outcome"] == "cancelled" for s in done["steps"])


async def test_a_dunning_case_shows_its_dated_plan_and_the_failing_step(
    stack: Stack, database_url: str
) -> None:
    tenant = make_operator(database_url)
    body = person()
    account = await post(stack.api, tenant, "/v1/accounts", body)
    invoice_id = make_invoice(database_url, account["id"], [Line("Fibre", 1000)])
    process_id = process_ids.dunning(invoice_id)
    labels = ProcessLabels(
        process="Dunning",
        summary=f"Dunning of invoice {invoice_id}",
        organisation_id=tenant.organisation_id,
        account_id=account["id"],
        invoice_id=invoice_id,
    )
    ladder = Ladder(
        steps=[
            Step(day=0, actions=["notice:reminder"]),
            Step(day=7, actions=["retry"]),
            Step(day=14, actions=["notice:final", "suspend"]),
        ]
    )
    handle: WorkflowHandle[Any, Any] = await stack.client.start_workflow(
        DunningWorkflow.run,
        DunningInput(
            invoice_id=invoice_id,
            account_id=account["id"],
            organisation_id=tenant.organisation_id,
            ladder=ladder,
        ),
        id=process_id,
        task_queue=stack.task_queue,
        memo=labels.memo(),
        search_attributes=search_attributes(labels),
        static_summary=labels.summary,
    )
    try:

        async def view() -> dict[str, Any]:
            resp = await stack.api.get(f"/v1/processes/{process_id}", headers=tenant.auth)
            return dict(resp.json())

        shown = await eventually_async(
            view,
            until=lambda v: any(f.get("attempt") and f["attempt"] >= 2 for f in v.get("failures", [])),
            timeout=30,
            what="the notice retried",
        )
        assert (shown["process"], shown["status"], shown["step"]) == ("Dunning", "running", "notice:reminder")
        assert shown["invoice_id"] == invoice_id and shown["summary"] == f"Dunning of invoice {invoice_id}"
        # the failing step and its reason
        failure = shown["failures"][0]
        assert failure["step"] == "send_dunning_notice" and REFUSAL in failure["reason"]
        notice = [s for s in shown["steps"] if s["name"] == "send_dunning_notice"]
        assert notice and notice[0]["outcome"] == "retrying" and notice[0]["attempt"] >= 2
        assert REFUSAL in notice[0]["reason"]
        states = [s for s in shown["steps"] if s["name"] == "invoice_state"]
        assert states and states[0]["outcome"] == "completed"
        # what comes next: the ladder's coming steps with their dates, and the notice's next attempt
        started = datetime.fromisoformat(shown["started_at"])
        planned = [
            (datetime.fromisoformat(n["at"]), n["what"]) for n in shown["next"] if n["source"] == "process"
        ]
        assert [what for _, what in planned] == ["day 7: retry", "day 14: notice:final, suspend"]
        for (at, _), days in zip(planned, (7, 14), strict=True):
            assert timedelta(days=days) <= at - started < timedelta(days=days, minutes=1)
        retries = [n for n in shown["next"] if n["source"] == "retry"]
        assert retries and "send_dunning_notice" in retries[0]["what"]
        assert shown["current_details"] == f"Dunning of invoice {invoice_id}: notice:reminder"
        # no personal data in what the Temporal UI shows
        shown_text = f"{shown['summary']} {shown['current_details']}"
        for personal in (body["given_name"], body["family_name"], body["email"]):
            assert personal not in shown_text

        found = await listed(
            stack.api, tenant, lambda b: process_id in ids(b), "the dunning case", invoice_id=invoice_id
        )
        assert [(r["process"], r["status"]) for r in found["data"]] == [("Dunning", "running")]
    finally:
        await handle.terminate("test over")

    ended = await eventually_async(
        lambda: stack.api.get(f"/v1/processes/{process_id}", headers=tenant.auth),
        until=lambda r: r.json()["status"] == "terminated",
        timeout=10,
        what="terminated",
    )
    body_ended = ended.json()
    assert body_ended["next"] == []
    assert any(s["outcome"] == "abandoned" for s in body_ended["steps"])


def add_outlets(database_url: str, operator_id: str, count: int) -> None:
    """``count`` outlets right below the operator, inserted in one statement (fast)."""
    with unit_of_work(database_url) as session:
        path = session.execute(
            text("SELECT path FROM organisations WHERE id = :id"), {"id": operator_id}
        ).scalar_one()
        rows = [
            {"id": org, "parent": operator_id, "name": f"outlet {n}", "path": f"{path}{org}/"}
            for n, org in enumerate(new_ids("org", count))
        ]
        session.execute(
            text(
                "INSERT INTO organisations (id, parent_id, kind, name, path, country, rounding_mode, "
                "created_at) VALUES (:id, :parent, 'outlet', :name, :path, 'ES', 'half_up', now())"
            ),
            rows,
        )


async def test_an_operator_with_more_outlets_than_a_query_names_lists_an_outlets_process(
    settings: Settings, dev_env: Any, database_url: str
) -> None:
    """Above ``MAX_ORGANISATIONS`` the subtree is listed by ``OrganisationPath``: no 422, the outlet's
    process is there; the outlet itself, a sibling outlet and another operator see only their own."""
    operator = make_operator(database_url)
    add_outlets(database_url, operator.organisation_id, MAX_ORGANISATIONS)
    outlet = make_child(database_url, operator.organisation_id, kind=OrganisationKind.OUTLET)
    sibling = make_child(database_url, operator.organisation_id, kind=OrganisationKind.OUTLET)
    other = make_operator(database_url)
    # no worker polls this queue: the process stays running, listed, until the test ends it
    idle = settings.model_copy(update={"task_queue": f"idle-{uuid.uuid4().hex[:8]}"})
    process_id = f"orgpath-{uuid.uuid4().hex}"
    labels = ProcessLabels(
        process="AccountVerification", summary="test", organisation_id=outlet.organisation_id
    )
    request = VerificationInput(
        account_id="acc_01M8P64HPQ9FH2FKBFGN6183RW",
        organisation_id=outlet.organisation_id,
        email="nobody@example.com",
        display_name="Test",
    )
    start = ProcessStart(AccountVerificationWorkflow.run, request, process_id, labels)
    await start_process(dev_env.client, idle, start)
    app = create_app(idle, temporal_client=dev_env.client)
    try:
        described = await dev_env.client.get_workflow_handle(process_id).describe()
        path = described.typed_search_attributes.get(ORGANISATION_PATH)
        assert path is not None and path.endswith(f"/{operator.organisation_id}/{outlet.organisation_id}/")
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as api:
            for caller in (operator, outlet):
                found = await listed(api, caller, lambda b: process_id in ids(b), "the outlet's process")
                row = next(r for r in found["data"] if r["id"] == process_id)
                assert row["organisation_id"] == outlet.organisation_id
            for caller in (sibling, other):
                theirs = (await api.get("/v1/processes", headers=caller.auth)).json()
                assert process_id not in ids(theirs)
    finally:
        await dev_env.client.get_workflow_handle(process_id).terminate("test over")


@workflow.defn(name="OrgPathChildTest")
class PathChild:
    @workflow.run
    async def run(self, organisation_id: str) -> str:
        return organisation_id


@workflow.defn(name="OrgPathParentTest")
class PathParent:
    @workflow.run
    async def run(self, ids: list[str]) -> None:
        """Start a child of its own organisation (``ids[1]``) and one of another (``ids[2]``)."""
        for child_id, organisation_id in ((ids[0] + "-same", ids[1]), (ids[0] + "-other", ids[2])):
            labels = ProcessLabels(
                process="OrgPathChildTest", summary="child", organisation_id=organisation_id
            )
            child = await start_child(PathChild.run, organisation_id, id=child_id, labels=labels)
            await child


async def test_a_child_of_the_parents_organisation_carries_its_path(
    settings: Settings, dev_env: Any, database_url: str
) -> None:
    operator = make_operator(database_url)
    other = make_operator(database_url)
    queue = settings.model_copy(update={"task_queue": f"orgpath-{uuid.uuid4().hex[:8]}"})
    parent_id = f"orgpath-parent-{uuid.uuid4().hex}"
    labels = ProcessLabels(
        process="OrgPathParentTest", summary="parent", organisation_id=operator.organisation_id
    )
    ids_ = [parent_id, operator.organisation_id, other.organisation_id]
    async with Worker(
        dev_env.client,
        task_queue=queue.task_queue,
        workflows=[PathParent, PathChild],
        workflow_runner=UnsandboxedWorkflowRunner(),
    ):
        await start_process(dev_env.client, queue, ProcessStart(PathParent.run, ids_, parent_id, labels))
        await dev_env.client.get_workflow_handle(parent_id).result()
    parent = await dev_env.client.get_workflow_handle(parent_id).describe()
    path = parent.typed_search_attributes.get(ORGANISATION_PATH)
    assert path == f"/{operator.organisation_id}/"
    same = await dev_env.client.get_workflow_handle(parent_id + "-same").describe()
    assert same.typed_search_attributes.get(ORGANISATION_PATH) == path
    elsewhere = await dev_env.client.get_workflow_handle(parent_id + "-other").describe()
    assert elsewhere.typed_search_attributes.get(ORGANISATION_PATH) is None
