"""Subscribers with a password, the session cookie of an answer, and the identity e-mails delivered to
the test SMTP sink (tests of activities/identity and its routes)."""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime

import httpx
from temporalio.client import Client

from activities.identity.passwords import hash_password
from api.app import create_app
from domain.ids import new_id
from domain.subscribers import SESSION_COOKIE
from models.base import unit_of_work, utcnow
from models.subscribers import SubscriberLogin
from runtime.settings import Settings
from tests.support.billing_factory import make_account
from tests.support.notification_support import engine, send_round
from tests.support.smtp import SmtpSink

PASSWORD = "violet-harbour-42-kites"


def make_login(database_url: str, organisation_id: str, *, verified: bool = True) -> tuple[str, str]:
    """An account with a login (password ``PASSWORD``); (account id, e-mail)."""
    email = f"sub.{uuid.uuid4().hex[:10]}@example.com"
    account_id = make_account(database_url, organisation_id, email=email)
    with unit_of_work(database_url) as session:
        session.add(
            SubscriberLogin(
                id=new_id("usr"),
                organisation_id=organisation_id,
                account_id=account_id,
                email=email,
                password_hash=hash_password(PASSWORD),
                email_verified_at=utcnow() if verified else None,
                failed_attempts=0,
            )
        )
    return account_id, email


def session_cookie(set_cookie: str) -> str:
    found = re.search(rf"{SESSION_COOKIE}=([^;]+)", set_cookie)
    assert found, set_cookie
    return found.group(1)


def cookie_header(token: str) -> dict[str, str]:
    return {"Cookie": f"{SESSION_COOKIE}={token}"}


def deliver(settings: Settings, smtp: SmtpSink, at: datetime | None = None) -> None:
    """Send the queued messages now (what the NotificationRelay does on its next round)."""
    send_round(engine(settings, smtp), at or utcnow())


def link_token(smtp: SmtpSink, email: str, page: str) -> str:
    """The token of the last link to ``page`` e-mailed to ``email``."""
    mail = smtp.to(email)[-1]
    body = (
        mail.get_payload(decode=True)
        if not mail.is_multipart()
        else mail.get_payload(0).get_payload(decode=True)
    )
    found = re.findall(rf"{re.escape(page)}\?token=([A-Za-z0-9_\-]+)", body.decode())
    assert found, body
    return found[-1]


@asynccontextmanager
async def api_from_own_address(
    settings: Settings, temporal_client: Client | None = None
) -> AsyncIterator[httpx.AsyncClient]:
    """The API as one client address of its own (throttling counts per address), over https (the
    session cookie is Secure)."""
    app = create_app(
        settings if temporal_client else settings.model_copy(update={"temporal_address": "127.0.0.1:1"}),
        temporal_client=temporal_client,
    )
    address = f"10.{secrets.randbelow(250)}.{secrets.randbelow(250)}.{secrets.randbelow(250) + 1}"
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as client:
        yield client
