"""The sign-up link of a partner membership reaches the subscriber by email (the ``partner.signup_link``
event through the notification relay's steps, the real SMTP sink) and by the API, once, however often the
provider hands the same link back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.message import Message

import httpx
from sqlalchemy import select

from activities.partners import memberships
from models.accounts import Account
from models.base import unit_of_work
from models.events import EventRecord
from runtime.settings import Settings
from tests.support.factories import Tenant
from tests.support.notification_support import engine, fan_out_all, messages_of, send_round, start_cursor
from tests.support.partner_factory import make_member
from tests.support.smtp import SmtpSink

NOON = datetime(2026, 11, 30, 11, 0, tzinfo=UTC)  # 12:00 in Madrid: no quiet hours
LINK = "https://signup.netflix.example/partner?token=tok-123"


def _plain_text(message: Message) -> str:
    for part in message.walk():
        if part.get_content_type() == "text/plain" and part.get_content_disposition() != "attachment":
            return bytes(part.get_payload(decode=True)).decode(part.get_content_charset() or "utf-8")  # type: ignore[arg-type]
    return ""


async def test_the_signup_link_is_emailed_once_and_shown_by_the_api(
    api: httpx.AsyncClient, operator: Tenant, settings: Settings, database_url: str, smtp_server: SmtpSink
) -> None:
    member = make_member(database_url, operator.organisation_id, "netflix", status="pending_signup")
    activities = engine(settings, smtp_server)
    cursor = start_cursor()
    expires = datetime(2026, 12, 1, 11, 0, tzinfo=UTC)
    with unit_of_work(database_url) as session:
        memberships.set_link(session, member.membership_id, LINK, expires)
    with unit_of_work(database_url) as session:  # the provider answers the same link on a retry
        memberships.set_link(session, member.membership_id, LINK, expires)
        events = list(
            session.execute(
                select(EventRecord.id).where(
                    EventRecord.object_id == member.membership_id, EventRecord.type == "partner.signup_link"
                )
            ).scalars()
        )
        email = session.execute(select(Account.email).where(Account.id == member.account_id)).scalar_one()
    assert len(events) == 1  # told once

    fan_out_all(activities, cursor, NOON)
    send_round(activities, NOON)
    [message] = [m for m in messages_of(database_url, events[0]) if m.channel == "email"]
    assert (message.status, message.recipient, message.last_error) == ("sent", email, None)
    sent = await smtp_server.wait_for(email or "")
    assert "netflix" in sent["Subject"]
    assert LINK in _plain_text(sent)

    listed = await api.get(f"/v1/partner-subscriptions?account_id={member.account_id}", headers=operator.auth)
    assert listed.status_code == 200, listed.text
    [item] = listed.json()["data"]
    assert (item["id"], item["status"], item["signup_url"]) == (member.membership_id, "pending_signup", LINK)
    one = await api.get(f"/v1/partner-subscriptions/{member.membership_id}", headers=operator.auth)
    assert one.json()["signup_url"] == LINK
    send_round(activities, NOON + timedelta(minutes=5))
    assert len(smtp_server.to(email or "")) == 1  # nothing sent twice


async def test_the_staff_who_see_the_account_read_its_signup_link(
    api: httpx.AsyncClient, operator: Tenant, database_url: str
) -> None:
    """The agent or outlet that sold the bundle hands the link over: staff keys read the memberships of the
    accounts they see, and no others."""
    from domain.organisations import OrganisationKind, Role
    from tests.support.factories import make_child, make_operator

    org = operator.organisation_id
    outlet = make_child(database_url, org, kind=OrganisationKind.OUTLET, role=Role.AGENT)
    sibling = make_child(database_url, org, kind=OrganisationKind.OUTLET, role=Role.AGENT)
    theirs = make_member(database_url, org, "netflix", status="pending_signup")
    direct = make_member(database_url, org, "netflix", status="pending_signup")
    with unit_of_work(database_url) as session:
        account = session.get(Account, theirs.account_id)
        assert account is not None
        account.organisation_id = outlet.organisation_id  # the outlet's customer; the operator's membership
        for member in (theirs, direct):
            memberships.set_link(session, member.membership_id, f"{LINK}-{member.membership_id}", None)

    async def ids(tenant: Tenant) -> list[str]:
        resp = await api.get("/v1/partner-subscriptions", headers=tenant.auth)
        assert resp.status_code == 200, resp.text
        return sorted(item["id"] for item in resp.json()["data"])

    assert await ids(operator) == sorted([theirs.membership_id, direct.membership_id])
    assert await ids(outlet) == [theirs.membership_id]
    assert await ids(sibling) == []
    assert await ids(make_operator(database_url)) == []
    seen = await api.get(f"/v1/partner-subscriptions/{theirs.membership_id}", headers=outlet.auth)
    assert seen.json()["signup_url"] == f"{LINK}-{theirs.membership_id}"
    for tenant, psub in ((outlet, direct.membership_id), (sibling, theirs.membership_id)):
        hidden = await api.get(f"/v1/partner-subscriptions/{psub}", headers=tenant.auth)
        assert (hidden.status_code, hidden.json()["code"]) == (404, "partner_subscription_not_found")
