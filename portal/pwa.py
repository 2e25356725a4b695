"""The portal as an installable app: the web manifest (name and colours from the operator's branding),
the service worker served from /portal/ so that its scope is the whole portal, and the offline page."""

from __future__ import annotations

import hashlib
from functools import lru_cache

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, Response

from domain.branding import DEFAULT_COLOURS
from portal.shell import HERE, branding, render

router = APIRouter(prefix="/portal", include_in_schema=False)
STATIC = HERE / "static"
ICONS = (
    ("icons/icon-192.png", "192x192", "any"),
    ("icons/icon-512.png", "512x512", "any"),
    ("icons/maskable-512.png", "512x512", "maskable"),
)


@lru_cache(maxsize=1)
def service_worker() -> str:
    """sw.js with a version made from the shell's files: a changed CSS or icon installs a new cache."""
    digest = hashlib.sha256()
    for name in ("portal.css", "register-sw.js", *(path for path, _, _ in ICONS)):
        digest.update((STATIC / name).read_bytes())
    source = (STATIC / "sw.js").read_text()
    return source.replace("__VERSION__", digest.hexdigest()[:12])


@router.get("/manifest.webmanifest")
async def manifest(request: Request) -> JSONResponse:
    brand = await run_in_threadpool(branding, request)
    name = brand.name if brand else "Multibill"
    colours = brand.colours if brand else {"primary": DEFAULT_COLOURS.primary, "background": "#ffffff"}
    body = {
        "name": name,
        "short_name": name[:12],
        "start_url": "/portal/",
        "scope": "/portal/",
        "display": "standalone",
        "lang": brand.default_language if brand else "en",
        "theme_color": colours["primary"],
        "background_color": colours["background"],
        "icons": [
            {"src": f"/portal/static/{path}", "sizes": sizes, "type": "image/png", "purpose": purpose}
            for path, sizes, purpose in ICONS
        ],
    }
    return JSONResponse(body, media_type="application/manifest+json", headers={"Cache-Control": "no-cache"})


@router.get("/sw.js")
def sw() -> Response:
    return Response(
        service_worker(),
        media_type="text/javascript",
        headers={"Cache-Control": "no-cache", "Service-Worker-Allowed": "/portal/"},
    )


@router.get("/offline", response_class=HTMLResponse)
async def offline(request: Request) -> HTMLResponse:
    await run_in_threadpool(branding, request)
    return render(request, "message.html", title_key="shell.offline.title", message_key="shell.offline")
