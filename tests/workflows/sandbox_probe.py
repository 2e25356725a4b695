"""Two workflows for tests/workflows/test_sandbox_runner.py: one that keeps to the sandbox's rules, one
that reads the wall clock (which the sandbox must refuse). Only temporalio and the standard library, so
the sandbox's fresh import of this module per run stays small."""

from datetime import UTC, datetime

from temporalio import workflow


@workflow.defn(name="SandboxProbeDeterministic")
class DeterministicProbe:
    @workflow.run
    async def run(self, name: str) -> str:
        return f"{name} by {workflow.info().workflow_type}"  # no clock: replays alike on any day


@workflow.defn(name="SandboxProbeWallClock")
class WallClockProbe:
    @workflow.run
    async def run(self, name: str) -> str:
        return f"{name} at {datetime.now(UTC).isoformat()}"  # refused by the sandbox: never returns
