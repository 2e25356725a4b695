"""The self-service portal: server-rendered Jinja2 pages mounted under /portal."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from api.errors import ApiError
from api.routes.verification import confirm

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=str(HERE / "templates"))
router = APIRouter(prefix="/portal", include_in_schema=False)

_TEXT = {
    "en": {
        "ok": ("Email confirmed", "Thank you, {email} is confirmed."),
        "bad": ("Link not valid", "This confirmation link is not valid or has expired."),
    },
    "es": {
        "ok": ("Correo confirmado", "Gracias, {email} ha quedado confirmado."),
        "bad": ("Enlace no válido", "Este enlace de confirmación no es válido o ha caducado."),
    },
}


@router.get("/", response_class=HTMLResponse)
def home(request: Request) -> HTMLResponse:
    return templates.TemplateResponse(request, "index.html", {})


@router.get("/verify/{account_id}", response_class=HTMLResponse)
async def verify(
    request: Request, account_id: str, token: Annotated[str, Query(max_length=200)] = ""
) -> HTMLResponse:
    lang = "es" if request.headers.get("accept-language", "").startswith("es") else "en"
    try:
        account = await confirm(
            await request.app.state.temporal.client(), request.app.state.settings, account_id, token
        )
    except ApiError as exc:
        title, message = _TEXT[lang]["bad"]
        return templates.TemplateResponse(
            request, "verify.html", {"title": title, "message": message, "lang": lang}, status_code=exc.status
        )
    title, message = _TEXT[lang]["ok"]
    return templates.TemplateResponse(
        request,
        "verify.html",
        {"title": title, "message": message.format(email=account["email"]), "lang": lang},
    )
