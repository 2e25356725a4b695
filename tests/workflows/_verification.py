"""Helpers for verification tests: an account row to verify and a worker on a private task queue."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from email.header import decode_header, make_header
from email.message import Message

from temporalio.client import Client

from activities.accounts.activities import VerificationActivities
from activities.accounts.organisations import create_organisation
from domain.ids import new_id
from domain.organisations import OrganisationKind
from integrations.notify.base import Notifier
from models.accounts import Account
from models.base import unit_of_work
from runtime.settings import Settings
from runtime.worker import ACTIVITY_THREADS, build_worker
from workflows.account_verification import VerificationInput

LINK_RE = re.compile(r"(http://testserver/portal/verify/\S+)")


def make_account(database_url: str, *, language: str = "en") -> Account:
    """An operator and one pending person account in it, committed."""
    with unit_of_work(database_url) as session:
        org = create_organisation(
            session,
            name=f"Verify Test {uuid.uuid4().hex[:6]}",
            kind=OrganisationKind.OPERATOR,
            parent=None,
            country="ES",
        )
        account_id = new_id("acc")
        account = Account(
            id=account_id,
            organisation_id=org.id,
            type="person",
            display_name="Ana García",
            email=f"{account_id.lower()}@example.com",
            language=language,
            currency="EUR",
            timezone="Europe/Madrid",
            verification_status="pending",
        )
        session.add(account)
        session.flush()
    return account


def load_account(database_url: str, account_id: str) -> Account:
    with unit_of_work(database_url) as session:
        account = session.get(Account, account_id)
        assert account is not None
        return account


def verification_input(account: Account, **overrides: object) -> VerificationInput:
    fields: dict[str, object] = {
        "account_id": account.id,
        "organisation_id": account.organisation_id,
        "email": account.email,
        "display_name": account.display_name,
        "language": account.language,
    }
    fields.update(overrides)
    return VerificationInput.model_validate(fields)


def subject_of(message: Message) -> str:
    return str(make_header(decode_header(message["Subject"])))


def text_of(message: Message) -> str:
    body = message.get_payload(decode=True)
    assert isinstance(body, bytes)
    return body.decode(message.get_content_charset() or "utf-8")


def link_in(message: Message) -> str:
    found = LINK_RE.search(text_of(message))
    assert found, f"no verification link in {text_of(message)!r}"
    return found.group(1)


@asynccontextmanager
async def running_worker(
    client: Client, settings: Settings, *, notifier: Notifier | None = None
) -> AsyncIterator[Settings]:
    """A worker on a fresh task queue; yields the settings naming that queue."""
    queue_settings = settings.model_copy(update={"task_queue": f"test-{uuid.uuid4().hex}"})
    activities = VerificationActivities(queue_settings, notifier).all() if notifier else None
    with ThreadPoolExecutor(max_workers=ACTIVITY_THREADS) as pool:
        worker = build_worker(client, queue_settings, activity_executor=pool, activities=activities)
        async with worker:
            yield queue_settings
