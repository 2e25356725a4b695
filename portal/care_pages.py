"""Portal pages of the subscriber's care: support requests (list, raise with an optional file, the public
thread, reply, close) and preferences (notification channels, marketing opt-out, language). The rewards
pages (portal/rewards_pages.py) are mounted with them. Each calls the self-service API's route
(api/routes/me_care.py), so the rules, the SLA process and idempotency are the API's."""

from __future__ import annotations

import base64
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import UploadFile

from activities.identity.sessions import csrf_matches
from api.errors import ApiError
from api.routes import me_care
from api.schemas.me_care import MeAttachmentIn, MeCommentIn, MePreferencesIn, MeTicketIn
from domain import care
from domain.errors import RuleViolation
from domain.subscribers import CSRF_FIELD
from portal import rewards_pages
from portal.care_forms import Refused, answered, attempt, form_write, page, reading, refusal
from portal.messages import text
from portal.shell import BadForm, PortalSubscriberDep, language, read_form

router = APIRouter(prefix="/portal", include_in_schema=False)
router.include_router(rewards_pages.router)
MAX_UPLOAD_BYTES = care.MAX_ATTACHMENT_BYTES + 64 * 1024  # the file and the form's other fields


@router.get("/tickets", response_class=HTMLResponse)
def tickets(request: Request, me: PortalSubscriberDep) -> HTMLResponse:
    with reading(request) as session:
        rows = me_care.my_tickets(me.subscriber, session, None, None, 100)["data"]
    return page(request, "care/tickets.html", me, tickets=rows)


def _new_form(
    request: Request,
    me: PortalSubscriberDep,
    status: int = 200,
    values: dict[str, Any] | None = None,
    **ctx: Any,
) -> HTMLResponse:
    with reading(request) as session:
        categories = me_care.my_categories(me.subscriber, session)["data"]
    return page(
        request, "care/ticket_new.html", me, status, categories=categories, values=values or {}, **ctx
    )


@router.get("/tickets/new", response_class=HTMLResponse)
def new_ticket(request: Request, me: PortalSubscriberDep) -> HTMLResponse:
    return _new_form(request, me)


async def _multipart(request: Request, me: PortalSubscriberDep) -> tuple[dict[str, str], UploadFile | None]:
    if int(request.headers.get("content-length") or 0) > MAX_UPLOAD_BYTES:
        raise ApiError(413, "attachment_too_large", f"at most {care.MAX_ATTACHMENT_BYTES} bytes")
    form = await request.form(max_files=1, max_fields=20)
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    if not csrf_matches(me, fields.get(CSRF_FIELD)):
        raise BadForm("csrf")
    upload = form.get("attachment")
    return fields, upload if isinstance(upload, UploadFile) and upload.filename else None


async def _attachment(upload: UploadFile | None) -> MeAttachmentIn | None:
    if upload is None:
        return None
    content = await upload.read(care.MAX_ATTACHMENT_BYTES + 1)
    if not content:
        return None
    content_type = upload.content_type or "application/octet-stream"
    me_care.checked_attachment(content_type, content)
    return MeAttachmentIn(
        filename=(upload.filename or "attachment")[:255],
        content_type=content_type,
        content_base64=base64.b64encode(content).decode(),
    )


@router.post("/tickets", response_class=HTMLResponse)
async def raise_ticket(request: Request, me: PortalSubscriberDep) -> Response:
    fields: dict[str, str] = {}
    try:
        try:
            fields, upload = await _multipart(request, me)
            file = await _attachment(upload)
            body = MeTicketIn(
                category=fields.get("category", ""),
                subject=fields.get("subject", "").strip(),
                description=fields.get("description", ""),
            )
            write = form_write(request, me, fields)
            settings, temporal = request.app.state.settings, request.app.state.temporal
            created = answered(
                request, await me_care.raise_ticket(body, me.subscriber, write, settings, temporal)
            )
            if file is not None:
                attach_write = form_write(request, me, fields, "-attachment")
                await run_in_threadpool(me_care.attach, created["id"], file, me.subscriber, attach_write)
        except (ApiError, RuleViolation, ValueError) as exc:
            raise refusal(request, exc) from None
    except Refused as exc:
        values = {k: fields.get(k, "") for k in ("category", "subject", "description")}
        return await run_in_threadpool(
            _new_form,
            request,
            me,
            exc.status,
            values,
            error=exc.message,
            form_key=fields.get("idempotency_key"),
        )
    return RedirectResponse(f"/portal/tickets/{created['id']}?created=1", status_code=303)


def _ticket_page(
    request: Request, me: PortalSubscriberDep, ticket_id: str, status: int = 200, **ctx: Any
) -> HTMLResponse:
    with reading(request) as session:
        ticket = attempt(request, lambda: me_care.ticket_detail(session, me.subscriber, ticket_id))
    return page(request, "care/ticket.html", me, status, ticket=ticket, **ctx)


@router.get("/tickets/{ticket_id}", response_class=HTMLResponse)
def ticket(request: Request, ticket_id: str, me: PortalSubscriberDep) -> HTMLResponse:
    notice = text(language(request), "care.tickets.created") if request.query_params.get("created") else None
    try:
        return _ticket_page(request, me, ticket_id, notice=notice)
    except Refused:
        return page(request, "care/tickets.html", me, 404, tickets=[], error=_not_found(request))


def _not_found(request: Request) -> str:
    return text(language(request), "care.tickets.not_found")


async def _ticket_write(request: Request, me: PortalSubscriberDep, ticket_id: str, action: str) -> Response:
    fields = await read_form(request, me)
    try:
        try:
            write = form_write(request, me, fields)
            temporal = request.app.state.temporal
            if action == "comment":
                comment = MeCommentIn(body=fields.get("body", ""))
                done = await me_care.reply(ticket_id, comment, me.subscriber, write, temporal)
            else:
                done = await me_care.close(ticket_id, me.subscriber, write, temporal)
            answered(request, done)
        except (ApiError, RuleViolation, ValueError) as exc:
            raise refusal(request, exc) from None
    except Refused as exc:
        try:
            return await run_in_threadpool(
                _ticket_page, request, me, ticket_id, exc.status, error=exc.message
            )
        except Refused:
            return page(request, "care/tickets.html", me, 404, tickets=[], error=_not_found(request))
    return RedirectResponse(f"/portal/tickets/{ticket_id}", status_code=303)


@router.post("/tickets/{ticket_id}/comments", response_class=HTMLResponse)
async def comment(request: Request, ticket_id: str, me: PortalSubscriberDep) -> Response:
    return await _ticket_write(request, me, ticket_id, "comment")


@router.post("/tickets/{ticket_id}/close", response_class=HTMLResponse)
async def close(request: Request, ticket_id: str, me: PortalSubscriberDep) -> Response:
    return await _ticket_write(request, me, ticket_id, "close")


@router.get("/profile", response_class=HTMLResponse)
def profile(request: Request, me: PortalSubscriberDep) -> HTMLResponse:
    with reading(request) as session:
        prefs = me_care.my_preferences(me.subscriber, session)
    return page(request, "care/profile.html", me, prefs=prefs)


@router.post("/profile", response_class=HTMLResponse)
async def save_profile(request: Request, me: PortalSubscriberDep) -> HTMLResponse:
    fields = await read_form(request, me)
    channels = [c for c in ("email", "sms", "push") if fields.get(f"channel_{c}") == "on"]

    def save() -> dict[str, Any]:
        body = MePreferencesIn.model_validate(
            {
                "channels": channels,
                "marketing_opt_out": fields.get("marketing_opt_out") == "on",
                "language": fields.get("language") or None,
            }
        )
        with reading(request) as session:
            saved: dict[str, Any] = me_care.set_my_preferences(body, me.subscriber, session)
        return saved

    try:
        prefs = await run_in_threadpool(attempt, request, save)
    except Refused as exc:
        with reading(request) as session:
            current = me_care.my_preferences(me.subscriber, session)
        return page(request, "care/profile.html", me, exc.status, prefs=current, error=exc.message)
    notice = text(language(request), "care.profile.saved")
    return page(request, "care/profile.html", me, prefs=prefs, notice=notice)
