"""Segment rules: a small language of JSON data over what the platform knows of an account, validated here and
never evaluated as code (activities/segments/compiler.py turns a valid tree into one parameterised SQL query).

A rule is a combinator or a predicate::

    {"all": [rule, ...]}   {"any": [rule, ...]}   {"not": rule}
    {"field": "country", "in": ["DE", "AT"]}
    {"field": "usage", "metric": "data_mb", "op": "gt", "value": 1000, "period": {"last_months": 3}}

Predicates by family (``field``):

- demographics: ``account_type`` (person/company), ``language``, ``age_band`` (``min``/``max`` whole years
  of age on the as-of date, both included; only accounts with a birth date can match it);
- location (any of the account's addresses): ``country``, ``region``, ``city`` (``in``), ``postal_code``
  (``prefix``);
- products (active services of active or suspended subscriptions): ``plan``, ``product_kind``, ``bundle``
  (``in``), ``service_count`` (``op``/``value``);
- tenure: ``tenure_months`` — whole months from the first subscription's start to the as-of date;
- behaviour, over a ``period``: ``usage`` (sum of a metric's quantity), ``amount_billed`` (issued invoices'
  totals), ``amount_paid`` (succeeded payments less refunds), ``late_payments`` (invoices due in the period
  not settled by their due date), ``dunning_steps`` (dunning steps taken); and ``payment_method`` (an active
  method of a kind), ``wallet_balance`` (in a currency, now);
- status: ``status`` (the account's), ``subscription_status`` (has a subscription in one of these).

A ``period`` is ``{"last_months": N}`` (the N months up to the as-of date) or ``{"from": d1, "until": d2}``
(``until`` excluded). Amounts are integer minor units of the named ``currency``.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    StringConstraints,
    Tag,
    TypeAdapter,
    ValidationError,
    model_validator,
)

MAX_NODES = 200
MAX_DEPTH = 12
MAX_LIST = 200

Op = Literal["gt", "gte", "lt", "lte", "eq", "ne"]
Code = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Word = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
Country = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]


class _Node(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Period(_Node):
    """``last_months`` back from the as-of date, or the dates ``from`` (included) to ``until`` (excluded)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    last_months: int | None = Field(default=None, ge=1, le=120, strict=True)
    from_: date | None = Field(default=None, alias="from")
    until: date | None = None

    @model_validator(mode="after")
    def _one_form(self) -> Period:
        dated = self.from_ is not None and self.until is not None
        if (self.last_months is None) == (not dated) or (self.from_ is None) != (self.until is None):
            raise ValueError("give either last_months, or both from and until")
        if dated and self.until <= self.from_:  # type: ignore[operator]
            raise ValueError("until must be after from")
        return self

    def bounds(self, as_of: date) -> tuple[date, date]:
        """The dates ``[start, end)`` the period covers, read at ``as_of`` (the as-of day included)."""
        if self.last_months is not None:
            return add_months(as_of, -self.last_months), date.fromordinal(as_of.toordinal() + 1)
        assert self.from_ is not None and self.until is not None
        return self.from_, self.until


class _In(_Node):
    """A predicate on membership of a value in a list (``in``)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _in() -> Any:
    return Field(alias="in", min_length=1, max_length=MAX_LIST)


class _Count(_Node):
    op: Op
    value: int = Field(ge=0, le=10**12, strict=True)


class AccountType(_In):
    field: Literal["account_type"]
    in_: list[Literal["person", "company"]] = _in()


class Language(_In):
    field: Literal["language"]
    in_: list[Word] = _in()


MAX_AGE = 150


class AgeBand(_Node):
    """Whole years of age on the as-of date between ``min`` and ``max`` (both included; one may be left
    out). An account without a birth date matches no age band (nor its ``not``: it is unknown, not young)."""

    field: Literal["age_band"]
    min: int | None = Field(default=None, ge=0, le=MAX_AGE, strict=True)
    max: int | None = Field(default=None, ge=0, le=MAX_AGE, strict=True)

    @model_validator(mode="after")
    def _a_band(self) -> AgeBand:
        if self.min is None and self.max is None:
            raise ValueError("give min, max or both (whole years of age)")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError("min must not be above max")
        return self


class AccountStatus(_In):
    field: Literal["status"]
    in_: list[Literal["active", "closed"]] = _in()


class CountryIn(_In):
    field: Literal["country"]
    in_: list[Country] = _in()


class RegionIn(_In):
    field: Literal["region"]
    in_: list[Word] = _in()


class CityIn(_In):
    field: Literal["city"]
    in_: list[Word] = _in()


class PostalCodePrefix(_Node):
    field: Literal["postal_code"]
    prefix: Annotated[str, StringConstraints(min_length=1, max_length=20, pattern=r"^[A-Za-z0-9 -]+$")]


class PlanIn(_In):
    field: Literal["plan"]
    in_: list[Word] = _in()


class ProductKindIn(_In):
    field: Literal["product_kind"]
    in_: list[Literal["video", "broadband", "telephony", "device", "fee", "partner_service"]] = _in()


class BundleIn(_In):
    field: Literal["bundle"]
    in_: list[Word] = _in()


class ServiceCount(_Count):
    field: Literal["service_count"]


class SubscriptionStatus(_In):
    field: Literal["subscription_status"]
    in_: list[Literal["draft", "active", "suspended", "terminated", "regretted", "failed"]] = _in()


class TenureMonths(_Count):
    field: Literal["tenure_months"]


class Usage(_Count):
    field: Literal["usage"]
    metric: Code
    period: Period


class AmountBilled(_Count):
    field: Literal["amount_billed"]
    currency: Currency
    period: Period


class AmountPaid(_Count):
    field: Literal["amount_paid"]
    currency: Currency
    period: Period


class PaymentMethodIn(_In):
    field: Literal["payment_method"]
    in_: list[Literal["card", "sepa_debit", "cash", "wallet", "voucher"]] = _in()


class LatePayments(_Count):
    field: Literal["late_payments"]
    period: Period


class DunningSteps(_Count):
    field: Literal["dunning_steps"]
    period: Period


class WalletBalance(_Node):
    field: Literal["wallet_balance"]
    currency: Currency
    op: Op
    value: int = Field(ge=-(10**15), le=10**15, strict=True)


class All(_Node):
    all: list[Rule] = Field(min_length=1, max_length=MAX_LIST)


class AnyOf(_Node):
    any: list[Rule] = Field(min_length=1, max_length=MAX_LIST)


class Not(_Node):
    not_: Rule = Field(alias="not")
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


PREDICATES: dict[str, type[_Node]] = {
    "account_type": AccountType,
    "language": Language,
    "age_band": AgeBand,
    "status": AccountStatus,
    "country": CountryIn,
    "region": RegionIn,
    "city": CityIn,
    "postal_code": PostalCodePrefix,
    "plan": PlanIn,
    "product_kind": ProductKindIn,
    "bundle": BundleIn,
    "service_count": ServiceCount,
    "subscription_status": SubscriptionStatus,
    "tenure_months": TenureMonths,
    "usage": Usage,
    "amount_billed": AmountBilled,
    "amount_paid": AmountPaid,
    "payment_method": PaymentMethodIn,
    "late_payments": LatePayments,
    "dunning_steps": DunningSteps,
    "wallet_balance": WalletBalance,
}
"""Every predicate by its ``field`` (the tag of the rule union)."""

COMBINATORS = ("all", "any", "not")
_TAG_PREFIX = "rule:"  # tags never collide with the keys of a rule's JSON


def _tag(value: Any) -> str | None:
    if isinstance(value, BaseModel):
        value = value.model_dump(by_alias=True)
    if not isinstance(value, dict):
        return None
    for key in COMBINATORS:
        if key in value:
            return _TAG_PREFIX + key
    field = value.get("field")
    return _TAG_PREFIX + field if isinstance(field, str) and field in PREDICATES else None


Rule = Annotated[
    Annotated[All, Tag(_TAG_PREFIX + "all")]
    | Annotated[AnyOf, Tag(_TAG_PREFIX + "any")]
    | Annotated[Not, Tag(_TAG_PREFIX + "not")]
    | Annotated[AccountType, Tag(_TAG_PREFIX + "account_type")]
    | Annotated[Language, Tag(_TAG_PREFIX + "language")]
    | Annotated[AgeBand, Tag(_TAG_PREFIX + "age_band")]
    | Annotated[AccountStatus, Tag(_TAG_PREFIX + "status")]
    | Annotated[CountryIn, Tag(_TAG_PREFIX + "country")]
    | Annotated[RegionIn, Tag(_TAG_PREFIX + "region")]
    | Annotated[CityIn, Tag(_TAG_PREFIX + "city")]
    | Annotated[PostalCodePrefix, Tag(_TAG_PREFIX + "postal_code")]
    | Annotated[PlanIn, Tag(_TAG_PREFIX + "plan")]
    | Annotated[ProductKindIn, Tag(_TAG_PREFIX + "product_kind")]
    | Annotated[BundleIn, Tag(_TAG_PREFIX + "bundle")]
    | Annotated[ServiceCount, Tag(_TAG_PREFIX + "service_count")]
    | Annotated[SubscriptionStatus, Tag(_TAG_PREFIX + "subscription_status")]
    | Annotated[TenureMonths, Tag(_TAG_PREFIX + "tenure_months")]
    | Annotated[Usage, Tag(_TAG_PREFIX + "usage")]
    | Annotated[AmountBilled, Tag(_TAG_PREFIX + "amount_billed")]
    | Annotated[AmountPaid, Tag(_TAG_PREFIX + "amount_paid")]
    | Annotated[PaymentMethodIn, Tag(_TAG_PREFIX + "payment_method")]
    | Annotated[LatePayments, Tag(_TAG_PREFIX + "late_payments")]
    | Annotated[DunningSteps, Tag(_TAG_PREFIX + "dunning_steps")]
    | Annotated[WalletBalance, Tag(_TAG_PREFIX + "wallet_balance")],
    Discriminator(
        _tag,
        custom_error_type="unknown_rule",
        custom_error_message="not a rule: expected all, any, not, or a field among the known predicates",
    ),
]

All.model_rebuild()
AnyOf.model_rebuild()
Not.model_rebuild()
_RULE: TypeAdapter[Any] = TypeAdapter(Rule)


@dataclass(frozen=True)
class RuleError:
    """One thing wrong with a rule: where (a JSON pointer into the rule) and what."""

    pointer: str
    message: str


class InvalidRule(ValueError):
    def __init__(self, errors: list[RuleError]) -> None:
        super().__init__("; ".join(f"{e.pointer or '/'}: {e.message}" for e in errors))
        self.errors = errors


def _escape(part: str) -> str:
    return part.replace("~", "~0").replace("/", "~1")


def pointer_of(data: Any, loc: tuple[int | str, ...], kind: str) -> str:
    """The JSON pointer of a pydantic error location in ``data``; union tags in ``loc`` are skipped."""
    parts: list[str] = []
    node = data
    for step in loc:
        if isinstance(step, str) and step.startswith(_TAG_PREFIX):
            continue
        if isinstance(node, list) and isinstance(step, int):
            node = node[step] if step < len(node) else None
        elif isinstance(node, dict):
            node = node.get(step)
        else:
            node = None
        parts.append(_escape(str(step)))
    if kind == "unknown_rule" and isinstance(node, dict) and "field" in node:
        parts.append("field")
    return "".join("/" + p for p in parts)


def _shape(data: Any, depth: int = 0) -> int:
    """Nodes in the tree; refuses a tree deeper than ``MAX_DEPTH``."""
    if depth > MAX_DEPTH:
        raise InvalidRule([RuleError("", f"rules nest at most {MAX_DEPTH} levels")])
    if isinstance(data, dict):
        kids = [data[k] for k in COMBINATORS if k in data]
        flat = [x for k in kids for x in (k if isinstance(k, list) else [k])]
        return 1 + sum(_shape(x, depth + 1) for x in flat)
    return 1


def parse_rule(data: Any) -> Any:
    """The validated rule tree of JSON ``data``, or :class:`InvalidRule` naming every wrong field."""
    if _shape(data) > MAX_NODES:
        raise InvalidRule([RuleError("", f"a rule has at most {MAX_NODES} parts")])
    try:
        return _RULE.validate_python(data)
    except ValidationError as exc:
        errors = [
            RuleError(pointer_of(data, tuple(e["loc"]), e["type"]), e["msg"])
            for e in exc.errors(include_url=False)
        ]
        raise InvalidRule(errors) from None


def rule_json(rule: Any) -> dict[str, Any]:
    """The canonical JSON of a validated rule (what is stored)."""
    return dict(_RULE.dump_python(rule, mode="json", by_alias=True, exclude_none=True))


def add_months(day: date, months: int) -> date:
    """``day`` moved by ``months`` calendar months, clamped to the end of a shorter month."""
    year, month = divmod(day.year * 12 + day.month - 1 + months, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def zero_passes(op: str, value: int) -> bool:
    """Whether an account with nothing (a sum or count of 0) satisfies ``op value``: such predicates are
    compiled as "not among those whose total fails" so that accounts without rows are counted."""
    return compare(0, op, value)


def compare(left: int, op: str, right: int) -> bool:
    return {
        "gt": left > right,
        "gte": left >= right,
        "lt": left < right,
        "lte": left <= right,
        "eq": left == right,
        "ne": left != right,
    }[op]


def predicates_of(rule: Any) -> list[Any]:
    """Every predicate in the tree, depth first."""
    if isinstance(rule, All):
        return [p for r in rule.all for p in predicates_of(r)]
    if isinstance(rule, AnyOf):
        return [p for r in rule.any for p in predicates_of(r)]
    if isinstance(rule, Not):
        return predicates_of(rule.not_)
    return [rule]
