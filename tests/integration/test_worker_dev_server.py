"""run_worker against the Temporal dev server: registers search attributes, runs a verification."""

from __future__ import annotations

import asyncio
import uuid
from contextlib import suppress

from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.testing import WorkflowEnvironment

from domain import process_ids
from runtime.settings import Settings
from runtime.temporal import ACCOUNT_ID, ORGANISATION_ID, PROCESS
from runtime.worker import run_worker
from tests.support.smtp import SmtpSink
from tests.workflows._verification import load_account, make_account, verification_input
from workflows.account_verification import AccountVerificationWorkflow, VerificationResult


async def test_run_worker_verifies_an_account_on_the_dev_server(
    dev_env: WorkflowEnvironment, settings: Settings, smtp_server: SmtpSink
) -> None:
    target = dev_env.client.service_client.config.target_host
    worker_settings = settings.model_copy(
        update={"temporal_address": target, "task_queue": f"test-{uuid.uuid4().hex}"}
    )
    account = make_account(settings.database_url or "")
    worker = asyncio.create_task(run_worker(worker_settings))
    try:
        handle = await dev_env.client.start_workflow(
            AccountVerificationWorkflow.run,
            verification_input(account),
            id=process_ids.account_verification(account.id),
            task_queue=worker_settings.task_queue,
            search_attributes=TypedSearchAttributes(
                [
                    SearchAttributePair(ACCOUNT_ID, account.id),
                    SearchAttributePair(ORGANISATION_ID, account.organisation_id),
                    SearchAttributePair(PROCESS, "AccountVerification"),
                ]
            ),
        )
        await smtp_server.wait_for(account.email)
        await handle.signal(AccountVerificationWorkflow.confirm)
        result = await asyncio.wait_for(handle.result(), timeout=20)
    finally:
        worker.cancel()
        with suppress(asyncio.CancelledError):
            await worker

    assert result == VerificationResult(account_id=account.id, outcome="verified")
    assert load_account(settings.database_url or "", account.id).verification_status == "verified"
    described = await handle.describe()
    assert described.typed_search_attributes.get(ACCOUNT_ID) == account.id
    assert described.typed_search_attributes.get(PROCESS) == "AccountVerification"
