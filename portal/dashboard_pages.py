"""/portal/: the signed-in subscriber's dashboard (services, balance, next bill, open invoices,
shortcuts); a signed-out visitor gets the landing page with sign-up and log-in links."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse

from activities.identity.sessions import FoundSession
from api.subscriber_deps import portal_session
from domain.i18n import format_date, format_money
from models.base import unit_of_work
from portal.dashboard_view import Dashboard, dashboard
from portal.operator import portal_operator
from portal.shell import branding, render

router = APIRouter(prefix="/portal", include_in_schema=False)

SHORTCUTS = (
    ("/portal/invoices?status=open", "dashboard.shortcut.pay"),
    ("/portal/wallet/top-up", "dashboard.shortcut.top_up"),
    ("/portal/subscriptions", "dashboard.shortcut.change_plan"),
    ("/portal/tickets", "dashboard.shortcut.help"),
)


def _operator_or_404(request: Request) -> str:
    """The landing page is an operator's: none answering here is a 404 page ``operator_unknown``."""
    settings = request.app.state.settings
    with unit_of_work(settings.database_url or "") as session:
        operator = portal_operator(request, session)
    branding(request)
    return operator


def _read(request: Request, me: FoundSession) -> Dashboard:
    brand = branding(request, me)
    settings = request.app.state.settings
    operator = brand.organisation_id if brand else me.subscriber.organisation_id
    with unit_of_work(settings.database_url or "") as session:
        return dashboard(session, operator, tuple(me.subscriber.account_ids))


@router.get("/", response_class=HTMLResponse)
async def home(request: Request) -> HTMLResponse:
    settings = request.app.state.settings
    me = await run_in_threadpool(portal_session, request, settings)
    if me is None:
        await run_in_threadpool(_operator_or_404, request)
        return render(request, "index.html")
    view = await run_in_threadpool(_read, request, me)
    return render(
        request,
        "dashboard.html",
        me,
        view=view,
        shortcuts=SHORTCUTS,
        money=format_money,
        date=format_date,
    )
