"""/v1/catalog: products, versioned plans, bundles, tax rates and price lists (operator admins write)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from sqlalchemy.orm import Session

from activities.catalog import records as catalog
from api.deps import (
    IdempotentWriteDep,
    OperatorAdminDep,
    SessionDep,
    StaffDep,
)
from api.schemas.catalog import (
    BundleOut,
    PlanCreate,
    PlanOut,
    PlanVersionCreate,
    PlanVersions,
    PriceListOut,
    ProductOut,
    TaxRateOut,
)
from api.schemas.common import Page
from domain.catalog import BundleSpec, PlanSpec, PriceListSpec, ProductSpec, TaxRateSpec
from domain.principal import Principal
from models.catalog import Bundle, PlanVersion, PriceList, Product, TaxRateRow

router = APIRouter(prefix="/v1/catalog", tags=["catalogue"])

# Catalogue rows are answered as rendered here (the definition's fields in their stored order, ISO times),
# so reads return a JSONResponse; the response models describe the same shape.


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


def _every(
    session: Session, principal: Principal, model: Any, out: Callable[[Any], dict[str, Any]]
) -> JSONResponse:
    """Every row of a catalogue table of the caller's operator, as one page."""
    rows = catalog.listing(session, model, catalog.operator_of(principal))
    return JSONResponse({"data": [out(r) for r in rows], "next_cursor": None, "has_more": False})


@router.post("/products", status_code=201, response_model=ProductOut, summary="Add a product")
def add_product(body: ProductSpec, principal: OperatorAdminDep, write: IdempotentWriteDep) -> Response:
    org = catalog.operator_of(principal)
    return write(body, lambda s: product_out(catalog.add_product(s, org, body)))


@router.get("/products", response_model=Page[ProductOut], summary="List products")
def list_products(principal: StaffDep, session: SessionDep) -> JSONResponse:
    return _every(session, principal, Product, product_out)


@router.post("/plans", status_code=201, response_model=PlanOut, summary="Add a plan (version 1)")
def add_plan(body: PlanCreate, principal: OperatorAdminDep, write: IdempotentWriteDep) -> Response:
    spec = PlanSpec.model_validate(body.model_dump(exclude={"effective_from"}))
    effective = body.effective_from or datetime.now(UTC).date()
    org = catalog.operator_of(principal)
    return write(body, lambda s: plan_out(catalog.add_plan(s, org, spec, effective)))


@router.post(
    "/plans/{code}/versions",
    status_code=201,
    response_model=PlanOut,
    summary="Publish a new version of a plan",
)
def add_plan_version(
    code: str, body: PlanVersionCreate, principal: OperatorAdminDep, write: IdempotentWriteDep
) -> Response:
    spec = PlanSpec.model_validate(body.model_dump(exclude={"effective_from", "existing_subscribers_until"}))
    org = catalog.operator_of(principal)
    return write(
        body,
        lambda s: plan_out(
            catalog.add_plan_version(s, org, code, spec, body.effective_from, body.existing_subscribers_until)
        ),
    )


@router.get("/plans", response_model=Page[PlanOut], summary="List plans (every version)")
def list_plans(principal: StaffDep, session: SessionDep) -> JSONResponse:
    rows = catalog.listing(session, PlanVersion, catalog.operator_of(principal), limit=2000)
    rows.sort(key=lambda r: (r.code, r.version))
    return JSONResponse({"data": [plan_out(r) for r in rows], "next_cursor": None, "has_more": False})


@router.get("/plans/{code}", response_model=PlanVersions, summary="A plan's versions, oldest first")
def get_plan(code: str, principal: StaffDep, session: SessionDep) -> JSONResponse:
    versions = catalog.plan_versions(session, catalog.operator_of(principal), code)
    return JSONResponse(
        {"code": code, "object": "plan_versions", "versions": [plan_out(v) for v in versions]}
    )


@router.post("/bundles", status_code=201, response_model=BundleOut, summary="Add a bundle")
def add_bundle(body: BundleSpec, principal: OperatorAdminDep, write: IdempotentWriteDep) -> Response:
    org = catalog.operator_of(principal)
    return write(body, lambda s: spec_out("bundle", catalog.add_bundle(s, org, body)))


@router.get("/bundles", response_model=Page[BundleOut], summary="List bundles")
def list_bundles(principal: StaffDep, session: SessionDep) -> JSONResponse:
    return _every(session, principal, Bundle, lambda r: spec_out("bundle", r))


@router.post(
    "/tax-rates", status_code=201, response_model=TaxRateOut, summary="Add a tax rate for a country or region"
)
def add_tax_rate(body: TaxRateSpec, principal: OperatorAdminDep, write: IdempotentWriteDep) -> Response:
    org = catalog.operator_of(principal)
    return write(body, lambda s: tax_out(catalog.add_tax_rate(s, org, body)))


@router.get("/tax-rates", response_model=Page[TaxRateOut], summary="List tax rates")
def list_tax_rates(principal: StaffDep, session: SessionDep) -> JSONResponse:
    return _every(session, principal, TaxRateRow, tax_out)


@router.post(
    "/price-lists",
    status_code=201,
    response_model=PriceListOut,
    summary="Add a price list for a market and currency",
)
def add_price_list(body: PriceListSpec, principal: OperatorAdminDep, write: IdempotentWriteDep) -> Response:
    org = catalog.operator_of(principal)
    return write(body, lambda s: spec_out("price_list", catalog.add_price_list(s, org, body)))


@router.get("/price-lists", response_model=Page[PriceListOut], summary="List price lists")
def list_price_lists(principal: StaffDep, session: SessionDep) -> JSONResponse:
    return _every(session, principal, PriceList, lambda r: spec_out("price_list", r))
