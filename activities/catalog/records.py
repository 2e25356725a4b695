"""The catalogue in the system of record: add products, plan versions, bundles, taxes, price lists.

Every write checks references (a plan's product, its add-ons, a bundle's plans) inside the same
transaction, so nothing half-valid is saved. The catalogue belongs to the root operator of the tree.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from domain.catalog import BundleSpec, PlanSpec, PriceListSpec, ProductKind, ProductSpec, TaxRateSpec
from domain.errors import Conflict, NotFound, RuleViolation
from domain.ids import new_id
from domain.principal import Principal
from domain.tax import TaxRate
from models.catalog import Bundle, PlanVersion, PriceList, Product, TaxRateRow


def operator_of(principal: Principal) -> str:
    """The root operator whose catalogue a principal sells from."""
    return principal.organisation_path.strip("/").split("/")[0]


def _insert(session: Session, row: object, what: str) -> None:
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError as exc:
        raise Conflict("already_exists", f"{what} already exists") from exc


def add_product(session: Session, org_id: str, spec: ProductSpec) -> Product:
    row = Product(
        id=new_id("prd"),
        organisation_id=org_id,
        code=spec.code,
        kind=spec.kind.value,
        name=spec.name,
        spec=spec.model_dump(mode="json"),
    )
    _insert(session, row, f"product {spec.code}")
    return row


def product(session: Session, org_id: str, code: str) -> Product:
    row = session.execute(
        select(Product).where(Product.organisation_id == org_id, Product.code == code)
    ).scalar_one_or_none()
    if row is None:
        raise NotFound("product", code)
    return row


def latest_plan(session: Session, org_id: str, code: str) -> PlanVersion | None:
    return session.execute(
        select(PlanVersion)
        .where(PlanVersion.organisation_id == org_id, PlanVersion.code == code)
        .order_by(PlanVersion.version.desc())
        .limit(1)
    ).scalar_one_or_none()


def plan_on(session: Session, org_id: str, code: str, on: date) -> PlanVersion:
    """The version of a plan sold on a date (the latest whose effective date has come)."""
    row = session.execute(
        select(PlanVersion)
        .where(
            PlanVersion.organisation_id == org_id, PlanVersion.code == code, PlanVersion.effective_from <= on
        )
        .order_by(PlanVersion.effective_from.desc())
        .limit(1)
    ).scalar_one_or_none()
    if row is None:
        if latest_plan(session, org_id, code) is None:
            raise NotFound("plan", code)
        raise RuleViolation("plan_not_yet_effective", f"plan {code} is not on sale on {on}")
    return row


def _check_plan_references(session: Session, org_id: str, spec: PlanSpec) -> None:
    base = product(session, org_id, spec.product_code)
    if base.kind == ProductKind.DEVICE.value and spec.device is None:
        raise RuleViolation("invalid_product", f"plan {spec.code} sells device {base.code}: use device terms")
    if spec.device is not None:
        device = product(session, org_id, spec.device.product_code)
        if device.kind != ProductKind.DEVICE.value:
            raise RuleViolation("invalid_device", f"{device.code} is a {device.kind} product, not a device")
    for rule in spec.addons:
        addon = latest_plan(session, org_id, rule.plan_code)
        if addon is None:
            raise RuleViolation(
                "unknown_addon_plan",
                f"add-on rule of {spec.code} names missing plan {rule.plan_code}",
                field="addons",
            )
        if addon.role != "addon":
            raise RuleViolation(
                "not_an_addon", f"plan {rule.plan_code} is a base plan, not an add-on", field="addons"
            )


def add_plan(session: Session, org_id: str, spec: PlanSpec, effective_from: date) -> PlanVersion:
    if latest_plan(session, org_id, spec.code) is not None:
        raise Conflict("already_exists", f"plan {spec.code} exists; publish a new version instead")
    _check_plan_references(session, org_id, spec)
    return _save_version(session, org_id, spec, 1, effective_from, None)


def add_plan_version(
    session: Session,
    org_id: str,
    code: str,
    spec: PlanSpec,
    effective_from: date,
    existing_move_on: date | None,
) -> PlanVersion:
    """A new version of a plan, sold from ``effective_from``.

    Subscribers of earlier versions keep their price until ``existing_move_on`` (grandfathering).
    """
    if spec.code != code:
        raise RuleViolation("code_mismatch", f"the body describes plan {spec.code}, not {code}", field="code")
    current = session.execute(
        select(PlanVersion)
        .where(PlanVersion.organisation_id == org_id, PlanVersion.code == code)
        .order_by(PlanVersion.version.desc())
        .limit(1)
        .with_for_update()
    ).scalar_one_or_none()
    if current is None:
        raise NotFound("plan", code)
    if effective_from <= current.effective_from:
        raise RuleViolation(
            "effective_date_not_after",
            f"version {current.version} is effective from {current.effective_from}; "
            "a new version must start later",
            field="effective_from",
        )
    if existing_move_on is not None and existing_move_on < effective_from:
        raise RuleViolation(
            "grandfather_before_effective",
            "existing subscribers cannot move before the new version takes effect",
            field="existing_subscribers_until",
        )
    if spec.role != current.role:
        raise RuleViolation("role_change", f"plan {code} is a {current.role} plan in every version")
    _check_plan_references(session, org_id, spec)
    return _save_version(session, org_id, spec, current.version + 1, effective_from, existing_move_on)


def _save_version(
    session: Session,
    org_id: str,
    spec: PlanSpec,
    version: int,
    effective_from: date,
    existing_move_on: date | None,
) -> PlanVersion:
    row = PlanVersion(
        id=new_id("pln"),
        organisation_id=org_id,
        code=spec.code,
        version=version,
        effective_from=effective_from,
        existing_move_on=existing_move_on,
        product_code=spec.product_code,
        role=spec.role,
        spec=spec.model_dump(mode="json"),
    )
    _insert(session, row, f"plan {spec.code} version {version}")
    return row


def plan_versions(session: Session, org_id: str, code: str) -> list[PlanVersion]:
    rows = list(
        session.execute(
            select(PlanVersion)
            .where(PlanVersion.organisation_id == org_id, PlanVersion.code == code)
            .order_by(PlanVersion.version)
        ).scalars()
    )
    if not rows:
        raise NotFound("plan", code)
    return rows


def add_bundle(session: Session, org_id: str, spec: BundleSpec) -> Bundle:
    for code in spec.plan_codes:
        if latest_plan(session, org_id, code) is None:
            raise RuleViolation(
                "unknown_plan", f"bundle {spec.code} names missing plan {code}", field="plan_codes"
            )
    row = Bundle(id=new_id("bnd"), organisation_id=org_id, code=spec.code, spec=spec.model_dump(mode="json"))
    _insert(session, row, f"bundle {spec.code}")
    return row


def bundle(session: Session, org_id: str, code: str) -> BundleSpec:
    row = session.execute(
        select(Bundle).where(Bundle.organisation_id == org_id, Bundle.code == code)
    ).scalar_one_or_none()
    if row is None:
        raise NotFound("bundle", code)
    return BundleSpec.model_validate(row.spec)


def add_tax_rate(session: Session, org_id: str, spec: TaxRateSpec) -> TaxRateRow:
    row = TaxRateRow(
        id=new_id("txr"),
        organisation_id=org_id,
        country=spec.country,
        region=spec.region or "",
        category=spec.category,
        percent=spec.percent,
        name=spec.name,
    )
    _insert(session, row, f"tax rate {spec.country}/{spec.region or '-'}/{spec.category}")
    return row


def tax_rates_for(
    session: Session, org_id: str, country: str | None, region: str | None = None
) -> dict[str, TaxRate]:
    """Rates by category for a place: a region's own rate wins over the country's."""
    if not country:
        return {}
    rows = session.execute(
        select(TaxRateRow)
        .where(
            TaxRateRow.organisation_id == org_id,
            TaxRateRow.country == country,
            TaxRateRow.region.in_(["", region or ""]),
        )
        .order_by(TaxRateRow.region)
    ).scalars()
    rates: dict[str, TaxRate] = {}
    for row in rows:
        rates[row.category] = TaxRate(
            f"{row.country}{'-' + row.region if row.region else ''}-{row.category}",
            Decimal(row.percent).normalize(),
        )
    return rates


def add_price_list(session: Session, org_id: str, spec: PriceListSpec) -> PriceList:
    for code in spec.recurring:
        if latest_plan(session, org_id, code) is None:
            raise RuleViolation(
                "unknown_plan", f"price list {spec.code} names missing plan {code}", field="recurring"
            )
    row = PriceList(
        id=new_id("prl"),
        organisation_id=org_id,
        code=spec.code,
        country=spec.country,
        currency=spec.currency,
        tax_inclusive=spec.tax_inclusive,
        spec=spec.model_dump(mode="json"),
    )
    _insert(session, row, f"price list {spec.code} (or one for {spec.country}/{spec.currency})")
    return row


def price_list_for(session: Session, org_id: str, country: str | None, currency: str) -> PriceListSpec | None:
    if not country:
        return None
    row = session.execute(
        select(PriceList).where(
            PriceList.organisation_id == org_id, PriceList.country == country, PriceList.currency == currency
        )
    ).scalar_one_or_none()
    return PriceListSpec.model_validate(row.spec) if row else None


def listing(session: Session, model: Any, org_id: str, limit: int = 500) -> list[Any]:
    order = model.code if hasattr(model, "code") else model.id
    return list(
        session.execute(
            select(model).where(model.organisation_id == org_id).order_by(order).limit(limit)
        ).scalars()
    )


def count_plans(session: Session, org_id: str) -> int:
    return int(
        session.execute(
            select(func.count()).select_from(PlanVersion).where(PlanVersion.organisation_id == org_id)
        ).scalar_one()
    )
