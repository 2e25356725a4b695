"""The partner activities: each database step in one transaction, the provider's calls between them.

A provider that cannot be reached (``PartnerError.retryable``) raises, so Temporal retries the activity;
the steps before and after the call are idempotent. A provider's refusal, or a missing connection, fails
the membership with the reason instead (onboarding never fails for it).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.partners import io, memberships, settlement
from activities.partners.io import (
    EndMemberships,
    FailMembership,
    MembershipRef,
    MembershipState,
    SettleDue,
    SettlementRef,
    SettleMonth,
    StartMemberships,
    StatementMade,
    SyncMembershipPlans,
)
from activities.partners.sessions import PartnerNotConnected, connection_of, partner_session
from activities.shared.failures import refusals_fail_the_process
from domain import partners
from integrations.partners.base import PartnerError, PartnerRegistry, PartnerSession, SubscribeRequest
from models.base import unit_of_work
from runtime.settings import Settings

log = logging.getLogger(__name__)


class PartnerActivities(io.PartnerActivities):
    """Partner memberships, bound to the database, the data key and the installed providers."""

    def __init__(self, settings: Settings, registry: PartnerRegistry) -> None:
        if not settings.database_url:
            raise RuntimeError("DATABASE_URL is not set: partner activities need the database")
        self.settings, self.url, self.registry = settings, settings.database_url, registry

    @contextmanager
    def _session_with(self, organisation_id: str, provider: str) -> Iterator[PartnerSession]:
        with unit_of_work(self.url) as session:
            partner = partner_session(session, self.settings, self.registry, organisation_id, provider)
        try:
            yield partner
        finally:
            close = getattr(partner, "close", None)
            if callable(close):
                close()

    def all(self) -> list[Any]:
        return [
            self.start_memberships,
            self.check_membership,
            self.fail_membership,
            self.end_memberships,
            self.sync_plans,
        ]

    @activity.defn(name="start_partner_memberships")
    def start_memberships(self, request: StartMemberships) -> list[MembershipState]:
        with unit_of_work(self.url) as session:
            lines = memberships.partner_lines(session, request.subscription_id, request.service_ids)
            rows = [memberships.open_membership(session, request.subscription_id, line) for line in lines]
            opened = [(row.id, row.status, row.signup_url) for row in rows]
        states = []
        for psub_id, status, url in opened:
            if status == "pending_signup" and url is None:
                self._subscribe(psub_id)
            with unit_of_work(self.url) as session:
                row = memberships.load(session, psub_id)
                connection = connection_of(session, row.organisation_id, row.provider)
                valid_for = memberships.signup_validity(connection.options or {} if connection else {})
                states.append(memberships.state(row, valid_for))
        return states

    def _subscribe(self, psub_id: str) -> None:
        with unit_of_work(self.url) as session:
            row = memberships.load(session, psub_id)
            account = memberships.customer_of(session, row.account_id)
            org, provider, customer = row.organisation_id, row.provider, row.partner_customer_id
            connection = connection_of(session, org, provider)
            options = (connection.options or {}) if connection is not None else {}
            request = SubscribeRequest(
                customer_id=customer,
                partner_plan=row.partner_plan,
                channel=row.channel,
                promotion_code=row.promotion_code,
                signup_validity_seconds=memberships.signup_validity(options),
                name=account.display_name,
                email=account.email,
                phone=account.phone,
            )
        try:
            with self._session_with(org, provider) as partner:
                try:
                    link = partner.subscribe(request)
                    url = link.signup_url
                    expires: datetime | None = link.expires_at
                except PartnerError as exc:
                    if exc.code != "membership_exists":
                        raise
                    found = partner.membership(customer)  # made by an earlier try: read it back
                    if found.status == "ACTIVE":
                        with unit_of_work(self.url) as session:
                            memberships.activate(session, psub_id)
                        return
                    if found.status != "PENDING_SIGNUP" or not found.signup_url:
                        raise
                    url, expires = found.signup_url, found.signup_expires_at
        except PartnerNotConnected as exc:
            self._fail(psub_id, exc.message)
            return
        except PartnerError as exc:
            if exc.retryable:
                raise
            self._fail(psub_id, f"{provider} refused the sign-up: {exc.code}: {exc.message}")
            return
        with unit_of_work(self.url) as session:
            memberships.set_link(session, psub_id, url, expires)

    def _fail(self, psub_id: str, reason: str) -> None:
        with unit_of_work(self.url) as session:
            memberships.fail(session, psub_id, reason)

    @activity.defn(name="check_partner_membership")
    def check_membership(self, ref: MembershipRef) -> MembershipState:
        with unit_of_work(self.url) as session:
            row = memberships.load(session, ref.partner_subscription_id)
            if row.status != "pending_signup":
                return memberships.state(row)
            org, provider, customer = row.organisation_id, row.provider, row.partner_customer_id
        try:
            with self._session_with(org, provider) as partner:
                found = partner.membership(customer)
        except PartnerNotConnected as exc:
            raise ApplicationError(exc.message, type="PartnerNotConnected", non_retryable=True) from exc
        with unit_of_work(self.url) as session:
            if found.status == "ACTIVE":
                row = memberships.activate(session, ref.partner_subscription_id)
            elif found.status == "ENDED":
                row = memberships.end(session, ref.partner_subscription_id, found.end_reason or "ended")
            else:
                row = memberships.load(session, ref.partner_subscription_id)
            return memberships.state(row)

    @activity.defn(name="fail_partner_membership")
    def fail_membership(self, request: FailMembership) -> MembershipState:
        with unit_of_work(self.url) as session:
            return memberships.state(
                memberships.fail(session, request.partner_subscription_id, request.reason)
            )

    @activity.defn(name="end_partner_memberships")
    def end_memberships(self, request: EndMemberships) -> list[MembershipState]:
        with unit_of_work(self.url) as session:
            rows = memberships.live_memberships(session, request.subscription_id, request.service_id)
            found = [(r.id, r.organisation_id, r.provider, r.partner_customer_id) for r in rows]
        states = []
        for psub_id, org, provider, customer in found:
            self._cancel(org, provider, customer, request.reason)
            with unit_of_work(self.url) as session:
                states.append(memberships.state(memberships.end(session, psub_id, request.reason)))
        return states

    def _cancel(self, org: str, provider: str, customer: str, reason: str) -> None:
        try:
            with self._session_with(org, provider) as partner:
                partner.cancel(customer, reason)
        except PartnerNotConnected:
            log.warning("no connection to %s for %s: membership ended here only", provider, org)
        except PartnerError as exc:
            if exc.retryable:
                raise
            if exc.code not in ("subscriber_not_found",):
                raise ApplicationError(str(exc), type="PartnerRefused", non_retryable=True) from exc

    @activity.defn(name="sync_partner_membership_plans")
    def sync_plans(self, request: SyncMembershipPlans) -> list[MembershipState]:
        with unit_of_work(self.url) as session:
            lines = {
                line.service_id: line for line in memberships.partner_lines(session, request.subscription_id)
            }
            rows = memberships.live_memberships(session, request.subscription_id)
            current = [
                (r.id, r.organisation_id, r.provider, r.partner_customer_id, r.partner_plan, r.service_id)
                for r in rows
            ]
        states = []
        for psub_id, org, provider, customer, plan, service_id in current:
            line = lines.get(service_id or "")
            if line is None or line.spec.provider != provider:
                self._cancel(org, provider, customer, "the subscription no longer holds the partner service")
                with unit_of_work(self.url) as session:
                    row = memberships.end(session, psub_id, "plan changed: partner service dropped")
                    states.append(memberships.state(row))
                continue
            if line.spec.partner_plan != plan:
                try:
                    with self._session_with(org, provider) as partner:
                        partner.change_plan(customer, line.spec.partner_plan)
                except PartnerError as exc:
                    if exc.retryable:
                        raise
                    raise ApplicationError(str(exc), type="PartnerRefused", non_retryable=True) from exc
            with unit_of_work(self.url) as session:
                row = memberships.set_plan(session, psub_id, line.spec, line.service_id)
                states.append(memberships.state(row))
        return states


class PartnerSettlementActivities(io.PartnerSettlementActivities):
    def __init__(self, settings: Settings) -> None:
        if not settings.database_url:
            raise RuntimeError("DATABASE_URL is not set: partner activities need the database")
        self.url = settings.database_url

    def all(self) -> list[Any]:
        return [self.settle_month, self.settle_due]

    @activity.defn(name="settle_partner_month")
    def settle_month(self, request: SettleMonth) -> SettlementRef:
        with unit_of_work(self.url) as session:
            made = settlement.settle_month(session, request.organisation_id, request.provider, request.month)
            return SettlementRef(settlement_id=made.settlement.id, created=made.created)

    @activity.defn(name="settle_partner_month_due")
    def settle_due(self, request: SettleDue) -> StatementMade:
        with refusals_fail_the_process(), unit_of_work(self.url) as session:
            if request.month:
                month = partners.parse_month(request.month)
            else:
                month = settlement.due_month(session, request.organisation_id, request.provider, request.at)
            made = settlement.settle_month(session, request.organisation_id, request.provider, month)
            row = made.settlement
            return StatementMade(
                settlement_id=row.id,
                organisation_id=row.organisation_id,
                provider=row.provider,
                month=f"{row.month:%Y-%m}",
                created=made.created,
                currency=row.currency,
                charge_count=row.charge_count,
                charged_minor=row.charged_minor,
                partner_payable_minor=row.partner_payable_minor,
            )
