"""The portal's subscriptions list and subscribe page: the subscriber's subscriptions (plan, status,
price) and, for an account with no live subscription, the plans on sale, each with a Subscribe form that
starts the Onboarding process through the same route function as ``POST /v1/me/subscriptions``.

A refused subscription (already subscribed, a plan not on sale) shows the page again with the reason.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from activities.identity.sessions import FoundSession
from activities.selfservice.catalogue import catalogue_for
from activities.subscriptions import records as store
from api.errors import ApiError
from api.routes.me_billing import LIVE, list_my_subscriptions, subscribe
from api.schemas.me_billing import MeSubscribe
from api.subscription_views import subscription_view
from domain.catalog import PlanSpec
from domain.errors import RuleViolation
from models.accounts import Account
from models.base import unit_of_work
from models.catalog import PlanVersion
from models.subscriptions import Subscription
from portal.care_forms import form_write, page
from portal.messages import catalogue as texts
from portal.messages import text
from portal.shell import PortalSubscriberDep, language, read_form

router = APIRouter(prefix="/portal", include_in_schema=False)
SHOWN_SERVICES = ("active", "suspended", "pending")
WITH_THE_PLAN = ("included", "required")  # add-ons that come with a plan when subscribing


def _included(session: Session, operator: str, plan: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    """A plan on sale with what it includes: its allowances and the add-ons that come with it."""
    row = session.scalar(
        select(PlanVersion).where(
            PlanVersion.organisation_id == operator,
            PlanVersion.code == plan["code"],
            PlanVersion.version == plan["version"],
        )
    )
    spec = PlanSpec.model_validate(row.spec) if row is not None else None
    allowances = [u for u in (spec.usage if spec else []) if u.included > 0]
    addons = [a["plan"] for a in plan["addons"] if a["rule"] in WITH_THE_PLAN]
    return {
        **plan,
        "allowances": [(f"{u.included.normalize():f}", u.unit, u.metric) for u in allowances],
        "with_plan": [names.get(code, code) for code in addons],
        "addon_codes": addons,
    }


def _subscription_row(session: Session, brief: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    sub = session.get(Subscription, brief["id"])
    view = subscription_view(session, sub) if sub is not None else {}
    services = [s for s in view.get("services", []) if s["status"] in SHOWN_SERVICES]
    base = next((s for s in services if s["role"] == "base"), None)
    return {
        **brief,
        "plan": names.get(base["plan"], base["plan"]) if base else "",
        "price_minor": sum(int(s["price"]["amount_minor"]) for s in services),
    }


def load(session: Session, found: FoundSession) -> dict[str, Any]:
    """The page's data: the subscriber's subscriptions and, with no live one, the base plans on sale."""
    me = found.subscriber
    account = session.get(Account, me.account_id)
    assert account is not None  # a signed-in subscriber's account exists (the login references it)
    plans = catalogue_for(session, account)["plans"]
    names = {p["code"]: p["name"] for p in plans}
    subscriptions = [
        _subscription_row(session, brief, names) for brief in list_my_subscriptions(me, session, None)
    ]
    live = any(s["status"] in LIVE and s["account_id"] == me.account_id for s in subscriptions)
    operator = store.operator_id(session, account.organisation_id)
    sellable = [] if live else [_included(session, operator, p, names) for p in plans if p["role"] == "base"]
    return {"subscriptions": subscriptions, "plans": sellable, "currency": account.currency, "live": live}


async def _load(request: Request, me: FoundSession) -> dict[str, Any]:
    def run() -> dict[str, Any]:
        with unit_of_work(request.app.state.settings.database_url or "") as session:
            return load(session, me)

    return await run_in_threadpool(run)


def _period(lang: str, unit: str, count: int) -> str:
    if count == 1:
        return text(lang, f"subscriptions.period.{unit}")
    return text(lang, f"subscriptions.period.{unit}.many", count=count)


def _show(
    request: Request, me: FoundSession, data: dict[str, Any], status: int = 200, **extra: Any
) -> HTMLResponse:
    lang = language(request)
    started = request.query_params.get("started", "")[:40]
    if started and all(s["id"] != started for s in data["subscriptions"]):
        data = {**data, "live": True, "setting_up": True}  # its Onboarding has not written it yet
    return page(
        request,
        "billing/subscriptions.html",
        me,
        status,
        period=lambda unit, count: _period(lang, str(unit), int(count)),
        started=started,
        **data,
        **extra,
    )


@router.get("/subscriptions", response_class=HTMLResponse)
async def subscriptions_page(request: Request, me: PortalSubscriberDep) -> HTMLResponse:
    return _show(request, me, await _load(request, me))


def refusal_message(lang: str, code: str, detail: str) -> str:
    key = f"subscriptions.error.{code}"
    if key in texts()["en"]:
        return text(lang, key)
    return text(lang, "subscriptions.error.generic", detail=detail)


@router.post("/subscriptions", response_model=None)
async def subscribe_page(request: Request, me: PortalSubscriberDep) -> Response:
    fields = await read_form(request, me)
    data = await _load(request, me)
    chosen = next((p for p in data["plans"] if p["code"] == fields.get("plan")), None)
    try:
        body = MeSubscribe(plan=fields.get("plan", ""), addons=chosen["addon_codes"] if chosen else [])
        answer = await subscribe(
            body,
            me.subscriber,
            form_write(request, me, fields),
            request.app.state.settings,
            request.app.state.temporal,
        )
        out: dict[str, Any] = json.loads(bytes(answer.body))
        if answer.status_code >= 400:
            raise ApiError(answer.status_code, str(out.get("code")), str(out.get("detail")))
    except (ApiError, RuleViolation, ValidationError) as exc:
        status, code, detail = _problem_of(exc)
        message = refusal_message(language(request), code, detail)
        return _show(request, me, data, status, error=message)
    return RedirectResponse(f"/portal/subscriptions?started={out['subscription_id']}", status_code=303)


def _problem_of(exc: Exception) -> tuple[int, str, str]:
    if isinstance(exc, ApiError):
        return exc.status, exc.code, exc.detail
    if isinstance(exc, RuleViolation):
        return exc.status, exc.code, exc.message
    assert isinstance(exc, ValidationError)
    first = exc.errors()[0]
    return (
        422,
        "validation_error",
        f"{'.'.join(str(p) for p in first.get('loc', ()))}: {first.get('msg', '')}",
    )
