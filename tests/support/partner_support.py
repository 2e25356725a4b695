"""Partner services in tests: a "TV Max + Netflix Standard" catalogue (over the API), an operator's
connection to the Netflix simulator, and an onboarding input for the bundle."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import httpx

from activities.accounts.organisations import authenticate
from activities.partners.connections import ConnectionSpec, create_connection
from activities.subscriptions.onboarding import OnboardingInput, SubscriptionOrder, prepare_onboarding
from domain.ids import new_id
from domain.principal import Principal
from models.base import unit_of_work
from tests.support.catalog_factory import code, plan, post, product
from tests.support.factories import Tenant, person
from tests.support.netflix_simulator import NETFLIX_OPERATOR, NETFLIX_SECRET, NetflixHarness


@dataclass
class PartnerShop:
    tenant: Tenant
    principal: Principal
    tv_plan: str
    netflix_plan: str
    premium_plan: str
    bundle: str
    account_id: str


def netflix_product(
    plan_code: str = "STANDARD", allowance: int = 1549, *, included: bool = True, promotion: str | None = None
) -> dict:
    partner = {
        "provider": "netflix",
        "partner_plan": plan_code,
        "allowance_minor": allowance,
        "currency": "USD",
        "included_in_price": included,
    }
    if promotion is not None:
        partner["promotion_code"] = promotion
    return {"kind": "partner_service", "partner": partner}


async def make_partner_shop(api: httpx.AsyncClient, tenant: Tenant, database_url: str) -> PartnerShop:
    tv = await product(api, tenant, "video")
    tv_plan = await plan(api, tenant, product_code=tv, prices={"EUR": "40.00"})
    standard = await product(api, tenant, **netflix_product())
    netflix_plan = await plan(api, tenant, product_code=standard, prices={"EUR": "0.00"})
    premium = await product(api, tenant, **netflix_product("PREMIUM", 2299, promotion="WELCOME3"))
    premium_plan = await plan(api, tenant, product_code=premium, prices={"EUR": "5.00"})
    bundle = code("tvmax-netflix")
    await post(
        api,
        tenant,
        "/v1/catalog/bundles",
        {"code": bundle, "name": "TV Max + Netflix Standard", "plan_codes": [tv_plan, netflix_plan]},
    )
    account = await post(api, tenant, "/v1/accounts", person())
    with unit_of_work(database_url) as session:
        principal = authenticate(session, tenant.token)
    assert principal is not None
    return PartnerShop(tenant, principal, tv_plan, netflix_plan, premium_plan, bundle, account["id"])


def connect_netflix(
    database_url: str, data_key: str, principal: Principal, netflix: NetflixHarness, share: str = "0"
) -> str:
    with unit_of_work(database_url) as session:
        row = create_connection(
            session,
            principal,
            ConnectionSpec(
                provider="netflix",
                base_url=netflix.url,
                partner_id=NETFLIX_OPERATOR,
                secret=NETFLIX_SECRET,
                revenue_share_percent=Decimal(share),
                options={"time_zone": "Europe/Madrid"},
            ),
            data_key,
        )
        return row.id


def bundle_input(database_url: str, shop: PartnerShop) -> OnboardingInput:
    order = SubscriptionOrder(
        account_id=shop.account_id,
        items=[{"plan": shop.tv_plan}, {"plan": shop.netflix_plan}],  # type: ignore[list-item]
        bundle=shop.bundle,
        start_date=date(2024, 1, 1),
        bill_day=1,
    )
    sub_id = new_id("sub")
    with unit_of_work(database_url) as session:
        return prepare_onboarding(
            session,
            shop.principal,
            order,
            subscription_id=sub_id,
            process_id=f"onboarding-{sub_id}",
            request_id=uuid.uuid4().hex,
        )
