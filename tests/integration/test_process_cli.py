"""`multibill processes` against the Temporal dev server: list, show, replay, reset, retry, cancel.

The CLI runs in-process (typer's CliRunner, on a thread of its own: it runs its own event loop while the
session loop keeps the test's worker going) and once as a subprocess (the exit code a CI job sees). The
processes are a small onboarding-like workflow whose provisioning step fails while ``PROVISIONING`` is
down, labelled with the platform's search attributes; ``replay`` also runs on the real stored histories.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from pydantic import BaseModel
from temporalio import activity, workflow
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowFailureError, WorkflowHandle
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker
from typer.testing import CliRunner, Result

from domain.process_ids import ProcessLabels
from integrations.provisioning.base import ProvisioningRequest, ProvisioningResult
from runtime.cli import app
from runtime.history_markers import local_activity
from runtime.process_ops import DEFAULT_HISTORIES, steps_of, stored_histories
from runtime.worker import WORKFLOWS
from tests.support.eventually import eventually_async
from tests.support.factories import make_operator
from tests.support.subscription_support import Stack, make_shop, wait_process
from workflows.account_verification import AccountVerificationWorkflow
from workflows.common import SUBSCRIPTION_ID, search_attributes

pytestmark = pytest.mark.temporal

PROVISIONING = {"up": False}
CALLS: Counter[str] = Counter()


class CliOrder(BaseModel):
    subscription_id: str
    account_id: str
    persistent: bool = False


@activity.defn(name="cli_test_create")
async def create_step(order: CliOrder) -> str:
    CALLS[f"create:{order.subscription_id}"] += 1
    return order.subscription_id


@activity.defn(name="cli_test_provision")
async def provision_step(order: CliOrder) -> str:
    CALLS[f"provision:{order.subscription_id}"] += 1
    if not PROVISIONING["up"]:
        raise ApplicationError("provisioning platform unavailable: connection refused")
    return "provisioned"


@workflow.defn(name="CliTestOnboarding", sandboxed=False)
class CliOnboarding:
    @workflow.run
    async def run(self, order: CliOrder) -> str:
        await workflow.execute_activity(create_step, order, start_to_close_timeout=timedelta(seconds=10))
        attempts = None if order.persistent else 2
        await workflow.execute_activity(
            provision_step,
            order,
            start_to_close_timeout=timedelta(seconds=10),
            retry_policy=RetryPolicy(
                initial_interval=timedelta(milliseconds=200),
                maximum_interval=timedelta(seconds=1),
                maximum_attempts=attempts or 0,
            ),
        )
        return f"active {order.subscription_id}"


@workflow.defn(name="CliTestOnboarding", sandboxed=False)
class CliOnboardingChanged:
    """The same type with a step inserted first: its old histories no longer replay."""

    @workflow.run
    async def run(self, order: CliOrder) -> str:
        await workflow.sleep(timedelta(seconds=1))
        await workflow.execute_activity(create_step, order, start_to_close_timeout=timedelta(seconds=10))
        return f"active {order.subscription_id}"


@workflow.defn(name="AccountVerification", sandboxed=False)
class BrokenVerification:
    """A deliberately incompatible AccountVerification: it waits on a timer before anything else."""

    @workflow.run
    async def run(self, order: object) -> str:
        await workflow.sleep(timedelta(days=1))
        return "changed"


CLI_WORKFLOWS = [CliOnboarding]
CHANGED_CLI_WORKFLOWS = [CliOnboardingChanged]
CHANGED_WORKFLOWS = [BrokenVerification if cls is AccountVerificationWorkflow else cls for cls in WORKFLOWS]
HERE = "tests.integration.test_process_cli"


@pytest.fixture(scope="module")
async def cli_queue(dev_env: WorkflowEnvironment) -> AsyncIterator[str]:
    queue = f"cli-test-{uuid.uuid4().hex}"
    worker = Worker(
        dev_env.client,
        task_queue=queue,
        workflows=[CliOnboarding],
        activities=[create_step, provision_step],
    )
    async with worker:
        yield queue


@pytest.fixture
def address(dev_env: WorkflowEnvironment) -> str:
    return dev_env.client.service_client.config.target_host


async def cli(address: str, *args: str) -> Result:
    """``multibill processes --address ADDRESS ARGS…`` in-process, on a thread with its own event loop."""
    runner = CliRunner(env={"COLUMNS": "250"})  # tables fold long ids at rich's default 80
    return await asyncio.to_thread(runner.invoke, app, ["processes", "--address", address, *args])


async def start(
    client: Client, queue: str, *, persistent: bool = False, account: str | None = None
) -> tuple[WorkflowHandle[CliOnboarding, str], CliOrder]:
    order = CliOrder(
        subscription_id=f"sub_{uuid.uuid4().hex[:12]}",
        account_id=account or f"acc_{uuid.uuid4().hex[:12]}",
        persistent=persistent,
    )
    labels = ProcessLabels(
        process="CliTestOnboarding",
        summary=f"Onboarding of {order.subscription_id}",
        organisation_id="org_cli",
        account_id=order.account_id,
        subscription_id=order.subscription_id,
    )
    handle = await client.start_workflow(
        CliOnboarding.run,
        order,
        id=f"onboarding-{order.subscription_id}",
        task_queue=queue,
        search_attributes=search_attributes(labels, "/org_cli/"),
        memo=labels.memo(),
        static_summary=labels.summary,
    )
    return handle, order


async def failed(handle: WorkflowHandle[CliOnboarding, str]) -> None:
    with pytest.raises(WorkflowFailureError):
        await asyncio.wait_for(handle.result(), timeout=30)


async def listed(address: str, *args: str, until_ids: set[str]) -> list[dict[str, object]]:
    """``list --json`` once the visibility store shows ``until_ids`` (it lags behind a start)."""

    async def probe() -> list[dict[str, object]]:
        result = await cli(address, "list", "--json", *args)
        assert result.exit_code == 0, result.output
        rows: list[dict[str, object]] = json.loads(result.stdout)
        return rows

    return await eventually_async(
        probe, until=lambda rows: until_ids <= {str(r["id"]) for r in rows}, what=f"list {args}"
    )


async def test_show_a_failed_onboarding_then_reset_it_to_its_last_good_step(
    dev_env: WorkflowEnvironment, cli_queue: str, address: str
) -> None:
    PROVISIONING["up"] = False
    handle, order = await start(dev_env.client, cli_queue)
    await failed(handle)

    shown = await cli(address, "show", handle.id)
    assert shown.exit_code == 0, shown.output
    assert "Failed" in shown.stdout
    assert f"Onboarding of {order.subscription_id}" in shown.stdout
    assert "provisioning platform unavailable" in shown.stdout
    detail = json.loads((await cli(address, "show", handle.id, "--json")).stdout)
    assert detail["row"]["status"] == "Failed"
    assert detail["row"]["subscription_id"] == order.subscription_id
    steps = {(s["name"], s["outcome"], s["attempt"]) for s in detail["steps"] if s["kind"] == "activity"}
    assert steps == {("cli_test_create", "completed", 1), ("cli_test_provision", "failed", 2)}

    PROVISIONING["up"] = True
    try:
        reset = await cli(address, "reset", handle.id, "--reason", "provisioning fixed (INC-42)", "--json")
        assert reset.exit_code == 0, reset.output
        answer = json.loads(reset.stdout)
        assert answer["new_run_id"] != answer["old_run_id"]
        assert "INC-42" in answer["reason"]
        result = await asyncio.wait_for(dev_env.client.get_workflow_handle(handle.id).result(), timeout=30)
    finally:
        PROVISIONING["up"] = False
    assert result == f"active {order.subscription_id}"
    assert CALLS[f"create:{order.subscription_id}"] == 1  # resumed after its last good step
    history = await dev_env.client.get_workflow_handle(handle.id).fetch_history()
    assert "INC-42" in history.to_json()  # the reason is in the new run's history


async def test_retry_starts_a_failed_process_again_with_its_input_and_refuses_a_running_one(
    dev_env: WorkflowEnvironment, cli_queue: str, address: str
) -> None:
    PROVISIONING["up"] = False
    handle, order = await start(dev_env.client, cli_queue)
    await failed(handle)

    PROVISIONING["up"] = True
    try:
        retried = await cli(address, "retry", handle.id)
        assert retried.exit_code == 0, retried.output
        assert f"Started again: CliTestOnboarding {handle.id}, run" in retried.stdout
        again = dev_env.client.get_workflow_handle(handle.id)
        assert await asyncio.wait_for(again.result(), timeout=30) == f"active {order.subscription_id}"
    finally:
        PROVISIONING["up"] = False
    assert CALLS[f"create:{order.subscription_id}"] == 2  # from the beginning, with the original input
    described = await again.describe()
    assert await described.static_summary() == f"Onboarding of {order.subscription_id}"
    rows = await listed(address, "--subscription", order.subscription_id, until_ids={handle.id})
    assert {r["status"] for r in rows if r["run_id"] == described.run_id} == {"Completed"}

    running, _ = await start(dev_env.client, cli_queue, persistent=True)
    try:
        refused = await cli(address, "retry", running.id)
        assert refused.exit_code == 1
        assert "still running" in refused.output
        completed = await cli(address, "retry", handle.id)
        assert completed.exit_code == 1
        assert "nothing to retry" in completed.output
    finally:
        await running.terminate(reason="test over")


async def test_a_stuck_process_shows_its_pending_attempts_and_can_be_cancelled_or_terminated(
    dev_env: WorkflowEnvironment, cli_queue: str, address: str
) -> None:
    PROVISIONING["up"] = False
    handle, order = await start(dev_env.client, cli_queue, persistent=True)

    async def pending() -> dict[str, object]:
        result = await cli(address, "show", handle.id, "--json")
        assert result.exit_code == 0, result.output
        detail: dict[str, object] = json.loads(result.stdout)
        return detail

    detail = await eventually_async(
        pending,
        until=lambda d: any(a["attempt"] >= 2 and a["last_failure"] for a in d["pending_activities"]),  # type: ignore[attr-defined]
        what="a pending provisioning attempt with its failure",
        timeout=20,
    )
    [activity_row] = detail["pending_activities"]  # type: ignore[misc]
    assert activity_row["name"] == "cli_test_provision"
    assert "provisioning platform unavailable" in activity_row["last_failure"]
    table = await cli(address, "show", handle.id)
    assert "Pending activities" in table.stdout and "cli_test_provision" in table.stdout

    cancelled = await cli(address, "cancel", handle.id)
    assert cancelled.exit_code == 0, cancelled.output
    assert "Cancel requested" in cancelled.stdout
    with pytest.raises(WorkflowFailureError):
        await asyncio.wait_for(handle.result(), timeout=30)
    assert (await handle.describe()).status == WorkflowExecutionStatus.CANCELED
    again = await cli(address, "cancel", handle.id)
    assert again.exit_code == 1 and "not running" in again.output

    stuck, _ = await start(dev_env.client, cli_queue, persistent=True, account=order.account_id)
    no_reason = await cli(address, "cancel", stuck.id, "--terminate")
    assert no_reason.exit_code == 2 and "--reason" in no_reason.output
    terminated = await cli(address, "cancel", stuck.id, "--terminate", "--reason", "duplicate order")
    assert terminated.exit_code == 0, terminated.output
    described = await stuck.describe()
    assert described.status == WorkflowExecutionStatus.TERMINATED
    assert "duplicate order" in (await stuck.fetch_history()).to_json()


async def test_reset_of_a_stuck_process_goes_back_before_the_retrying_step(
    dev_env: WorkflowEnvironment, cli_queue: str, address: str
) -> None:
    PROVISIONING["up"] = False
    handle, order = await start(dev_env.client, cli_queue, persistent=True)
    await eventually_async(
        lambda: handle.describe(),
        until=lambda d: any(p.attempt >= 2 for p in d.raw_description.pending_activities),
        what="provisioning retrying",
        timeout=20,
    )
    PROVISIONING["up"] = True
    try:
        reset = await cli(address, "reset", handle.id, "--reason", "platform back", "--json")
        assert reset.exit_code == 0, reset.output
        assert "still retrying" in json.loads(reset.stdout)["why"]
        result = await asyncio.wait_for(dev_env.client.get_workflow_handle(handle.id).result(), timeout=30)
    finally:
        PROVISIONING["up"] = False
    assert result == f"active {order.subscription_id}"
    assert CALLS[f"create:{order.subscription_id}"] == 1


async def test_list_filters_by_the_search_attributes_status_type_and_start(
    dev_env: WorkflowEnvironment, cli_queue: str, address: str
) -> None:
    PROVISIONING["up"] = False
    account = f"acc_{uuid.uuid4().hex[:12]}"
    done, order = await start(dev_env.client, cli_queue, account=account)
    await failed(done)
    running, _ = await start(dev_env.client, cli_queue, persistent=True, account=account)
    try:
        both = await listed(address, "--account", account, "--since", "1h", until_ids={done.id, running.id})
        assert {r["id"] for r in both} == {done.id, running.id}
        assert {r["process"] for r in both} == {"CliTestOnboarding"}
        failed_only = await listed(address, "--account", account, "--status", "failed", until_ids={done.id})
        assert [r["id"] for r in failed_only] == [done.id]
        subtree = await listed(
            address, "--organisation", "/org_cli/", "--account", account, until_ids={done.id}
        )
        assert {r["id"] for r in subtree} == {done.id, running.id}
        elsewhere = await cli(
            address, "list", "--organisation", "/org_other/", "--account", account, "--json"
        )
        assert json.loads(elsewhere.stdout) == []
        by_sub = await listed(
            address,
            "--subscription",
            order.subscription_id,
            "--type",
            "CliTestOnboarding",
            until_ids={done.id},
        )
        assert [r["id"] for r in by_sub] == [done.id]
        none_since = await cli(address, "list", "--account", account, "--since", "2999-01-01", "--json")
        assert json.loads(none_since.stdout) == []
        table = await cli(address, "list", "--account", account)
        assert done.id in table.stdout and "Failed" in table.stdout
        bad = await cli(address, "list", "--status", "sleeping")
        assert bad.exit_code == 2 and "not a status" in bad.output
    finally:
        await running.terminate(reason="test over")


async def test_replay_of_the_stored_histories_passes_with_the_current_code(address: str) -> None:
    result = await cli(address, "replay")
    assert result.exit_code == 0, result.output
    assert "histories replay against runtime.worker:WORKFLOWS" in result.stdout


async def test_replay_catches_an_incompatible_change_and_names_the_workflow(address: str) -> None:
    result = await cli(address, "replay", "--workflows", f"{HERE}:CHANGED_WORKFLOWS", "--json")
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    failed_ids = {f["workflow_id"] for f in report["failed"]}
    assert failed_ids == {
        "account_verification_confirmed",
        "account_verification_expired",
        "account_verification_rejected_email",
    }
    assert all("Nondeterminism error" in f["error"] for f in report["failed"])
    table = await cli(address, "replay", "--workflows", f"{HERE}:CHANGED_WORKFLOWS")
    assert table.exit_code == 1
    assert "account_verification_confirmed" in table.stdout
    assert "3 of" in table.stdout


async def test_live_replay_checks_the_servers_histories_against_the_code(
    dev_env: WorkflowEnvironment, cli_queue: str, address: str
) -> None:
    PROVISIONING["up"] = True
    try:
        handle, order = await start(dev_env.client, cli_queue)
        await asyncio.wait_for(handle.result(), timeout=30)
    finally:
        PROVISIONING["up"] = False
    await listed(
        address, "--subscription", order.subscription_id, "--status", "Completed", until_ids={handle.id}
    )
    filters = ["--live", "--subscription", order.subscription_id]
    same = await cli(address, "replay", *filters, "--workflows", f"{HERE}:CLI_WORKFLOWS")
    assert same.exit_code == 0, same.output
    changed = await cli(address, "replay", *filters, "--workflows", f"{HERE}:CHANGED_CLI_WORKFLOWS")
    assert changed.exit_code == 1, changed.output
    assert handle.id in changed.stdout


async def test_an_unreachable_temporal_says_how_to_fix_it_with_exit_code_2() -> None:
    result = await cli("127.0.0.1:1", "list")
    assert result.exit_code == 2
    assert "cannot reach Temporal at 127.0.0.1:1" in result.output
    assert "TEMPORAL_ADDRESS" in result.output
    missing = await cli("127.0.0.1:1", "show", "x")
    assert missing.exit_code == 2


async def test_an_unknown_namespace_is_named_with_exit_code_2(address: str) -> None:
    runner = CliRunner()
    args = ["processes", "--address", address, "--namespace", "nowhere", "list"]
    result = await asyncio.to_thread(runner.invoke, app, args)
    assert result.exit_code == 2
    assert "no namespace 'nowhere'" in result.output and "MULTIBILL_TEMPORAL_NAMESPACE" in result.output


async def test_reset_to_a_chosen_event_and_retry_under_a_new_id(
    dev_env: WorkflowEnvironment, cli_queue: str, address: str
) -> None:
    PROVISIONING["up"] = False
    handle, order = await start(dev_env.client, cli_queue)
    await failed(handle)
    history = await handle.fetch_history()
    first_task = next(
        e.event_id for e in history.events if e.HasField("workflow_task_completed_event_attributes")
    )
    not_a_task = await cli(address, "reset", handle.id, "--reason", "x", "--event-id", "1")
    assert not_a_task.exit_code == 2
    assert f"reset to one of the WorkflowTaskCompleted events: {first_task}" in not_a_task.output

    PROVISIONING["up"] = True
    try:
        reset = await cli(
            address, "reset", handle.id, "--reason", "from the top", "--event-id", str(first_task)
        )
        assert reset.exit_code == 0, reset.output
        assert f"to event {first_task}" in reset.stdout
        latest = dev_env.client.get_workflow_handle(handle.id)
        assert await asyncio.wait_for(latest.result(), timeout=30) == f"active {order.subscription_id}"
        assert CALLS[f"create:{order.subscription_id}"] == 2  # reset before the first step: it ran again

        PROVISIONING["up"] = False
        other, other_order = await start(dev_env.client, cli_queue)
        await failed(other)
        PROVISIONING["up"] = True
        copy_id = f"{other.id}:copy"
        copied = await cli(address, "retry", other.id, "--new-id", copy_id, "--json")
        assert copied.exit_code == 0, copied.output
        assert json.loads(copied.stdout)["workflow_id"] == copy_id
        copy = dev_env.client.get_workflow_handle(copy_id)
        assert await asyncio.wait_for(copy.result(), timeout=30) == f"active {other_order.subscription_id}"
        labels = (await copy.describe()).typed_search_attributes
        assert labels.get(SUBSCRIPTION_ID) == other_order.subscription_id  # found by the same filters
    finally:
        PROVISIONING["up"] = False


async def test_the_command_line_exit_codes_as_a_ci_job_sees_them(address: str) -> None:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "runtime.cli", "processes", "--address", address, *args],
            capture_output=True,
            text=True,
            timeout=120,
        )

    listed_ok = await asyncio.to_thread(run, "list", "--limit", "1", "--json")
    assert listed_ok.returncode == 0, listed_ok.stderr
    assert isinstance(json.loads(listed_ok.stdout), list)
    unknown = await asyncio.to_thread(run, "show", f"onboarding-sub_{uuid.uuid4().hex}")
    assert unknown.returncode == 1, unknown.stderr
    assert "no process" in unknown.stderr
    changed = await asyncio.to_thread(run, "replay", "--workflows", f"{HERE}:CHANGED_WORKFLOWS")
    assert changed.returncode == 1, changed.stderr
    assert "account_verification_expired" in changed.stdout


def test_the_steps_of_every_stored_history_read_as_steps() -> None:
    """``show``'s reading of a history, on every kind of process the platform runs (activities, local
    activities, timers, children, signals, failures): each activity scheduled or local activity recorded is
    one step with an outcome."""
    for loaded in stored_histories([DEFAULT_HISTORIES]):
        assert loaded.history is not None, loaded.error
        steps = steps_of(loaded.history.events)
        scheduled = [
            e
            for e in loaded.history.events
            if e.HasField("activity_task_scheduled_event_attributes") or local_activity(e) is not None
        ]  # local activities (Onboarding's database steps) leave a marker instead
        activities = [s for s in steps if s.kind == "activity"]
        assert len(activities) == len(scheduled), loaded.workflow_id
        assert steps[0].name == "started", loaded.workflow_id
    billing = stored_histories([DEFAULT_HISTORIES / "billing_cycle_pages_2.json"])[0].history
    assert billing is not None
    children = [s for s in steps_of(billing.events) if s.kind == "child"]
    assert children and children[0].name.startswith("Collection ")
    assert children[0].outcome == "running"  # started and abandoned: the bill run does not wait for it


async def test_a_real_onboarding_while_provisioning_is_down_is_found_and_shown_with_its_attempts(
    stack: Stack, database_url: str, address: str
) -> None:
    """docs/operations.md's first incident on the platform's own Onboarding: the broadband platform
    answers "connection refused" (retryable), the operator finds the process by subscription, sees the
    attempts and the failure, and once the platform is back the next attempt completes the onboarding."""
    shop = await make_shop(stack.api, make_operator(database_url))
    down = {"on": True}
    record = stack.broadband.execute

    def flaky(request: ProvisioningRequest) -> ProvisioningResult:
        if down["on"]:
            return ProvisioningResult(
                status="failed", detail="radius-test: connection refused", retryable=True
            )
        return record(request)

    stack.broadband.execute = flaky  # type: ignore[method-assign]
    body = {"account_id": shop.account_id, "items": [{"plan": shop.cheap}], "start_date": "2024-01-01"}
    started = await stack.api.post("/v1/subscriptions", json=body, headers=shop.tenant.post_headers())
    assert started.status_code == 202, started.text
    process_id, sub_id = started.json()["process_id"], started.json()["subscription_id"]

    [row] = await listed(address, "--subscription", sub_id, until_ids={process_id})
    assert (row["type"], row["status"], row["account_id"]) == ("Onboarding", "Running", shop.account_id)

    async def shown() -> dict[str, Any]:
        result = await cli(address, "show", process_id, "--json")
        assert result.exit_code == 0, result.output
        detail: dict[str, Any] = json.loads(result.stdout)
        return detail

    detail = await eventually_async(
        shown,
        until=lambda d: any(a["attempt"] >= 2 for a in d["pending_activities"]),
        what="provision_service retrying",
        timeout=20,
    )
    [pending] = detail["pending_activities"]
    assert pending["name"] == "provision_service" and pending["maximum_attempts"] == 5
    assert "connection refused" in pending["last_failure"]
    done = [s["name"] for s in detail["steps"] if s["kind"] == "activity" and s["outcome"] == "completed"]
    assert done == ["open_subscription"]  # the subscription and its activation charges

    down["on"] = False
    finished = await wait_process(stack.api, shop.tenant, process_id)
    assert finished["status"] == "completed"
    sub = (await stack.api.get(f"/v1/subscriptions/{sub_id}", headers=shop.tenant.auth)).json()
    assert sub["status"] == "active"
    final = await shown()
    assert final["row"]["status"] == "Completed" and final["pending_activities"] == []
