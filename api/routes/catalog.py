"""/v1/catalog: products, versioned plans, bundles, tax rates and price lists (operator admins write)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request, Response

from activities.catalog import records as catalog
from activities.shared.visibility import Principal
from api.deps import IdempotencyKeyDep, OperatorAdminDep, SettingsDep, StaffDep
from api.idempotency import run_once
from api.schemas.catalog import PlanCreate, PlanVersionCreate
from domain.catalog import BundleSpec, PlanSpec, PriceListSpec, ProductSpec, TaxRateSpec
from models.base import unit_of_work
from models.catalog import Bundle, PlanVersion, PriceList, Product, TaxRateRow

router = APIRouter(prefix="/v1/catalog", tags=["catalogue"])


def product_out(row: Product) -> dict[str, Any]:
    return {"id": row.id, "object": "product", **row.spec, "created_at": row.created_at.isoformat()}


def plan_out(row: PlanVersion) -> dict[str, Any]:
    return {
        "id": row.id,
        "object": "plan",
        "version": row.version,
        "effective_from": row.effective_from.isoformat(),
        "existing_subscribers_until": row.existing_move_on.isoformat() if row.existing_move_on else None,
        **row.spec,
        "created_at": row.created_at.isoformat(),
    }


def spec_out(kind: str, row: Bundle | PriceList) -> dict[str, Any]:
    return {"id": row.id, "object": kind, **row.spec, "created_at": row.created_at.isoformat()}


def tax_out(row: TaxRateRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "object": "tax_rate",
        "country": row.country,
        "region": row.region or None,
        "category": row.category,
        "percent": str(row.percent.normalize()),
        "name": row.name,
    }


def _every(settings: Any, principal: Principal, model: Any, out: Any) -> dict[str, Any]:
    """Every row of a catalogue table of the caller's operator, as one page."""
    with unit_of_work(settings.database_url or "") as session:
        rows = catalog.listing(session, model, catalog.operator_of(principal))
        return {"data": [out(r) for r in rows], "next_cursor": None, "has_more": False}


def _write(
    settings: SettingsDep,
    principal: Principal,
    key: str,
    request: Request,
    response: Response,
    payload: dict[str, Any],
    produce: Any,
) -> dict[str, Any]:
    """Run a catalogue write once per Idempotency-Key, in one transaction, on the operator's catalogue."""
    with unit_of_work(settings.database_url or "") as session:
        org_id = catalog.operator_of(principal)
        stored = run_once(
            session,
            organisation_id=principal.organisation_id,
            key=key,
            method="POST",
            path=request.url.path,
            payload=payload,
            produce=lambda: (201, produce(session, org_id)),
        )
    if stored.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return stored.body


@router.post("/products", status_code=201, summary="Add a product")
def add_product(
    body: ProductSpec,
    request: Request,
    response: Response,
    principal: OperatorAdminDep,
    settings: SettingsDep,
    key: IdempotencyKeyDep,
) -> dict[str, Any]:
    return _write(
        settings,
        principal,
        key,
        request,
        response,
        body.model_dump(mode="json"),
        lambda s, org: product_out(catalog.add_product(s, org, body)),
    )


@router.get("/products", summary="List products")
def list_products(principal: StaffDep, settings: SettingsDep) -> dict[str, Any]:
    return _every(settings, principal, Product, product_out)


@router.post("/plans", status_code=201, summary="Add a plan (version 1)")
def add_plan(
    body: PlanCreate,
    request: Request,
    response: Response,
    principal: OperatorAdminDep,
    settings: SettingsDep,
    key: IdempotencyKeyDep,
) -> dict[str, Any]:
    spec = PlanSpec.model_validate(body.model_dump(exclude={"effective_from"}))
    effective = body.effective_from or datetime.now(UTC).date()
    return _write(
        settings,
        principal,
        key,
        request,
        response,
        body.model_dump(mode="json"),
        lambda s, org: plan_out(catalog.add_plan(s, org, spec, effective)),
    )


@router.post("/plans/{code}/versions", status_code=201, summary="Publish a new version of a plan")
def add_plan_version(
    code: str,
    body: PlanVersionCreate,
    request: Request,
    response: Response,
    principal: OperatorAdminDep,
    settings: SettingsDep,
    key: IdempotencyKeyDep,
) -> dict[str, Any]:
    spec = PlanSpec.model_validate(body.model_dump(exclude={"effective_from", "existing_subscribers_until"}))
    return _write(
        settings,
        principal,
        key,
        request,
        response,
        body.model_dump(mode="json"),
        lambda s, org: plan_out(
            catalog.add_plan_version(s, org, code, spec, body.effective_from, body.existing_subscribers_until)
        ),
    )


@router.get("/plans", summary="List plans (every version)")
def list_plans(principal: StaffDep, settings: SettingsDep) -> dict[str, Any]:
    with unit_of_work(settings.database_url or "") as session:
        rows = catalog.listing(session, PlanVersion, catalog.operator_of(principal), limit=2000)
        rows.sort(key=lambda r: (r.code, r.version))
        return {"data": [plan_out(r) for r in rows], "next_cursor": None, "has_more": False}


@router.get("/plans/{code}", summary="A plan's versions, oldest first")
def get_plan(code: str, principal: StaffDep, settings: SettingsDep) -> dict[str, Any]:
    with unit_of_work(settings.database_url or "") as session:
        versions = catalog.plan_versions(session, catalog.operator_of(principal), code)
        return {"code": code, "object": "plan_versions", "versions": [plan_out(v) for v in versions]}


@router.post("/bundles", status_code=201, summary="Add a bundle")
def add_bundle(
    body: BundleSpec,
    request: Request,
    response: Response,
    principal: OperatorAdminDep,
    settings: SettingsDep,
    key: IdempotencyKeyDep,
) -> dict[str, Any]:
    return _write(
        settings,
        principal,
        key,
        request,
        response,
        body.model_dump(mode="json"),
        lambda s, org: spec_out("bundle", catalog.add_bundle(s, org, body)),
    )


@router.get("/bundles", summary="List bundles")
def list_bundles(principal: StaffDep, settings: SettingsDep) -> dict[str, Any]:
    return _every(settings, principal, Bundle, lambda r: spec_out("bundle", r))


@router.post("/tax-rates", status_code=201, summary="Add a tax rate for a country or region")
def add_tax_rate(
    body: TaxRateSpec,
    request: Request,
    response: Response,
    principal: OperatorAdminDep,
    settings: SettingsDep,
    key: IdempotencyKeyDep,
) -> dict[str, Any]:
    return _write(
        settings,
        principal,
        key,
        request,
        response,
        body.model_dump(mode="json"),
        lambda s, org: tax_out(catalog.add_tax_rate(s, org, body)),
    )


@router.get("/tax-rates", summary="List tax rates")
def list_tax_rates(principal: StaffDep, settings: SettingsDep) -> dict[str, Any]:
    return _every(settings, principal, TaxRateRow, tax_out)


@router.post("/price-lists", status_code=201, summary="Add a price list for a market and currency")
def add_price_list(
    body: PriceListSpec,
    request: Request,
    response: Response,
    principal: OperatorAdminDep,
    settings: SettingsDep,
    key: IdempotencyKeyDep,
) -> dict[str, Any]:
    return _write(
        settings,
        principal,
        key,
        request,
        response,
        body.model_dump(mode="json"),
        lambda s, org: spec_out("price_list", catalog.add_price_list(s, org, body)),
    )


@router.get("/price-lists", summary="List price lists")
def list_price_lists(principal: StaffDep, settings: SettingsDep) -> dict[str, Any]:
    return _every(settings, principal, PriceList, lambda r: spec_out("price_list", r))
