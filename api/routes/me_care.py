"""/v1/me/… care: the subscriber's tickets (raise in a category open to subscribers, list, read the public
thread, reply, attach a file, close) and notification preferences. The care scripts and the
TicketEscalation signals of the staff routes (api/routes/tickets.py), narrowed to the subscriber's
accounts: any other ticket is a 404, and internal notes are never shown."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from activities.accounts import records as accounts
from activities.accounts.subscriber_access import acting_principal, own_account
from activities.care import self_service
from activities.care import tickets as store
from activities.notifications import settings as rules_store
from activities.shared.pagination import encode_cursor
from api.deps import SessionDep, SettingsDep, TemporalGatewayDep
from api.docs import problem_response
from api.errors import ApiError
from api.process_starter import start_process
from api.routes.tickets import escalation_start, tell_process
from api.schemas.care import Status
from api.schemas.me_care import (
    MeAttachmentContent,
    MeAttachmentIn,
    MeAttachmentOut,
    MeCategoryList,
    MeCategoryOut,
    MeCommentIn,
    MePreferencesIn,
    MePreferencesOut,
    MeThreadLine,
    MeTicketDetail,
    MeTicketIn,
    MeTicketOut,
    MeTicketPage,
)
from api.subscriber_deps import SubscriberDep, SubscriberWriteDep
from domain import care
from domain.errors import RuleViolation
from domain.subscribers import Subscriber
from models.care import Ticket, TicketHistory

router = APIRouter(prefix="/v1/me", tags=["self-service"])

PROCESS_FIELDS = ("organisation_id", "process_id")
"""Stored with a write's answer (to start or tell the ticket's process) but not shown to the subscriber."""


def ticket_out(ticket: Ticket) -> dict[str, Any]:
    return MeTicketOut.model_validate(ticket, from_attributes=True).model_dump(mode="json")


def _stored(ticket: Ticket) -> dict[str, Any]:
    return {**ticket_out(ticket), "organisation_id": ticket.organisation_id, "process_id": ticket.process_id}


def _public(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k not in PROCESS_FIELDS}


def thread_line(line: TicketHistory) -> dict[str, Any]:
    return MeThreadLine(
        id=line.id,
        at=line.at,
        kind=line.kind,
        from_customer=bool((line.data or {}).get("from_customer")) or line.actor.startswith("usr_"),
        body=line.body,
        data={k: v for k, v in (line.data or {}).items() if k != "from_customer"},
    ).model_dump(mode="json")


@router.get("/ticket-categories", response_model=MeCategoryList, summary="What you may raise a ticket about")
def my_categories(subscriber: SubscriberDep, session: SessionDep) -> dict[str, Any]:
    rows = self_service.open_categories(session, subscriber)
    return {"data": [MeCategoryOut(id=c.id, code=c.code, name=c.name).model_dump() for c in rows]}


@router.post(
    "/tickets",
    status_code=201,
    response_model=MeTicketOut,
    summary="Raise a ticket (its SLA process starts with it)",
    responses={
        404: problem_response(
            "`ticket_category_not_found` (not open to subscribers), "
            "`subscription_not_found`, `device_not_found`, `invoice_not_found`"
        )
    },
)
async def raise_ticket(
    body: MeTicketIn,
    subscriber: SubscriberDep,
    write: SubscriberWriteDep,
    settings: SettingsDep,
    temporal: TemporalGatewayDep,
) -> JSONResponse:
    def produce(session: Session) -> dict[str, Any]:
        new = store.NewTicket(**body.model_dump(exclude={"account_id"}), account_id=body.account_id or "")
        return _stored(self_service.raise_ticket(session, subscriber, new))

    stored = await run_in_threadpool(write.store, body, produce)
    await start_process(
        await temporal.client(), settings, escalation_start(stored.body), replayed=stored.replayed
    )
    return JSONResponse(_public(stored.body), status_code=stored.status, headers=stored.headers)


@router.get("/tickets", response_model=MeTicketPage, summary="Your tickets, newest first")
def my_tickets(
    subscriber: SubscriberDep,
    session: SessionDep,
    status: Status | None = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> dict[str, Any]:
    rows, more = self_service.my_tickets(session, subscriber, status, cursor, limit)
    return {
        "data": [ticket_out(t) for t in rows],
        "next_cursor": encode_cursor(rows[-1].id) if more and rows else None,
        "has_more": more,
    }


def ticket_detail(session: Session, subscriber: Subscriber, ticket_id: str) -> dict[str, Any]:
    ticket, _ = self_service.own_ticket(session, subscriber, ticket_id)
    lines = [thread_line(h) for h in self_service.public_thread(session, ticket)]
    return {**ticket_out(ticket), "thread": lines}


@router.get("/tickets/{ticket_id}", response_model=MeTicketDetail, summary="A ticket and its public thread")
def my_ticket(ticket_id: str, subscriber: SubscriberDep, session: SessionDep) -> dict[str, Any]:
    return ticket_detail(session, subscriber, ticket_id)


async def _changed(write: Any, temporal: Any, body: Any, produce: Any, status: int) -> JSONResponse:
    stored = await run_in_threadpool(write.store, body, produce, status=status)
    await tell_process(temporal, stored.body["process_id"])
    return JSONResponse(_public(stored.body), status_code=stored.status, headers=stored.headers)


@router.post(
    "/tickets/{ticket_id}/comments",
    status_code=201,
    response_model=MeTicketOut,
    summary="Reply on your ticket (a ticket waiting on you opens again)",
    responses={409: problem_response("`ticket_closed`")},
)
async def reply(
    ticket_id: str,
    body: MeCommentIn,
    subscriber: SubscriberDep,
    write: SubscriberWriteDep,
    temporal: TemporalGatewayDep,
) -> JSONResponse:
    def produce(session: Session) -> dict[str, Any]:
        return _stored(self_service.reply(session, subscriber, ticket_id, body.body))

    return await _changed(write, temporal, body, produce, 201)


@router.post(
    "/tickets/{ticket_id}/close",
    response_model=MeTicketOut,
    summary="Close your ticket (you need nothing more)",
    responses={409: problem_response("`ticket_closed`: it is closed already")},
)
async def close(
    ticket_id: str, subscriber: SubscriberDep, write: SubscriberWriteDep, temporal: TemporalGatewayDep
) -> JSONResponse:
    def produce(session: Session) -> dict[str, Any]:
        return _stored(self_service.close(session, subscriber, ticket_id))

    return await _changed(write, temporal, {}, produce, 200)


def decoded(content_base64: str) -> bytes:
    try:
        return base64.b64decode(content_base64, validate=True)
    except (binascii.Error, ValueError):
        raise RuleViolation(
            "invalid_base64", "content_base64 is not base64", field="content_base64"
        ) from None


def checked_attachment(content_type: str, content: bytes) -> None:
    """The care area's checks: an allowed type whose content matches (else 415), not too big (413)."""
    try:
        care.check_content(care.check_attachment(content_type, len(content)), content)
    except care.AttachmentRefused as exc:
        raise ApiError(exc.status, exc.code, str(exc)) from None


def attachment_out(row: Any) -> dict[str, Any]:
    return MeAttachmentOut.model_validate(row, from_attributes=True).model_dump(mode="json")


@router.post(
    "/tickets/{ticket_id}/attachments",
    status_code=201,
    response_model=MeAttachmentOut,
    summary="Attach a file to your ticket",
    responses={
        413: problem_response(f"`attachment_too_large`: over {care.MAX_ATTACHMENT_BYTES} bytes"),
        415: problem_response("`attachment_type_refused` or `attachment_content_mismatch`"),
    },
)
def attach(ticket_id: str, body: MeAttachmentIn, subscriber: SubscriberDep, write: SubscriberWriteDep) -> Any:
    content = decoded(body.content_base64)
    checked_attachment(body.content_type, content)

    def produce(session: Session) -> dict[str, Any]:
        row = self_service.attach(session, subscriber, ticket_id, body.filename, body.content_type, content)
        return attachment_out(row)

    return write(body, produce)


@router.get(
    "/tickets/{ticket_id}/attachments/{attachment_id}",
    response_model=MeAttachmentContent,
    summary="A file of your ticket's thread (its content in base64)",
)
def download(
    ticket_id: str, attachment_id: str, subscriber: SubscriberDep, session: SessionDep
) -> dict[str, Any]:
    row = self_service.public_attachment(session, subscriber, ticket_id, attachment_id)
    return {**attachment_out(row), "content_base64": base64.b64encode(row.content).decode()}


def preferences_out(session: Session, account: Any) -> dict[str, Any]:
    prefs = rules_store.preferences_of(session, account.id)
    return MePreferencesOut(
        account_id=account.id,
        channels=prefs.channels,
        marketing_opt_out=prefs.marketing_opt_out,
        language=account.language,
    ).model_dump(mode="json")


AccountQuery = Annotated[str | None, Query(max_length=32)]


@router.get(
    "/notification-preferences",
    response_model=MePreferencesOut,
    summary="Your notification channels, marketing choice and language",
)
def my_preferences(
    subscriber: SubscriberDep, session: SessionDep, account_id: AccountQuery = None
) -> dict[str, Any]:
    return preferences_out(session, own_account(session, subscriber, account_id))


@router.put(
    "/notification-preferences",
    response_model=MePreferencesOut,
    summary="Choose your channels, marketing opt-out and language (legally required notices still go)",
)
def set_my_preferences(
    body: MePreferencesIn, subscriber: SubscriberDep, session: SessionDep
) -> dict[str, Any]:
    account = own_account(session, subscriber, body.account_id, lock=True)
    channels = [str(c) for c in body.channels] if body.channels is not None else None
    rules_store.set_preferences(session, account.id, channels, body.marketing_opt_out)
    if body.language is not None and body.language != account.language:
        principal = acting_principal(session, subscriber, account)
        account, _ = accounts.update_account(
            session, principal, account.id, {"language": body.language}, None
        )
    session.flush()
    return preferences_out(session, account)
