"""Assemble a quote from the catalogue: resolve plan versions, add-on rules, bundles, taxes, price lists."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import Text, func, select
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.orm import Session

from activities.accounts.records import visible_account
from activities.catalog import records as catalog
from activities.offers.billing import active_discounts
from activities.offers.catalogue import find_offer, terms_of
from domain.catalog import MAX_CALL_SECONDS, Code, PlanSpec, PriceListSpec, Quantity
from domain.errors import RuleViolation
from domain.fields import Country, Currency, TimeZone
from domain.memo import Memo
from domain.money import Money, PricingError, RoundingMode, check_amount
from domain.offers import DISCOUNT_KINDS, ActiveDiscount, discount_quote_lines
from domain.periods import period_containing
from domain.principal import Principal
from domain.quote import MAX_PERIODS, Quote, QuoteContext, QuoteItem, bill_day_for, quote
from domain.tax import TaxRate, TaxStatus
from models.catalog import PlanVersion, PriceList, TaxRateRow
from models.organisations import Organisation
from models.subscriptions import Subscription

MAX_CALLS = 10_000
"""Calls a quote rates, over all its items: one request never rates more than this."""
CallDurations = Annotated[
    list[Annotated[int, Field(strict=True, ge=0, le=MAX_CALL_SECONDS)]], Field(max_length=MAX_CALLS)
]


class QuoteItemIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    plan: Code
    quantity: int = Field(default=1, ge=1, le=10_000)
    start: date
    periods: int = Field(default=1, ge=1, le=36, description="Billing periods to show from the start")
    change_to: Code | None = Field(default=None, description="Plan to change to on change_on")
    change_on: date | None = None
    stop: date | None = None
    usage: dict[Code, Quantity] = Field(default_factory=dict, max_length=50)
    calls: dict[Code, CallDurations] = Field(
        default_factory=dict, max_length=10, description="Call durations in seconds, rated one by one"
    )
    addons: list[Code] = Field(default_factory=list, max_length=20)
    bundle: Code | None = None


class QuoteRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    account_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        description="Price for this account; else give currency etc.",
    )
    country: Country | None = None
    region: str | None = Field(default=None, max_length=20)
    currency: Currency | None = None
    timezone: TimeZone | None = None
    tax_status: TaxStatus | None = None
    bill_day: int | None = Field(default=None, ge=1, le=31)
    items: list[QuoteItemIn] = Field(min_length=1, max_length=50)
    offer_id: str | None = Field(
        default=None,
        max_length=64,
        description="Show this discount offer's lines (the account's accepted ones always show)",
    )

    @model_validator(mode="after")
    def _who(self) -> QuoteRequest:
        if self.account_id is None and self.currency is None:
            raise ValueError("give an account_id, or a currency (with country and timezone) to price for")
        calls = sum(len(durations) for item in self.items for durations in item.calls.values())
        if calls > MAX_CALLS:
            raise PricingError("too_many_calls", f"a quote rates at most {MAX_CALLS} calls, not {calls}")
        return self


@dataclass(frozen=True)
class PricedQuote:
    quote: Quote
    context: QuoteContext
    timezone: str
    tax_inclusive: bool


_PLANS: Memo[str, PlanSpec] = Memo(4096)
"""Parsed plan versions by id: a saved version is never changed (a new price is a new version), so its
parsed definition is reused and a quote reads only the id of the version on sale."""


def _plan(session: Session, org_id: str, code: str, on: date) -> PlanSpec:
    """The version of plan ``code`` on sale on ``on``, parsed once per version."""
    version_id = session.execute(
        select(PlanVersion.id)
        .where(
            PlanVersion.organisation_id == org_id, PlanVersion.code == code, PlanVersion.effective_from <= on
        )
        .order_by(PlanVersion.effective_from.desc())
        .limit(1)
    ).scalar_one_or_none()
    spec = _PLANS.get(version_id) if version_id is not None else None
    if spec is None:
        row = catalog.plan_on(session, org_id, code, on)  # its errors: plan_not_found, not yet effective
        spec = _PLANS.put(row.id, PlanSpec.model_validate(row.spec))
    return spec


@dataclass(frozen=True)
class _Place:
    rounding: RoundingMode
    tax_rates: dict[str, TaxRate]
    price_list: PriceListSpec | None


def _place(session: Session, org_id: str, country: str | None, region: str | None, currency: str) -> _Place:
    """The operator's rounding, the place's tax rates (a region's own rate wins over the country's) and
    its price list, in one round trip (what ``catalog.tax_rates_for`` and ``price_list_for`` read)."""
    rates = (
        select(
            func.json_agg(
                aggregate_order_by(
                    func.json_build_array(
                        TaxRateRow.country,
                        TaxRateRow.region,
                        TaxRateRow.category,
                        TaxRateRow.percent.cast(Text),
                    ),
                    TaxRateRow.region,
                )
            )
        )
        .where(
            TaxRateRow.organisation_id == org_id,
            TaxRateRow.country == country,
            TaxRateRow.region.in_(["", region or ""]),
        )
        .scalar_subquery()
    )
    price_list = (
        select(PriceList.spec)
        .where(
            PriceList.organisation_id == org_id, PriceList.country == country, PriceList.currency == currency
        )
        .scalar_subquery()
    )
    row = session.execute(
        select(Organisation.rounding_mode, rates, price_list).where(Organisation.id == org_id)
    ).one()
    tax_rates: dict[str, TaxRate] = {}
    for place_country, place_region, category, percent in (row[1] or []) if country else []:
        code = f"{place_country}{'-' + place_region if place_region else ''}-{category}"
        tax_rates[category] = TaxRate(code, Decimal(percent).normalize())
    spec = PriceListSpec.model_validate(row[2]) if country and row[2] is not None else None
    return _Place(RoundingMode(row[0]), tax_rates, spec)


def _free(plan: PlanSpec) -> PlanSpec:
    """An add-on included in its base plan: the same plan at no recurring price."""
    phases = [p.model_copy(update={"prices": {c: Decimal(0) for c in p.prices}}) for p in plan.phases]
    return plan.model_copy(update={"phases": phases})


def _addon_items(session: Session, org_id: str, base: PlanSpec, item: QuoteItemIn) -> list[QuoteItem]:
    rules = {r.plan_code: r.rule for r in base.addons}
    for code, rule in rules.items():
        if rule == "required" and code not in item.addons:
            raise RuleViolation("addon_required", f"plan {base.code} requires add-on {code}", field="addons")
    items = []
    for code in item.addons:
        if code not in rules:
            raise RuleViolation(
                "addon_not_allowed", f"add-on {code} is not allowed on plan {base.code}", field="addons"
            )
        addon = _plan(session, org_id, code, item.start)
        if addon.role != "addon":
            raise RuleViolation("not_an_addon", f"plan {code} is a base plan, not an add-on", field="addons")
        addon = _free(addon) if rules[code] == "included" else addon
        items.append(QuoteItem(addon, item.start, item.quantity, item.periods, stop=item.stop))
    return items


def _check_span(plan: PlanSpec, item: QuoteItemIn, index: int, ctx: QuoteContext) -> None:
    """``change_on`` and ``stop`` fall within MAX_PERIODS billing periods of the start (a daily plan
    stopped in the year 9999 would otherwise price millions of periods)."""
    bill_day = bill_day_for(plan, item.start, ctx)
    unit, interval = plan.billing_period, plan.billing_interval
    last = item.start
    for _ in range(MAX_PERIODS):
        last = period_containing(last, bill_day, unit, interval, anchor=item.start).end
    for name, day in (("change_on", item.change_on), ("stop", item.stop)):
        if day is not None and day > last:
            raise PricingError(
                "date_out_of_range",
                f"{name} {day} is more than {MAX_PERIODS} billing periods after the start (last {last})",
                field=f"items.{index}.{name}",
            )


def _items(
    session: Session, org_id: str, item: QuoteItemIn, index: int, ctx: QuoteContext
) -> list[QuoteItem]:
    base = _plan(session, org_id, item.plan, item.start)
    if not base.access_hours:
        _check_span(base, item, index, ctx)
    change_to = (
        _plan(session, org_id, item.change_to, item.change_on or item.start) if item.change_to else None
    )
    discount, bundle_code = Decimal(0), None
    if item.bundle:
        bundle = catalog.bundle(session, org_id, item.bundle)
        if item.plan not in bundle.plan_codes:
            raise RuleViolation(
                "not_in_bundle", f"plan {item.plan} is not part of bundle {item.bundle}", field="bundle"
            )
        discount, bundle_code = bundle.discount_percent, bundle.code
    main = QuoteItem(
        base,
        item.start,
        quantity=item.quantity,
        periods=item.periods,
        change_to=change_to,
        change_on=item.change_on,
        stop=item.stop,
        usage=dict(item.usage),
        calls={metric: list(durations) for metric, durations in item.calls.items()},
        bundle_code=bundle_code,
        bundle_discount=discount,
    )
    return [main, *_addon_items(session, org_id, base, item)]


def build_quote(session: Session, principal: Principal, request: QuoteRequest) -> PricedQuote:
    org_id = catalog.operator_of(principal)
    country, currency, timezone = request.country, request.currency, request.timezone
    region = request.region
    tax_status = request.tax_status
    account_id: str | None = None
    if request.account_id:
        account = visible_account(session, principal, request.account_id)
        account_id = account.id
        billing = next((a for a in account.addresses if a.get("kind") == "billing"), None)
        country = country or (billing or {}).get("country")
        region = request.region or (billing or {}).get("region")
        currency, timezone = currency or account.currency, timezone or account.timezone
        tax_status = tax_status or TaxStatus(account.tax_status)
    assert currency is not None
    place = _place(session, org_id, country, region, currency)
    price_list = place.price_list
    context = QuoteContext(
        currency=currency,
        country=country,
        bill_day=request.bill_day,
        tax_status=tax_status or TaxStatus.TAXABLE,
        tax_rates=place.tax_rates,
        rounding=place.rounding,
        tax_inclusive=price_list.tax_inclusive if price_list else False,
        price_overrides=dict(price_list.recurring) if price_list else {},
    )
    items: list[QuoteItem] = []
    for index, item in enumerate(request.items):
        items += _items(session, org_id, item, index, context)
    discounts = offer_discounts(session, org_id, request.offer_id, account_id)
    return PricedQuote(_bounded(items, context, discounts), context, timezone or "UTC", context.tax_inclusive)


def offer_discounts(
    session: Session, org_id: str, offer_id: str | None, account_id: str | None
) -> list[ActiveDiscount]:
    """The discount offers a quote shows: the one asked for (from the first period) and the account's
    accepted ones (their periods not billed yet)."""
    found: list[ActiveDiscount] = []
    if offer_id:
        offer = find_offer(session, org_id, offer_id)
        if offer.kind not in DISCOUNT_KINDS:
            raise RuleViolation(
                "offer_not_a_discount", f"offer {offer.code} gives no discount", field="offer_id"
            )
        found.append(ActiveDiscount(offer.id, offer.code, terms_of(offer), date.min))
    if account_id:
        subs = session.execute(select(Subscription.id).where(Subscription.account_id == account_id)).scalars()
        for discounts in active_discounts(session, list(subs)).values():
            found += discounts
    return found


def _bounded(
    items: list[QuoteItem], context: QuoteContext, discounts: list[ActiveDiscount] | None = None
) -> Quote:
    """The quote, refused (422 ``amount_too_large``) if a line or a total exceeds 10^13 major units:
    no invoice could carry it. Prices and quantities are bounded, so within that bound all is exact."""
    try:
        result = quote(items, context, adjust=lambda lines: discount_quote_lines(discounts or [], lines))
    except InvalidOperation:  # beyond the 28 digits of the decimal context: far above the bound
        raise PricingError(
            "amount_too_large", "the quote's amounts exceed 10^13 major units", field="items"
        ) from None
    amounts: list[Money] = [line.amount for line in result.lines]
    amounts += [result.tax.net, result.tax.tax, result.tax.gross]
    for amount in amounts:
        check_amount(amount.amount_minor, amount.currency, field="items")
    return result


__all__ = ["PricedQuote", "QuoteItemIn", "QuoteRequest", "build_quote"]
