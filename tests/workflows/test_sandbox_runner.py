"""The worker's workflow runner (runtime/sandbox.py): temporalio's sandbox with each of its snippets
compiled once. It still runs workflows, still refuses what the sandbox refuses, and compiles a snippet
once however many workflow tasks run it."""

from __future__ import annotations

import uuid

import pytest
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import RestrictedWorkflowAccessError, SandboxRestrictions

from runtime.sandbox import compiled, workflow_runner
from tests.workflows.sandbox_probe import DeterministicProbe, WallClockProbe


def test_the_runner_keeps_the_default_restrictions() -> None:
    assert workflow_runner().restrictions == SandboxRestrictions.default


def test_a_snippet_is_compiled_once() -> None:
    source = "__probe_value = 6 * 7\n"
    assert compiled(source) is compiled(source)
    scope: dict[str, object] = {}
    exec(compiled(source), scope, scope)  # noqa: S102 (a constant snippet, as the sandbox runs)
    assert scope["__probe_value"] == 42


async def test_workflows_run_and_the_wall_clock_is_refused(time_skipping_env: WorkflowEnvironment) -> None:
    client = time_skipping_env.client
    queue = f"sandbox-{uuid.uuid4().hex[:8]}"
    async with Worker(
        client,
        task_queue=queue,
        workflows=[DeterministicProbe, WallClockProbe],
        workflow_runner=workflow_runner(),
        workflow_failure_exception_types=[RestrictedWorkflowAccessError],
    ):
        before = compiled.cache_info()
        results = [
            await client.execute_workflow(
                DeterministicProbe.run, f"run {n}", id=f"{queue}-{n}", task_queue=queue
            )
            for n in range(3)
        ]
        after = compiled.cache_info()
        with pytest.raises(WorkflowFailureError) as refused:
            await client.execute_workflow(WallClockProbe.run, "clock", id=f"{queue}-clock", task_queue=queue)
    assert results == [f"run {n} by SandboxProbeDeterministic" for n in range(3)]
    # three runs of the same workflow: the later ones find every snippet compiled already
    assert after.hits - before.hits >= 2 * 3
    assert after.misses - before.misses <= 4
    cause = refused.value.cause
    assert isinstance(cause, ApplicationError)
    assert cause.type == "RestrictedWorkflowAccessError"
    assert "datetime.datetime.now" in str(cause)
