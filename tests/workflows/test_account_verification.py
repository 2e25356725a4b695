from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from activities.accounts.activities import VerificationActivities
from activities.accounts.io import RecordVerificationOutcome
from domain import process_ids
from domain.verification import check_token, make_token
from integrations.notify.base import EmailMessageSpec, MessageRejected
from runtime.settings import Settings
from tests.support.eventually import eventually_async
from tests.support.smtp import SmtpSink
from tests.workflows._verification import (
    link_in,
    load_account,
    make_account,
    running_worker,
    subject_of,
    text_of,
    verification_input,
)
from workflows.account_verification import AccountVerificationWorkflow, ProcessStatus, VerificationResult


async def wait_for_step(
    handle: WorkflowHandle[AccountVerificationWorkflow, VerificationResult], step: str
) -> None:
    await eventually_async(
        lambda: handle.query(AccountVerificationWorkflow.status),
        until=lambda status: status.step == step,
        timeout=15,
        what=f"workflow at step {step}",
    )


async def workflow_duration(
    handle: WorkflowHandle[AccountVerificationWorkflow, VerificationResult],
) -> timedelta:
    """Server time from start to close (the env clock may skip further once the workflow is done)."""
    described = await handle.describe()
    assert described.close_time is not None
    return described.close_time - described.start_time


async def test_confirmed_account_is_verified(
    time_skipping_env: WorkflowEnvironment, settings: Settings, smtp_server: SmtpSink
) -> None:
    account = make_account(settings.database_url or "", language="es-ES")
    async with running_worker(time_skipping_env.client, settings) as queue_settings:
        handle = await time_skipping_env.client.start_workflow(
            AccountVerificationWorkflow.run,
            verification_input(account),
            id=process_ids.account_verification(account.id),
            task_queue=queue_settings.task_queue,
        )
        email = await smtp_server.wait_for(account.email)
        link = link_in(email)
        token = make_token(settings.secret_key, account.id, account.email)
        assert link == f"http://testserver/portal/verify/{account.id}?token={token}"
        assert check_token(settings.secret_key, account.id, account.email, link.rpartition("token=")[2])
        assert email["Message-ID"] == f"<{handle.id}.{handle.result_run_id}@multibill.local>"
        assert subject_of(email) == "Confirm your email address / Confirma tu dirección de correo"
        assert "Hola Ana García" in text_of(email)
        await handle.signal(AccountVerificationWorkflow.confirm)
        result = await handle.result()

    assert result == VerificationResult(account_id=account.id, outcome="verified")
    row = load_account(settings.database_url or "", account.id)
    assert row.verification_status == "verified"
    assert row.verified_at is not None
    assert row.verification_process_id == process_ids.account_verification(account.id)
    assert row.version == 2
    assert len(smtp_server.to(account.email)) == 1


async def test_unconfirmed_account_is_unverified_after_48_hours(
    time_skipping_env: WorkflowEnvironment, settings: Settings, smtp_server: SmtpSink
) -> None:
    account = make_account(settings.database_url or "")
    async with running_worker(time_skipping_env.client, settings) as queue_settings:
        handle = await time_skipping_env.client.start_workflow(
            AccountVerificationWorkflow.run,
            verification_input(account),
            id=process_ids.account_verification(account.id),
            task_queue=queue_settings.task_queue,
        )
        result = await handle.result()
        took = await workflow_duration(handle)

    assert result == VerificationResult(account_id=account.id, outcome="unverified")
    assert took >= timedelta(hours=48)
    row = load_account(settings.database_url or "", account.id)
    assert row.verification_status == "unverified"
    assert row.verified_at is None
    assert len(smtp_server.to(account.email)) == 1
    assert smtp_server.to(account.email)[0]["Subject"] == "Confirm your email address"


async def test_status_query_mid_flight_is_awaiting_confirmation(
    time_skipping_env: WorkflowEnvironment, settings: Settings, smtp_server: SmtpSink
) -> None:
    account = make_account(settings.database_url or "")
    async with running_worker(time_skipping_env.client, settings) as queue_settings:
        handle = await time_skipping_env.client.start_workflow(
            AccountVerificationWorkflow.run,
            verification_input(account),
            id=process_ids.account_verification(account.id),
            task_queue=queue_settings.task_queue,
        )
        await wait_for_step(handle, "awaiting_confirmation")
        status = await handle.query(AccountVerificationWorkflow.status)
        assert status == ProcessStatus(
            process="AccountVerification", step="awaiting_confirmation", account_id=account.id, outcome=None
        )
        assert load_account(settings.database_url or "", account.id).verification_status == "pending"
        await handle.signal(AccountVerificationWorkflow.confirm)
        await handle.signal(AccountVerificationWorkflow.confirm)  # a second click changes nothing
        await handle.result()
        final = await handle.query(AccountVerificationWorkflow.status)

    assert final == ProcessStatus(step="verified", account_id=account.id, outcome="verified")


class RejectingNotifier:
    def __init__(self) -> None:
        self.attempts: list[EmailMessageSpec] = []

    def send_email(self, message: EmailMessageSpec) -> None:
        self.attempts.append(message)
        raise MessageRejected(f"550 no such mailbox {message.to}")


async def test_rejected_email_ends_unverified_without_waiting(
    time_skipping_env: WorkflowEnvironment, settings: Settings
) -> None:
    account = make_account(settings.database_url or "")
    notifier = RejectingNotifier()
    async with running_worker(time_skipping_env.client, settings, notifier=notifier) as queue_settings:
        handle = await time_skipping_env.client.start_workflow(
            AccountVerificationWorkflow.run,
            verification_input(account),
            id=process_ids.account_verification(account.id),
            task_queue=queue_settings.task_queue,
        )
        result = await handle.result()
        took = await workflow_duration(handle)

    assert result.outcome == "unverified"
    assert len(notifier.attempts) == 1  # permanent rejection: no retries
    assert took < timedelta(hours=1)
    assert load_account(settings.database_url or "", account.id).verification_status == "unverified"


@pytest.mark.parametrize("first", ["verified", "unverified"])
def test_record_outcome_is_idempotent_and_never_unverifies(settings: Settings, first: str) -> None:
    url = settings.database_url or ""
    account = make_account(url)
    activities = VerificationActivities(settings)
    decided = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)

    def record(outcome: str, at: datetime) -> None:
        activities.record_verification_outcome(
            RecordVerificationOutcome.model_validate(
                {"account_id": account.id, "outcome": outcome, "decided_at": at, "process_id": "p-1"}
            )
        )

    record(first, decided)
    again = activities.record_verification_outcome(
        RecordVerificationOutcome.model_validate(
            {
                "account_id": account.id,
                "outcome": first,
                "decided_at": decided + timedelta(days=1),
                "process_id": "p-1",
            }
        )
    )
    assert again.changed is False
    record("verified", decided + timedelta(days=2))
    record("unverified", decided + timedelta(days=3))

    row = load_account(url, account.id)
    assert row.verification_status == "verified"
    expected_at = decided if first == "verified" else decided + timedelta(days=2)
    assert row.verified_at == expected_at
    assert row.version == (2 if first == "verified" else 3)
