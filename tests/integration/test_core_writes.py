"""Hot writes go through Core statements (models.base.core) instead of ORM ones: their rows may still name
objects added in the same transaction and not yet written (a subscription being created, the account
opened with it), since the session flushes before any statement, and a retry writes nothing twice."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

import sqlalchemy as sa

from activities.events import outbox
from activities.notifications import direct
from activities.notifications.templates import Parts
from activities.subscriptions import records
from domain.events import BusinessEvent
from domain.ids import new_id
from domain.money import Money
from domain.subscriptions import ChargeLine
from models.accounts import Account
from models.base import unit_of_work
from models.events import EventRecord
from models.notifications import NotificationMessage
from models.subscriptions import PendingCharge, Subscription, SubscriptionEvent
from tests.support.factories import make_operator


def _pending_subscription(session: sa.orm.Session, org: str) -> Subscription:
    """An account and a subscription added to ``session``, neither flushed."""
    account = Account(
        id=new_id("acc"),
        organisation_id=org,
        type="person",
        display_name="Ana Ruiz",
        email=f"{uuid.uuid4().hex[:8]}@example.com",
        currency="EUR",
        timezone="Europe/Madrid",
    )
    sub = Subscription(
        id=new_id("sub"),
        organisation_id=org,
        account_id=account.id,
        request_id=uuid.uuid4().hex,
        status="draft",
        currency="EUR",
        timezone="Europe/Madrid",
        bill_day=1,
        billing_term="in_advance",
        start_date=date(2024, 1, 15),
    )
    session.add_all([account, sub])
    assert sub in session.new  # nothing written yet
    return sub


def test_history_charges_events_and_email_log_name_rows_added_in_the_same_transaction(
    database_url: str,
) -> None:
    org = make_operator(database_url).organisation_id
    with unit_of_work(database_url) as session:
        sub = _pending_subscription(session, org)
        records.record_event(session, sub.id, "created", "api", f"{sub.id}:created")
        added = records.record_charges(
            session,
            sub,
            None,
            [ChargeLine("one_off", "Activation", Money(2500, "EUR"), 1, Decimal("25.00"), "standard")],
            f"{sub.id}:activation",
        )
        event_id = outbox.record(
            session, BusinessEvent("subscription.activated", org, "subscription", sub.id, {"id": sub.id})
        )
        message_id = new_id("msg")
        spec = direct.prepare_email(
            session,
            account_id=sub.account_id,
            kind="subscription.welcome",
            data={},
            to="ana@example.com",
            message_id=message_id,
            default=Parts("Welcome", "Welcome aboard", None),
        )
        assert spec is not None
        direct.record_sent(session, kind="subscription.welcome", to="ana@example.com", message_id=message_id)
        # A retry writes nothing twice: the same keys again.
        records.record_event(session, sub.id, "created", "api", f"{sub.id}:created")
        again = records.record_charges(
            session,
            sub,
            None,
            [ChargeLine("one_off", "Activation", Money(2500, "EUR"), 1, Decimal("25.00"), "standard")],
            f"{sub.id}:activation",
        )
    assert (added, again) == (1, 0)
    with unit_of_work(database_url) as session:
        kinds = session.execute(
            sa.select(SubscriptionEvent.kind).where(SubscriptionEvent.subscription_id == sub.id)
        ).scalars()
        assert list(kinds) == ["created"]
        charges = session.execute(
            sa.select(PendingCharge.amount_minor, PendingCharge.account_id).where(
                PendingCharge.subscription_id == sub.id
            )
        ).all()
        assert [tuple(c) for c in charges] == [(2500, sub.account_id)]
        assert session.get(EventRecord, event_id) is not None
        logged = session.execute(
            sa.select(NotificationMessage.status, NotificationMessage.provider_message_id).where(
                NotificationMessage.account_id == sub.account_id
            )
        ).all()
        assert [tuple(row) for row in logged] == [("sent", message_id)]
