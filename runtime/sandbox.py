"""The workflow sandbox the worker runs workflows in: temporalio's own, with its snippets compiled once.

temporalio's ``SandboxedWorkflowRunner`` enters and leaves its sandbox by ``exec`` of a short source
snippet (one to activate a workflow, one to find the serialization context of each payload the
workflow sends, one to create an instance). ``exec`` of a string compiles it on every call: ~20 µs
each, several per workflow task, ~4% of the worker's CPU in an onboarding (py-spy of the worker under
``bench.onboarding``, 2026-12-01). The snippets are a handful of fixed strings, so each is compiled
once here and ``exec`` is given the code object. Everything else is the SDK's sandbox unchanged: the
same restrictions, the same fresh import of the workflow's module per run, the same determinism
checks; the stored-history replays in tests run through it (``workflow_runner()``).
"""

from __future__ import annotations

from functools import lru_cache
from types import CodeType
from typing import Any

from temporalio.worker import WorkflowInstance, WorkflowInstanceDetails
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner
from temporalio.worker.workflow_sandbox import _runner as sdk_runner


@lru_cache(maxsize=512)
def compiled(source: str) -> CodeType:
    """``source`` compiled as ``exec`` would compile it (no future flags: the snippets use none)."""
    return compile(source, "<string>", "exec", dont_inherit=True)


class _Instance(sdk_runner._Instance):
    """The SDK's sandboxed instance; its snippets run from their compiled code."""

    def _run_code(self, code: str, **extra_globals: Any) -> None:
        # the SDK hands ``code`` to ``exec``, which takes a code object as it takes a string (typed
        # ``str`` there); tests/workflows/test_sandbox_runner.py checks the SDK still does
        super()._run_code(compiled(code), **extra_globals)  # type: ignore[arg-type]


class CompiledSandboxRunner(SandboxedWorkflowRunner):
    """``SandboxedWorkflowRunner`` whose instances compile each sandbox snippet once per process."""

    def create_instance(self, det: WorkflowInstanceDetails) -> WorkflowInstance:
        return _Instance(det, self.runner_class, self.restrictions)


def workflow_runner() -> SandboxedWorkflowRunner:
    """The runner of every Multibill worker and replayer (production, tests, benches, `multibill replay`)."""
    return CompiledSandboxRunner()
