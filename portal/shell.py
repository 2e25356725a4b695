"""What every portal page shares: the signed-in subscriber, the language, the texts, CSRF on forms and
rendering a page with the operator's branding.

A page route looks like::

    @router.get("/invoices", response_class=HTMLResponse)
    def invoices(request: Request, me: PortalSubscriberDep) -> HTMLResponse:
        return render(request, "billing/invoices.html", me, invoices=...)

    @router.post("/tickets")
    async def raise_ticket(request: Request, me: PortalSubscriberDep) -> Response:
        form = await read_form(request, me)  # refuses a missing or wrong csrf_token (403 page)
        ...

A signed-out visitor of a page that needs a subscriber is sent to ``/portal/login?next=…`` (303).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qs, quote

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates

from activities.branding.io import Branding
from activities.branding.records import branding_of
from activities.identity.sessions import FoundSession, csrf_matches
from api.errors import problem
from api.subscriber_deps import portal_session
from domain.branding import style_block
from domain.subscribers import CSRF_FIELD
from models.base import unit_of_work
from models.organisations import Organisation
from portal.messages import LANGUAGES, text
from portal.operator import OperatorUnknown, portal_operator

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=str(HERE / "templates"))
MAX_FORM_BYTES = 64 * 1024  # forms with an upload use read_upload (their own limits)
LANGUAGE_COOKIE = "mb_lang"
NAV_LINKS = (
    ("/portal/", "shell.nav.dashboard"),
    ("/portal/subscriptions", "shell.nav.subscriptions"),
    ("/portal/invoices", "shell.nav.invoices"),
    ("/portal/invoices?status=open", "shell.nav.pay"),
    ("/portal/wallet", "care.nav.wallet"),
    ("/portal/wallet/top-up", "shell.nav.top_up"),
    ("/portal/vouchers", "shell.nav.vouchers"),
    ("/portal/offers", "shell.nav.offers"),
    ("/portal/points", "shell.nav.points"),
    ("/portal/tickets", "shell.nav.tickets"),
    ("/portal/profile", "shell.nav.profile"),
)


class SignedOut(Exception):
    """Raised by PortalSubscriberDep when nobody is signed in: the app answers with a redirect to login."""

    def __init__(self, next_url: str) -> None:
        self.next_url = next_url


class BadForm(Exception):
    """A form without the session's CSRF token (or unreadable): the app answers with a 403 page."""


def language(request: Request, default: str = "en") -> str:
    """The visitor's language: ``?lang=``, then the language cookie, then Accept-Language, then
    ``default`` (the operator's default language)."""
    for candidate in (
        request.query_params.get("lang"),
        request.cookies.get(LANGUAGE_COOKIE),
        request.headers.get("accept-language", "")[:2],
    ):
        if candidate and candidate[:2].lower() in LANGUAGES:
            return candidate[:2].lower()
    return default


def branding(request: Request, me: FoundSession | None = None) -> Branding | None:
    """The operator's branding for this request (read once per request): the signed-in subscriber's
    operator, else the portal's operator by Host; None when no operator answers (the default look)."""
    if hasattr(request.state, "branding"):
        found: Branding | None = request.state.branding
        return found
    settings = request.app.state.settings
    found = None
    with unit_of_work(settings.database_url or "") as session:
        try:
            if me is not None:
                org = session.get(Organisation, me.subscriber.organisation_id)
                operator = org.path.strip("/").split("/")[0] if org else portal_operator(request, session)
            else:
                operator = portal_operator(request, session)
            found = branding_of(session, operator)
        except OperatorUnknown:
            found = None
    request.state.branding = found
    return found


async def portal_subscriber(request: Request) -> FoundSession:
    settings = request.app.state.settings
    found = await run_in_threadpool(portal_session, request, settings)
    if found is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise SignedOut(target)
    return found


PortalSubscriberDep = Annotated[FoundSession, Depends(portal_subscriber)]
"""The signed-in subscriber of a portal page (``.subscriber``) and the session's ``.csrf_token`` for forms."""


def login_url(next_url: str) -> str:
    return f"/portal/login?next={quote(next_url, safe='')}"


async def read_form(
    request: Request, me: FoundSession | None, *, max_bytes: int = MAX_FORM_BYTES
) -> dict[str, str]:
    """A urlencoded form's fields (first value each); with ``me``, its ``csrf_token`` must match."""
    raw = await request.body()
    if len(raw) > max_bytes:
        raise BadForm("form too large")
    fields = {
        name: values[0]
        for name, values in parse_qs(raw.decode("utf-8", errors="replace"), max_num_fields=100).items()
    }
    if me is not None and not csrf_matches(me, fields.get(CSRF_FIELD)):
        raise BadForm("csrf")
    return fields


def render(
    request: Request,
    name: str,
    me: FoundSession | None = None,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """A page: the template with the language, ``t()``, the subscriber and the operator's branding."""
    brand = branding(request, me)
    lang = context.pop("lang", None) or language(request, brand.default_language if brand else "en")

    def t(key: str, **values: object) -> str:
        return text(lang, key, **values)

    response = templates.TemplateResponse(
        request,
        name,
        {
            "lang": lang,
            "t": t,
            "me": me.subscriber if me else None,
            "csrf_token": me.csrf_token if me else "",
            "branding": brand,
            "brand_style": style_block(brand.css_variables()) if brand else "",
            "nav_links": NAV_LINKS,
            **context,
        },
        status_code=status_code,
    )
    if request.query_params.get("lang") in LANGUAGES:
        response.set_cookie(
            LANGUAGE_COOKIE,
            request.query_params["lang"],
            max_age=365 * 24 * 3600,
            samesite="lax",
            secure=request.url.scheme == "https",  # a plain-http development portal keeps it too
        )
    return response


def install_portal_handlers(app: Any) -> None:
    """Signed out: a redirect to the login page. A bad form: a 403 page saying to try again."""
    from fastapi.responses import RedirectResponse

    async def on_signed_out(request: Request, exc: Exception) -> RedirectResponse:
        assert isinstance(exc, SignedOut)
        return RedirectResponse(login_url(exc.next_url), status_code=303)

    async def on_bad_form(request: Request, exc: Exception) -> HTMLResponse:
        return render(
            request, "message.html", status_code=403, title_key="shell.csrf", message_key="shell.csrf"
        )

    async def on_operator_unknown(request: Request, exc: Exception) -> Response:
        if not request.url.path.startswith("/portal"):
            assert isinstance(exc, OperatorUnknown)
            return problem(exc.status, exc.code, exc.detail, request.url.path)
        return render(
            request,
            "message.html",
            status_code=404,
            title_key="shell.operator_unknown.title",
            message_key="shell.operator_unknown",
            code="operator_unknown",
        )

    app.add_exception_handler(SignedOut, on_signed_out)
    app.add_exception_handler(OperatorUnknown, on_operator_unknown)
    app.add_exception_handler(BadForm, on_bad_form)
