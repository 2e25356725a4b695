"""Partner charge acceptance's Temporal activities: each database step in one transaction, the provider's
calls between them (sync: thread pool)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.partner_charges import io
from activities.partner_charges.deciding import decide_received
from activities.partner_charges.io import (
    Decided,
    DecideInput,
    Fetched,
    ProviderInput,
    Reported,
    ReportInput,
)
from activities.partner_charges.receiving import store_received
from activities.partner_charges.reporting import Outgoing, Stamped, stamp_batch, unreported
from activities.partner_charges.sessions import partner_registry, partner_session
from activities.shared.heartbeat import heartbeating
from domain.errors import RuleViolation
from domain.partner_charges import batches
from integrations.partners.base import (
    FailedDecision,
    PartnerError,
    PartnerProvider,
    PartnerRegistry,
    PartnerSession,
)
from models.base import unit_of_work
from runtime.settings import Settings

log = logging.getLogger(__name__)


def _close(partner: PartnerSession) -> None:
    close: Callable[[], None] | None = getattr(partner, "close", None)
    if close is not None:
        close()


def _failure(exc: PartnerError) -> ApplicationError:
    """A provider's refusal as an activity failure: retried when it may pass (down, slow), else not."""
    return ApplicationError(str(exc), type=f"Partner:{exc.code}", non_retryable=not exc.retryable)


class PartnerChargeActivities(io.PartnerChargeActivities):
    """Partner charge acceptance's activities, bound to the database and the providers installed."""

    def __init__(self, settings: Settings, registry: PartnerRegistry | None = None) -> None:
        if not settings.database_url:
            raise RuntimeError("DATABASE_URL is not set: partner charge activities need the database")
        self.settings = settings
        self.url = settings.database_url
        self.registry = registry if registry is not None else partner_registry(settings)

    def _provider(self, name: str) -> PartnerProvider:
        try:
            return self.registry.get(name)
        except KeyError as exc:  # not installed on this worker: nothing a retry fixes
            raise ApplicationError(str(exc), type="PartnerProviderUnknown", non_retryable=True) from exc

    def _session(self, request: ProviderInput | ReportInput) -> PartnerSession:
        try:
            with unit_of_work(self.url) as session:
                return partner_session(
                    session, self.settings, self.registry, request.organisation_id, request.provider
                )
        except (RuleViolation, KeyError) as exc:
            raise ApplicationError(str(exc), type="PartnerConnection", non_retryable=True) from exc

    @activity.defn(name="fetch_partner_charges")
    def fetch(self, request: ProviderInput) -> Fetched:
        """List the provider's pending charges (pull providers) and store each once."""
        if self._provider(request.provider).charges_by != "pull":
            return Fetched()
        partner = self._session(request)
        try:
            with heartbeating():
                listed = partner.pending_charges()
        except PartnerError as exc:
            raise _failure(exc) from exc
        finally:
            _close(partner)
        with unit_of_work(self.url) as session:
            stored = store_received(
                session, request.organisation_id, request.provider, listed, datetime.now(UTC)
            )
        return Fetched(
            listed=len(listed),
            new=stored.new,
            repeats=stored.repeats,
            declined_on_arrival=stored.declined_on_arrival,
        )

    @activity.defn(name="decide_partner_charges")
    def decide(self, request: DecideInput) -> Decided:
        """Decide a page of received charges; record each accepted one's billing in the same transaction."""
        with unit_of_work(self.url) as session:
            page = decide_received(
                session, request.organisation_id, request.provider, request.at, request.limit
            )
        return Decided(
            accepted=page.accepted, declined=page.declined, billed_minor=page.billed_minor, more=page.more
        )

    @activity.defn(name="report_partner_charges")
    def report(self, request: ReportInput) -> Reported:
        """Send the decided, unreported charges to the provider in batches; stamp what it took."""
        provider = self._provider(request.provider)
        partner = self._session(request)
        total = Reported()
        try:
            with heartbeating():
                while True:
                    with unit_of_work(self.url) as session:
                        waiting = unreported(session, request.organisation_id, request.provider)
                    if not waiting:
                        return total
                    before = total.reported + total.failed
                    for accepted in (True, False):
                        chosen = [o for o in waiting if o.accepted is accepted]
                        for batch in batches([o.charge_id for o in chosen], provider.max_batch):
                            items = [o for o in chosen if o.charge_id in set(batch)]
                            stamped = self._report_batch(partner, items, accepted, request.at)
                            total = Reported(
                                reported=total.reported + stamped.reported,
                                already=total.already + stamped.already,
                                failed=total.failed + stamped.failed,
                                calls=total.calls + 1,
                            )
                    if total.reported + total.failed == before:  # another run stamped them meanwhile
                        return total
        except PartnerError as exc:
            raise _failure(exc) from exc
        finally:
            _close(partner)

    def _report_batch(
        self, partner: PartnerSession, items: list[Outgoing], accepted: bool, at: datetime
    ) -> Stamped:
        decisions = [o.decision for o in items]
        failed = partner.accept(decisions) if accepted else partner.decline(decisions)
        return self._stamp(items, failed, at)

    def _stamp(self, items: list[Outgoing], failed: list[FailedDecision], at: datetime) -> Stamped:
        """The provider has answered: record it (one transaction)."""
        with unit_of_work(self.url) as session:
            return stamp_batch(session, items, failed, at)

    def all(self) -> list[Any]:
        return [self.fetch, self.decide, self.report]
