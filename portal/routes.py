"""The self-service portal: server-rendered Jinja2 pages mounted under /portal."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated
from urllib.parse import parse_qs

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse

from api.errors import ApiError
from api.routes.verification import confirm, pending_account
from portal.shell import render

HERE = Path(__file__).parent
router = APIRouter(prefix="/portal", include_in_schema=False)

_TEXT = {
    "en": {
        "ask": ("Confirm your email", "Confirm that {email} is your email address."),
        "button": ("Confirm my email address", ""),
        "ok": ("Email confirmed", "Thank you, {email} is confirmed."),
        "bad": ("Link not valid", "This confirmation link is not valid or has expired."),
    },
    "es": {
        "ask": ("Confirma tu correo", "Confirma que {email} es tu dirección de correo."),
        "button": ("Confirmar mi correo", ""),
        "ok": ("Correo confirmado", "Gracias, {email} ha quedado confirmado."),
        "bad": ("Enlace no válido", "Este enlace de confirmación no es válido o ha caducado."),
    },
}

MAX_FORM_BYTES = 4096


def _language(request: Request) -> str:
    return "es" if request.headers.get("accept-language", "").startswith("es") else "en"


def _page(request: Request, lang: str, which: str, status: int = 200, **context: str) -> HTMLResponse:
    title, message = _TEXT[lang][which]
    return render(
        request,
        "verify.html",
        None,
        status_code=status,
        title=title,
        message=message.format(**context),
        lang=lang,
        **context,
    )


@router.get("/verify/{account_id}", response_class=HTMLResponse)
async def verify_page(
    request: Request, account_id: str, token: Annotated[str, Query(max_length=200)] = ""
) -> HTMLResponse:
    """The link in the email shows a button; opening it confirms nothing (mail scanners open links)."""
    lang = _language(request)
    settings = request.app.state.settings
    try:
        account = await run_in_threadpool(pending_account, settings, account_id, token)
    except ApiError as exc:
        return _page(request, lang, "bad", exc.status)
    if account["status"] == "verified":
        return _page(request, lang, "ok", email=account["email"])
    return _page(
        request,
        lang,
        "ask",
        email=account["email"],
        token=token,
        action=request.url.path,
        button=_TEXT[lang]["button"][0],
    )


@router.post("/verify/{account_id}", response_class=HTMLResponse)
async def verify_confirm(request: Request, account_id: str) -> HTMLResponse:
    """The button's form: the token in the body confirms the address."""
    lang = _language(request)
    raw = await request.body()
    fields = parse_qs(raw[:MAX_FORM_BYTES].decode("utf-8", errors="replace"), max_num_fields=5)
    token = (fields.get("token") or [""])[0][:200]
    try:
        account = await confirm(
            await request.app.state.temporal.client(), request.app.state.settings, account_id, token
        )
    except ApiError as exc:
        return _page(request, lang, "bad", exc.status)
    return _page(request, lang, "ok", email=account["email"])
