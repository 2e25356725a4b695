"""Replay every stored history with today's workflow code: an incompatible change fails here.

The first run records ``histories/account_verification_confirmed.json``; commit it and keep it. Add
histories exported from the Temporal UI or CLI (``temporal workflow show -o json``) to this folder too.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from domain.verification import workflow_id_for
from runtime.settings import Settings
from runtime.worker import WORKFLOWS
from tests.conftest import SmtpSink
from tests.workflows._verification import make_account, running_worker, verification_input
from workflows.account_verification import AccountVerificationWorkflow

HISTORIES = Path(__file__).parent / "histories"
CONFIRMED = HISTORIES / "account_verification_confirmed.json"


async def record_confirmed_history(
    env: WorkflowEnvironment, settings: Settings, smtp: SmtpSink
) -> WorkflowHistory:
    account = make_account(settings.database_url or "")
    async with running_worker(env.client, settings) as queue_settings:
        handle = await env.client.start_workflow(
            AccountVerificationWorkflow.run,
            verification_input(account),
            id=workflow_id_for(account.id),
            task_queue=queue_settings.task_queue,
        )
        await smtp.wait_for(account.email)
        await handle.signal(AccountVerificationWorkflow.confirm)
        assert (await handle.result()).outcome == "verified"
        return await handle.fetch_history()


def stored_histories() -> list[WorkflowHistory]:
    return [
        WorkflowHistory.from_json(path.stem, path.read_text()) for path in sorted(HISTORIES.glob("*.json"))
    ]


async def replay(histories: list[WorkflowHistory]) -> int:
    async def iterate() -> AsyncIterator[WorkflowHistory]:
        for history in histories:
            yield history

    replayer = Replayer(workflows=WORKFLOWS, data_converter=pydantic_data_converter)
    results = await replayer.replay_workflows(iterate())
    assert results.replay_failures == {}
    return len(histories)


async def test_current_and_stored_histories_replay(
    time_skipping_env: WorkflowEnvironment, settings: Settings, smtp_server: SmtpSink
) -> None:
    fresh = await record_confirmed_history(time_skipping_env, settings, smtp_server)
    if not CONFIRMED.exists():
        CONFIRMED.parent.mkdir(exist_ok=True)
        CONFIRMED.write_text(fresh.to_json() + "\n")
    stored = stored_histories()
    assert CONFIRMED.stem in [history.workflow_id for history in stored]
    assert await replay([fresh, *stored]) == len(stored) + 1
