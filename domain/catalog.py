"""The catalogue's definitions (products, plans, bundles, taxes, price lists) and their rules.

Pure pydantic models, validated here so the API and the engine agree: a plan with overlapping
phases, a tier table with gaps, a price with more decimals than its currency, a tax rate outside
[0, 100]% never enters the catalogue. Money amounts are ``Decimal`` major units in definitions
(``"29.99"``); usage unit prices may carry up to 6 decimals (rates), call rates 8, every other
price at most the currency's minor units. Every price is a :data:`domain.money.Price` (finite,
0 to 10^13), every percentage a :data:`Percent`, every usage quantity a :data:`Quantity`: NaN,
``1e400`` or a thousand digits are refused with a 422 naming the field, never a 500 later.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from domain.currency import MAX_MAJOR_UNITS, MINOR_UNITS
from domain.money import PRICE_PLACES, DecimalBound, Price, PricingError
from domain.periods import BillingPeriodUnit

MAX_CALL_SECONDS = 86_400
Code = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$")]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
RATE_PLACES = PRICE_PLACES
CALL_RATE_PLACES = 8
MAX_QUANTITY = Decimal(10**12)

CallRate = Annotated[
    Decimal,
    Field(allow_inf_nan=True, description="A call rate or fee, 0 to 10^13 with at most 8 decimals"),
    AfterValidator(DecimalBound("price", Decimal(MAX_MAJOR_UNITS), CALL_RATE_PLACES)),
]
"""A telephony rate (per rate unit) or connect fee: a :data:`Price` that may be 8 decimals fine."""
Percent = Annotated[
    Decimal,
    Field(allow_inf_nan=True, description="A percentage, 0 to 100 with at most 6 decimals"),
    AfterValidator(DecimalBound("percent", Decimal(100), 6, out_of_range="percent_out_of_range")),
]
Quantity = Annotated[
    Decimal,
    Field(allow_inf_nan=True, description="A count of usage units, 0 to 10^12 with at most 6 decimals"),
    AfterValidator(DecimalBound("quantity", MAX_QUANTITY, 6)),
]
"""A usage quantity (tier bound, allowance, block, a quote's usage): 0 to 10^12 units, 6 decimals."""


def _currency_code(code: str) -> str:
    if code not in MINOR_UNITS:
        raise PricingError("currency_unknown", f"{code!r} is not an ISO 4217 currency code")
    return code


def _amounts(prices: dict[str, Decimal], *, places: int | None = None) -> dict[str, Decimal]:
    for currency, amount in prices.items():
        _currency_code(currency)
        allowed = MINOR_UNITS[currency] if places is None else places
        if amount < 0:
            raise PricingError("price_negative", f"{currency} price {amount} is negative")
        if amount != amount.quantize(Decimal(1).scaleb(-allowed)):  # bounded: quantize cannot fail
            raise PricingError(
                "currency_precision",
                f"{currency} {amount} has more than {allowed} decimals"
                + (" (the currency's minor unit)" if places is None else ""),
            )
    return prices


def _money_map(prices: dict[str, Decimal]) -> dict[str, Decimal]:
    return _amounts(prices)


def _rate_map(prices: dict[str, Decimal]) -> dict[str, Decimal]:
    return _amounts(prices, places=RATE_PLACES)


Prices = Annotated[dict[str, Price], AfterValidator(_money_map), Field(max_length=200)]
RatePrices = Annotated[dict[str, Price], AfterValidator(_rate_map), Field(max_length=200)]


class Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ProductKind(StrEnum):
    VIDEO = "video"
    BROADBAND = "broadband"
    TELEPHONY = "telephony"
    DEVICE = "device"
    FEE = "fee"
    PARTNER_SERVICE = "partner_service"
    MOBILE = "mobile"  # a mobile line on a host network (MVNO): a SIM device, an MSISDN


class Characteristic(Spec):
    """A typed attribute of a product, e.g. download speed 600 Mbit/s or a channel pack."""

    name: Code
    type: Literal["integer", "decimal", "string", "boolean", "list"]
    value: Any
    unit: str | None = Field(default=None, max_length=20)

    @model_validator(mode="after")
    def _typed(self) -> Characteristic:
        checks = {
            "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
            "decimal": lambda v: isinstance(v, str | int) and not isinstance(v, bool) and _is_number(v),
            "string": lambda v: isinstance(v, str),
            "boolean": lambda v: isinstance(v, bool),
            "list": lambda v: isinstance(v, list) and all(isinstance(i, str) for i in v),
        }
        if not checks[self.type](self.value):
            raise PricingError(
                "characteristic_type", f"characteristic {self.name} is not a valid {self.type}"
            )
        return self


def _is_number(value: str | int) -> bool:
    try:
        Decimal(str(value))
    except ArithmeticError:
        return False
    return True


class PartnerServiceSpec(Spec):
    """What a ``partner_service`` product sells: a membership at a provider (Netflix…) on one of its
    plans, with the most the provider may charge per period, and whether the plan's price covers it."""

    provider: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{1,31}$")] = Field(
        description="The provider's name in the partner registry: netflix, …"
    )
    partner_plan: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]{1,32}$")] = Field(
        description="The provider's plan code, e.g. STANDARD"
    )
    allowance_minor: int = Field(
        ge=0, le=10**15, description="Most the provider may charge per period, in currency minor units"
    )
    currency: Annotated[str, AfterValidator(_currency_code)]
    included_in_price: bool = Field(
        default=False,
        description="The plan's or bundle's price includes the provider's charges (the subscriber pays "
        "nothing more); otherwise accepted charges are billed to the subscriber",
    )
    channel: Literal["WEB", "STORE", "MOBILE", "BROADBAND", "OTHER"] = "BROADBAND"
    promotion_code: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]{1,64}$")] | None = Field(
        default=None, description="A promotion the provider applies to members signed up through this product"
    )


class ProductSpec(Spec):
    code: Code
    name: Name
    kind: ProductKind
    traceable: bool = Field(default=False, description="Devices tracked one by one by serial number")
    characteristics: list[Characteristic] = Field(default_factory=list, max_length=50)
    partner: PartnerServiceSpec | None = Field(
        default=None, description="partner_service products only (required there): the membership sold"
    )

    @model_validator(mode="after")
    def _devices_only_traceable(self) -> ProductSpec:
        if self.traceable and self.kind is not ProductKind.DEVICE:
            raise PricingError("traceable_not_device", "only device products are traceable by serial")
        if self.kind is ProductKind.PARTNER_SERVICE and self.partner is None:
            raise PricingError(
                "partner_spec_missing",
                f"product {self.code} is a partner_service: give partner (provider, partner_plan, "
                "allowance_minor, currency)",
            )
        if self.partner is not None and self.kind is not ProductKind.PARTNER_SERVICE:
            raise PricingError(
                "partner_spec_not_allowed", "only partner_service products carry a partner spec"
            )
        return self


class PhaseKind(StrEnum):
    TRIAL = "trial"
    DISCOUNT = "discount"
    FIXED_TERM = "fixed_term"
    EVERGREEN = "evergreen"


class Duration(Spec):
    unit: Literal["day", "week", "month", "year"]
    count: int = Field(ge=1, le=1200)


class Phase(Spec):
    kind: PhaseKind
    duration: Duration | None = Field(default=None, description="None: the phase never ends (last only)")
    prices: Prices = Field(default_factory=dict, description="Recurring price per billing period")


class Tier(Spec):
    up_to: Quantity | None = Field(description="Upper bound (inclusive); null for the last, open tier")
    unit_price: Price
    flat_fee: Price = Decimal(0)


class RateGroupSpec(Spec):
    start: int = Field(ge=0, le=MAX_CALL_SECONDS, description="Seconds into the call where this group starts")
    rate: CallRate = Field(description="Price per rate_unit seconds")
    rate_unit: int = Field(gt=0, le=MAX_CALL_SECONDS)
    increment: int = Field(gt=0, le=MAX_CALL_SECONDS, description="Charged in steps of this many seconds")


class CallTariff(Spec):
    """Telephony rating of each call: connect fee, rate groups, rounded once per call."""

    connect_fee: CallRate = Decimal(0)
    groups: list[RateGroupSpec] = Field(min_length=1, max_length=10)
    precision: int = Field(default=4, ge=0, le=10)
    rounding: Literal["up", "half_up", "down", "half_even"] = "up"


class UsagePrice(Spec):
    """How one currency prices a usage metric: a unit price, a tier table, or a call tariff."""

    call: CallTariff | None = None
    unit_price: Price | None = None
    tiers: list[Tier] | None = Field(default=None, max_length=50)
    minimum: Price | None = Field(default=None, description="Minimum charge per period")


class UsageCharge(Spec):
    metric: Code
    unit: str = Field(default="unit", max_length=20)
    model: Literal["per_unit", "graduated", "volume", "call"] = "per_unit"
    block_size: Quantity | None = Field(default=None, description="Billed per started block of N units")
    included: Quantity = Field(default=Decimal(0), description="Allowance included each period")
    shared: bool = Field(default=False, description="The allowance is shared by the subscription's services")
    prices: dict[str, UsagePrice] = Field(max_length=200)

    @model_validator(mode="after")
    def _consistent(self) -> UsageCharge:
        if self.block_size is not None and self.block_size <= 0:
            raise PricingError("block_size_invalid", f"{self.metric}: block_size must be above 0")
        for currency, price in self.prices.items():
            _currency_code(currency)
            if self.model == "per_unit" and price.unit_price is None:
                raise PricingError(
                    "usage_price_missing", f"{self.metric}: per_unit needs a {currency} unit_price"
                )
            if self.model == "call" and price.call is None:
                raise PricingError(
                    "usage_price_missing", f"{self.metric}: call rating needs a {currency} tariff"
                )
            if self.model in ("graduated", "volume"):
                check_tiers(self.metric, currency, price.tiers or [])
            for rate in [price.unit_price or Decimal(0), *(t.unit_price for t in price.tiers or [])]:
                _rate_map({currency: rate})
            for amount in [price.minimum or Decimal(0), *(t.flat_fee for t in price.tiers or [])]:
                _money_map({currency: amount})
        return self


def check_tiers(metric: str, currency: str, tiers: list[Tier]) -> None:
    """Tiers ascend without gaps from 0 and only the last is open-ended."""
    if not tiers:
        raise PricingError("tiers_missing", f"{metric}: {currency} needs at least one tier")
    previous = Decimal(0)
    for index, tier in enumerate(tiers):
        last = index == len(tiers) - 1
        if tier.up_to is None and not last:
            raise PricingError("tier_gap", f"{metric}: only the last {currency} tier may be open-ended")
        if tier.up_to is not None and tier.up_to <= previous:
            raise PricingError(
                "tier_bounds_descending",
                f"{metric}: {currency} tier {index + 1} ends at {tier.up_to}, not above {previous}",
            )
        previous = tier.up_to if tier.up_to is not None else previous


class OneOffFee(Spec):
    code: Code
    name: Name
    prices: Prices


class DeviceTerms(Spec):
    product_code: Code
    mode: Literal["rent", "sell"]
    prices: Prices = Field(description="Rent: per billing period; sell: once")


class AddonRule(Spec):
    plan_code: Code
    rule: Literal["allowed", "included", "required"]
    survives_change: bool = Field(default=False, description="Kept when the base plan changes to another")


class BillingTerm(StrEnum):
    IN_ADVANCE = "in_advance"
    IN_ARREARS = "in_arrears"
    PREPAID = "prepaid"  # debited from the wallet each period
    VOUCHER = "voucher"


PREPAID_TERMS = (BillingTerm.PREPAID.value, BillingTerm.VOUCHER.value)  # paid from the wallet, never invoiced


class PlanSpec(Spec):
    code: Code
    name: Name
    product_code: Code
    role: Literal["base", "addon"] = "base"
    billing_period: BillingPeriodUnit = BillingPeriodUnit.MONTH
    billing_interval: int = Field(default=1, ge=1, le=36)
    billing_term: BillingTerm = BillingTerm.IN_ADVANCE
    change_policy: Literal["immediate", "end_of_term"] = Field(
        default="end_of_term", description="When a downgrade from this plan takes effect (upgrades: at once)"
    )
    tax_category: Code = "standard"
    phases: list[Phase] = Field(default_factory=list, max_length=10)
    usage: list[UsageCharge] = Field(default_factory=list, max_length=20)
    one_off_fees: list[OneOffFee] = Field(default_factory=list, max_length=10)
    device: DeviceTerms | None = None
    access_hours: int | None = Field(default=None, ge=1, le=24 * 366, description="On-demand: access window")
    on_demand_prices: Prices | None = None
    addons: list[AddonRule] = Field(default_factory=list, max_length=50)
    refund_policy: Literal["prorated", "none"] = Field(
        default="prorated",
        description="On an immediate stop of a service paid in advance: credit unused days?",
    )
    cooling_off_days: int = Field(
        default=14, ge=0, le=90, description="Days in which a subscriber may regret"
    )
    invoice_on_activation: bool = Field(
        default=False,
        description="Invoice the first period and activation fees at once and collect them "
        "(terms in advance); otherwise the cycle's next bill run does",
    )

    @model_validator(mode="after")
    def _shape(self) -> PlanSpec:
        check_phases(self.phases)
        if (self.access_hours is None) != (self.on_demand_prices is None):
            raise PricingError(
                "on_demand_incomplete", "an on-demand plan needs access_hours and on_demand_prices"
            )
        if self.access_hours is None and not self.phases and not self.usage:
            raise PricingError(
                "plan_without_prices", f"plan {self.code} has no phases, usage or on-demand price"
            )
        metrics = [u.metric for u in self.usage]
        if len(metrics) != len(set(metrics)):
            raise PricingError("usage_duplicate", f"plan {self.code} prices a usage metric twice")
        if any(a.plan_code == self.code for a in self.addons):
            raise PricingError("addon_self", f"plan {self.code} cannot be its own add-on")
        return self

    def currencies(self) -> set[str]:
        found: set[str] = set()
        for phase in self.phases:
            found |= set(phase.prices)
        if self.on_demand_prices:
            found |= set(self.on_demand_prices)
        for usage in self.usage:
            found |= set(usage.prices)
        return found

    def priced_in(self, currency: str) -> bool:
        return (
            all(currency in p.prices or p.kind is PhaseKind.TRIAL for p in self.phases)
            and all(currency in u.prices for u in self.usage)
            and (self.on_demand_prices is None or currency in self.on_demand_prices)
            and all(currency in f.prices for f in self.one_off_fees)
            and (self.device is None or currency in self.device.prices)
        )


def check_phases(phases: list[Phase]) -> None:
    """Phases follow each other: only the last may be open-ended, a trial comes first, evergreen last."""
    for index, phase in enumerate(phases):
        last = index == len(phases) - 1
        if phase.duration is None and not last:
            raise PricingError(
                "phases_overlap",
                f"phase {index + 1} ({phase.kind}) never ends, so phase {index + 2} overlaps it",
            )
        if phase.kind is PhaseKind.EVERGREEN and (not last or phase.duration is not None):
            raise PricingError("phases_overlap", "an evergreen phase is the last one and has no duration")
        if phase.kind is PhaseKind.TRIAL and index != 0:
            raise PricingError("phase_order", "a free trial can only be the first phase")
    currencies = [set(p.prices) for p in phases if p.kind is not PhaseKind.TRIAL]
    if currencies and any(c != currencies[0] for c in currencies):
        raise PricingError("phase_currencies", "every paid phase must be priced in the same currencies")


class BundleSpec(Spec):
    code: Code
    name: Name
    plan_codes: list[Code] = Field(min_length=2, max_length=10)
    discount_percent: Percent = Decimal(0)

    @model_validator(mode="after")
    def _distinct(self) -> BundleSpec:
        if len(set(self.plan_codes)) != len(self.plan_codes):
            raise PricingError("bundle_duplicate_plan", f"bundle {self.code} lists a plan twice")
        return self


class TaxRateSpec(Spec):
    country: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]
    region: str | None = Field(default=None, max_length=20)
    category: Code = "standard"
    percent: Annotated[
        Decimal,
        Field(allow_inf_nan=True, description="0 to 100, at most 6 decimals"),
        AfterValidator(DecimalBound("tax_rate", Decimal(100), 6, out_of_range="tax_rate_out_of_range")),
    ]
    name: Name

    @model_validator(mode="after")
    def _range(self) -> TaxRateSpec:
        if not Decimal(0) <= self.percent <= Decimal(100):
            raise PricingError("tax_rate_out_of_range", f"tax rate {self.percent}% is outside [0, 100]%")
        return self


class PriceListSpec(Spec):
    """Prices for a market (country) and currency that override a plan's recurring prices."""

    code: Code
    country: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]
    currency: Annotated[str, AfterValidator(_currency_code)]
    tax_inclusive: bool = False
    recurring: dict[Code, Price] = Field(
        default_factory=dict, max_length=10_000, description="plan code → price per period"
    )

    @model_validator(mode="after")
    def _precision(self) -> PriceListSpec:
        for code, amount in self.recurring.items():
            try:
                _money_map({self.currency: amount})
            except PricingError as exc:
                raise PricingError(exc.code, f"price list {self.code}, plan {code}: {exc.message}") from None
        return self
