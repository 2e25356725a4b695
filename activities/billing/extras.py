"""A bill-run page's device rentals and bundle discounts: what they depend on, loaded once per page
(what was billed, devices taken back, bundles sold), and the guard rows an invoice writes for them."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from activities.billing.page_data import AccountToBill
from activities.offers.billing import active_discounts
from domain.catalog import BundleSpec
from domain.invoice_extras import RENTAL, ChargeSpan, Extras
from domain.periods import zone
from models.billing import BilledCharge
from models.bulk import any_of, consecutive_runs
from models.catalog import Bundle
from models.devices import Device, StockMovement
from models.subscriptions import SubscriptionService

TAKEN_BACK = ("return", "state_change")  # to a warehouse, or lost/stolen


# A line's rental days billed, as runs of consecutive days: what a bill run's rental guard needs (which
# days are billed). A returned device's credit needs each billed period with its plan, and an offer
# counts the periods it discounted: those read the rows.
_RENTAL_RUNS = consecutive_runs(
    "billed_charges", "subscription_id, charge, key", f"subscription_id = ANY(:ids) AND charge = '{RENTAL}'"
)


def _billed(session: Session, sub_ids: list[str], rental_runs: bool = False) -> dict[str, set[ChargeSpan]]:
    billed: dict[str, set[ChargeSpan]] = defaultdict(set)
    if rental_runs:
        for sub_id, charge, key, start, end in session.execute(_RENTAL_RUNS, {"ids": sub_ids}):
            billed[sub_id].add(ChargeSpan(charge, key, start, end))
    query = select(
        BilledCharge.subscription_id,
        BilledCharge.charge,
        BilledCharge.key,
        BilledCharge.period_start,
        BilledCharge.period_end,
    ).where(any_of(BilledCharge.subscription_id, sub_ids))
    if rental_runs:
        query = query.where(BilledCharge.charge != RENTAL)
    for row in session.execute(query):
        billed[row.subscription_id].add(ChargeSpan(row.charge, row.key, row.period_start, row.period_end))
    return billed


def _returned(session: Session, lines: dict[str, str], timezones: dict[str, str]) -> dict[str, date]:
    """Lines (renting a device) whose device went back and none came since: the local day it went."""
    if not lines:
        return {}
    held = set(
        session.execute(
            select(Device.service_id).where(any_of(Device.service_id, lines), Device.state == "assigned")
        ).scalars()
    )
    returned: dict[str, date] = {}
    for line, at in session.execute(
        select(StockMovement.service_id, func.max(StockMovement.at))
        .where(
            StockMovement.service_id.in_([line for line in lines if line not in held]),
            StockMovement.from_state == "assigned",
            StockMovement.kind.in_(TAKEN_BACK),
        )
        .group_by(StockMovement.service_id)
    ):
        if line is not None:
            returned[line] = at.astimezone(zone(timezones[lines[line]])).date()
    return returned


def _discounts(
    session: Session, operator: str, sub_ids: list[str]
) -> dict[str, dict[str, tuple[str, Decimal]]]:
    """Per subscription, its services sold in a bundle with a discount: (bundle, percent)."""
    rows = session.execute(
        select(
            SubscriptionService.subscription_id,
            SubscriptionService.id,
            SubscriptionService.plan_code,
            SubscriptionService.bundle_code,
        ).where(
            any_of(SubscriptionService.subscription_id, sub_ids), SubscriptionService.bundle_code.is_not(None)
        )
    ).all()
    sold = [(row.subscription_id, row.id, row.plan_code, row.bundle_code) for row in rows]
    return _bundle_discounts(session, operator, sold)


def _bundle_discounts(
    session: Session, operator: str, sold: Sequence[tuple[str, str, str, str | None]]
) -> dict[str, dict[str, tuple[str, Decimal]]]:
    """(subscription, service, plan code, bundle code) of services sold in a bundle → per subscription,
    the discounted ones: (bundle, percent). Reads the operator's bundles only when there is one."""
    if not sold:
        return {}
    bundles = {
        row.code: BundleSpec.model_validate(row.spec)
        for row in session.execute(select(Bundle).where(Bundle.organisation_id == operator)).scalars()
    }
    found: dict[str, dict[str, tuple[str, Decimal]]] = defaultdict(dict)
    for sub_id, service_id, plan_code, code in sold:
        bundle = bundles.get(code or "")
        if bundle is not None and bundle.discount_percent and plan_code in bundle.plan_codes:
            found[sub_id][service_id] = (bundle.code, bundle.discount_percent)
    return found


def charges_billed(session: Session, sub_id: str) -> set[ChargeSpan]:
    """The rental and discount periods runs billed for one subscription (a change's credits read them)."""
    return _billed(session, [sub_id]).get(sub_id, set())


def discount_of(session: Session, operator: str, sub_id: str, service_id: str) -> tuple[str, Decimal] | None:
    """The bundle and percent a service is discounted by, if it was sold in a discounted bundle."""
    return _discounts(session, operator, [sub_id]).get(sub_id, {}).get(service_id)


def load_extras(session: Session, operator: str, entries: list[AccountToBill]) -> dict[str, Extras]:
    """Each subscription's rentals' and discounts' inputs, by subscription id."""
    subs = [(entry.account, sub) for entry in entries for sub in entry.subscriptions]
    sub_ids = [sub.subscription_id for _, sub in subs]
    if not sub_ids:
        return {}
    renting = {  # line -> its subscription
        span.line_id: sub.subscription_id
        for _, sub in subs
        for span in sub.services
        if span.plan.device is not None and span.plan.device.mode == "rent"
    }
    timezones = {sub.subscription_id: account.timezone for account, sub in subs}
    returned = _returned(session, renting, timezones)
    billed = _billed(session, sub_ids, rental_runs=True)
    # the page's services came with their bundle (page_data): no query unless one was sold in a bundle
    sold = [
        (sub.subscription_id, span.service_id, span.plan.code, span.bundle_code)
        for _, sub in subs
        for span in sub.services
        if span.bundle_code is not None
    ]
    discounts = _bundle_discounts(session, operator, sold)
    offers = active_discounts(session, sub_ids)
    return {
        sub_id: Extras(
            frozenset(billed.get(sub_id, ())),
            {line: day for line, day in returned.items() if renting[line] == sub_id},
            dict(discounts.get(sub_id, {})),
            offers.get(sub_id, ()),
        )
        for sub_id in sub_ids
    }


def billed_charge_rows(charges: list[tuple[str, ChargeSpan]], invoice_id: str) -> list[dict[str, Any]]:
    """The guard rows of an invoice's rentals and discounts (``invoice_id`` empty: nothing charged)."""
    return [
        {
            "subscription_id": sub_id,
            "charge": span.charge,
            "key": span.key,
            "period_start": span.start,
            "period_end": span.end,
            "invoice_id": invoice_id,
        }
        for sub_id, span in charges
    ]
