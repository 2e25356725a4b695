"""/v1/tickets: customer care tickets for staff (the account's organisation, or the organisation owning the
ticket's queue): raise, list, read with history, move, comment, assign, attach. Each ticket has a
TicketEscalation process (its SLA clocks), started with it and told of every change."""

from __future__ import annotations

import base64
import binascii
import logging
from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from pydantic import Field
from sqlalchemy.orm import Session

from activities.care import disputes
from activities.care import tickets as store
from activities.care.io import EscalationInput
from activities.shared.pagination import encode_cursor
from activities.subscriptions.changes import ActionRequest, prepare_action
from api.deps import IdempotentWriteDep, SessionDep, SettingsDep, StaffDep, TemporalGatewayDep
from api.device_swaps import swap_input, swap_start
from api.errors import ApiError
from api.process_starter import ProcessStart, signal_process, start_process
from api.schemas.care import (
    AssignIn,
    AttachmentContent,
    AttachmentOut,
    CommentIn,
    Priority,
    Status,
    TicketCreate,
    TicketDetail,
    TicketHistoryOut,
    TicketOut,
    TransitionIn,
)
from api.schemas.common import Page, Strict
from api.schemas.devices import SwapAccepted, SwapRequest
from api.schemas.subscriptions import ChangeStarted
from api.subscription_changes import start_change
from domain import care, process_ids
from domain.devices import SwapReason
from domain.errors import RuleViolation
from domain.process_ids import ProcessLabels
from models.base import unit_of_work
from models.care import Ticket
from workflows.device_swap import DeviceSwapInput
from workflows.ticket_escalation import PROCESS, TicketEscalationWorkflow

log = logging.getLogger(__name__)
router = APIRouter(prefix="/v1/tickets", tags=["customer care"])


def ticket_out(ticket: Ticket) -> dict[str, Any]:
    return TicketOut.model_validate(ticket, from_attributes=True).model_dump(mode="json")


def escalation_start(ticket: dict[str, Any]) -> ProcessStart:
    """The TicketEscalation of a ticket, found in the Temporal UI by TicketId and AccountId."""
    labels = ProcessLabels(
        process=PROCESS,
        summary=f"SLA of ticket {ticket['id']} ({ticket['priority']})",
        organisation_id=ticket["organisation_id"],
        account_id=ticket["account_id"],
        subscription_id=ticket["subscription_id"],
        invoice_id=ticket["invoice_id"],
        ticket_id=ticket["id"],
    )
    request = EscalationInput(
        ticket_id=ticket["id"], account_id=ticket["account_id"], organisation_id=ticket["organisation_id"]
    )
    return ProcessStart(TicketEscalationWorkflow.run, request, ticket["process_id"], labels)


async def tell_process(temporal: Any, process_id: str) -> None:
    """Wake the ticket's TicketEscalation (best effort: it reads the ticket again at its daily recheck)."""
    try:
        await signal_process(await temporal.client(), process_id, TicketEscalationWorkflow.ticket_changed)
    except ApiError as exc:
        log.warning(
            "ticket process %s not told of a change (%s); it catches up within a day", process_id, exc.detail
        )


@router.post("", status_code=201, response_model=TicketOut, summary="Raise a ticket (starts its SLA process)")
async def create_ticket(
    body: TicketCreate,
    principal: StaffDep,
    write: IdempotentWriteDep,
    settings: SettingsDep,
    temporal: TemporalGatewayDep,
) -> JSONResponse:
    """A ticket of an account in a category; a subscription, device, invoice or payment it names must be
    the account's. Its TicketEscalation starts at once (a 503 means: send the same request again)."""

    def produce(session: Session) -> dict[str, Any]:
        new = store.NewTicket(**body.model_dump())
        return ticket_out(store.create_ticket(session, principal, new))

    stored = await run_in_threadpool(write.store, body, produce)
    client = await temporal.client()
    await start_process(client, settings, escalation_start(stored.body), replayed=stored.replayed)
    return JSONResponse(stored.body, status_code=stored.status, headers=stored.headers)


@router.get("", response_model=Page[TicketOut], summary="Tickets you may see, oldest first")
def list_tickets(
    principal: StaffDep,
    session: SessionDep,
    status: Status | None = None,
    account_id: Annotated[str | None, Query(max_length=32)] = None,
    queue_id: Annotated[str | None, Query(max_length=32)] = None,
    category_id: Annotated[str | None, Query(max_length=32)] = None,
    priority: Priority | None = None,
    assignee: Annotated[str | None, Query(max_length=200)] = None,
    created_since: datetime | None = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> dict[str, Any]:
    filters = store.TicketFilter(status, account_id, queue_id, category_id, priority, assignee, created_since)
    rows, more = store.list_tickets(session, principal, filters, cursor, limit)
    return {
        "data": [ticket_out(t) for t in rows],
        "next_cursor": encode_cursor(rows[-1].id) if more and rows else None,
        "has_more": more,
    }


@router.get("/{ticket_id}", response_model=TicketDetail, summary="A ticket with its whole history")
def get_ticket(ticket_id: str, principal: StaffDep, session: SessionDep) -> dict[str, Any]:
    ticket = store.find_ticket(session, principal, ticket_id)
    lines = [
        TicketHistoryOut.model_validate(h, from_attributes=True).model_dump(mode="json")
        for h in store.history(session, ticket)
    ]
    return {**ticket_out(ticket), "history": lines}


async def _changed(
    write: IdempotentWriteDep, temporal: Any, body: Strict, produce: Any, *, status: int = 200
) -> JSONResponse:
    stored = await run_in_threadpool(write.store, body, produce, status=status)
    await tell_process(temporal, stored.body["process_id"])
    return JSONResponse(stored.body, status_code=stored.status, headers=stored.headers)


@router.post("/{ticket_id}/transitions", response_model=TicketOut, summary="Move a ticket to another state")
async def transition(
    ticket_id: str,
    body: TransitionIn,
    principal: StaffDep,
    write: IdempotentWriteDep,
    temporal: TemporalGatewayDep,
) -> JSONResponse:
    """new → open → waiting_on_customer → resolved → closed; a resolved ticket reopens (open). Waiting on the
    customer or resolved stops the SLA clocks; a reopen re-arms them; closing ends the process."""

    def produce(session: Session) -> dict[str, Any]:
        return ticket_out(store.transition(session, principal, ticket_id, body.status, body.note))

    return await _changed(write, temporal, body, produce)


@router.post(
    "/{ticket_id}/comments", status_code=201, response_model=TicketOut, summary="Comment on a ticket"
)
async def add_comment(
    ticket_id: str,
    body: CommentIn,
    principal: StaffDep,
    write: IdempotentWriteDep,
    temporal: TemporalGatewayDep,
) -> JSONResponse:
    """Internal (staff only) or public; a public answer is the first response; the customer's reply taken by
    staff (``from_customer``) reopens a ticket waiting on them."""

    def produce(session: Session) -> dict[str, Any]:
        store.comment(
            session, principal, ticket_id, body.body, public=body.public, from_customer=body.from_customer
        )
        return ticket_out(store.find_ticket(session, principal, ticket_id))

    return await _changed(write, temporal, body, produce, status=201)


@router.post("/{ticket_id}/assignment", response_model=TicketOut, summary="Assign a ticket or move its queue")
def assign(ticket_id: str, body: AssignIn, principal: StaffDep, write: IdempotentWriteDep) -> Response:
    if body.assignee is None and body.queue_id is None:
        raise ApiError(422, "empty_update", "Name an assignee or a queue")

    def produce(session: Session) -> dict[str, Any]:
        return ticket_out(store.assign(session, principal, ticket_id, body.assignee, body.queue_id))

    return write(body, produce, status=200)


class AttachmentIn(Strict):
    filename: str = Field(min_length=1, max_length=255)
    content_type: str = Field(min_length=1, max_length=100)
    content_base64: str = Field(min_length=1, description="the file, base64; see the allowed types and size")


@router.post(
    "/{ticket_id}/attachments", status_code=201, response_model=AttachmentOut, summary="Attach a file"
)
def attach(ticket_id: str, body: AttachmentIn, principal: StaffDep, write: IdempotentWriteDep) -> Response:
    """PDF, images (PNG, JPEG, GIF, WebP) and plain text or CSV (UTF-8), at most 512 KiB: another type, or
    content that is not of the declared type, is a 415; a larger file a 413."""
    try:
        content = base64.b64decode(body.content_base64, validate=True)
    except (binascii.Error, ValueError):
        raise RuleViolation(
            "invalid_base64", "content_base64 is not base64", field="content_base64"
        ) from None
    try:
        care.check_content(care.check_attachment(body.content_type, len(content)), content)
    except care.AttachmentRefused as exc:
        raise ApiError(exc.status, exc.code, str(exc)) from None

    def produce(session: Session) -> dict[str, Any]:
        row = store.attach(
            session,
            principal,
            ticket_id,
            filename=body.filename,
            content_type=body.content_type,
            content=content,
        )
        return AttachmentOut.model_validate(row, from_attributes=True).model_dump(mode="json")

    return write(body, produce)


@router.get(
    "/{ticket_id}/attachments/{attachment_id}",
    response_model=AttachmentContent,
    summary="An attachment with its content (base64)",
)
def download(ticket_id: str, attachment_id: str, principal: StaffDep, session: SessionDep) -> dict[str, Any]:
    row = store.find_attachment(session, principal, ticket_id, attachment_id)
    shown = AttachmentOut.model_validate(row, from_attributes=True).model_dump(mode="json")
    return {**shown, "content_base64": base64.b64encode(row.content).decode()}


@router.post(
    "/{ticket_id}/invoice-hold",
    response_model=TicketOut,
    summary="Hold a billing dispute's invoice (dunning waits until the dispute is settled)",
)
def hold_invoice(ticket_id: str, principal: StaffDep, write: IdempotentWriteDep) -> Response:
    def produce(session: Session) -> dict[str, Any]:
        return ticket_out(disputes.hold_invoice(session, principal, ticket_id))

    return write({}, produce, status=200)


class DisputeSettlement(Strict):
    outcome: Literal["credit", "reject"]
    amount_minor: int | None = Field(default=None, gt=0, le=10**15, description="net, for a credit")
    description: str = Field(min_length=1, max_length=300)


@router.post(
    "/{ticket_id}/dispute-settlement",
    response_model=TicketOut,
    summary="Settle a billing dispute: a credit note (a supervisor's admin key) or a rejection",
)
async def settle_dispute(
    ticket_id: str,
    body: DisputeSettlement,
    principal: StaffDep,
    write: IdempotentWriteDep,
    temporal: TemporalGatewayDep,
) -> JSONResponse:
    """Either ends the invoice's hold and resolves the ticket; a credit is issued against the invoice."""
    if body.outcome == "credit" and body.amount_minor is None:
        raise RuleViolation("amount_required", "A credit needs amount_minor", field="amount_minor")

    def produce(session: Session) -> dict[str, Any]:
        if body.outcome == "credit":
            assert body.amount_minor is not None
            settled = disputes.credit_dispute(
                session, principal, ticket_id, body.amount_minor, body.description, write.key
            )
        else:
            settled = disputes.reject_dispute(session, principal, ticket_id, body.description)
        return ticket_out(settled)

    return await _changed(write, temporal, body, produce)


class CancellationIn(Strict):
    timing: Literal["immediate", "end_of_term"] = Field(
        default="end_of_term", description="end_of_term: at the end of the plan's current term"
    )
    effective_date: date | None = None
    reason: str | None = Field(default=None, max_length=500)


@router.post(
    "/{ticket_id}/cancellation",
    status_code=202,
    response_model=ChangeStarted,
    summary="Start the termination a cancel request asks for (the SubscriptionAction, with the plan's terms)",
)
async def start_cancellation(
    ticket_id: str,
    body: CancellationIn,
    principal: StaffDep,
    write: IdempotentWriteDep,
    settings: SettingsDep,
    temporal: TemporalGatewayDep,
) -> Response:
    """The ticket's subscription is terminated by the process ``POST /v1/subscriptions/{id}/terminate``
    starts (now, or at the end of the term); the ticket's history names the process."""
    with unit_of_work(settings.database_url or "") as session:
        subscription_id = disputes.cancellation_ticket(session, principal, ticket_id).subscription_id
    assert subscription_id is not None
    request = ActionRequest(
        reason=body.reason or f"cancel request {ticket_id}",
        effective_date=body.effective_date,
        timing=body.timing,
    )

    def prepare(session: Session, sub: Any, process_id: str, actor: str) -> Any:
        ticket = disputes.cancellation_ticket(session, principal, ticket_id)
        plan = prepare_action(session, sub, "terminate", request, process_id, actor)
        disputes.record_cancellation(session, ticket, actor, process_id, plan.timing)
        return plan

    payload = body.model_dump(mode="json")
    return await start_change(
        "terminate", subscription_id, payload, prepare, principal, write, settings, temporal
    )


class StolenDeviceIn(Strict):
    warehouse_id: str | None = Field(
        default=None, max_length=32, description="where the replacement comes from"
    )


@router.post(
    "/{ticket_id}/stolen-device",
    status_code=202,
    response_model=SwapAccepted,
    summary="Block a stolen device at once (lost/stolen, its service's logins end) and start its swap",
)
async def block_stolen_device(
    ticket_id: str,
    body: StolenDeviceIn,
    principal: StaffDep,
    write: IdempotentWriteDep,
    settings: SettingsDep,
    temporal: TemporalGatewayDep,
) -> JSONResponse:
    """The device is marked lost/stolen in this request; the DeviceSwap (reason stolen) deprovisions it
    and provisions a replacement; follow it at /v1/processes/{process_id}."""

    def produce(session: Session) -> dict[str, Any]:
        ticket = disputes.block_stolen_device(session, principal, ticket_id)
        assert ticket.device_id is not None
        request = SwapRequest(reason=SwapReason.STOLEN, warehouse_id=body.warehouse_id)
        swap = swap_input(session, principal, ticket.device_id, request)
        process_id = process_ids.device_swap(principal.organisation_id, ticket.device_id, write.key)
        accepted = SwapAccepted(process_id=process_id, device_id=ticket.device_id, reason=SwapReason.STOLEN)
        return {**accepted.model_dump(mode="json"), "input": swap.model_dump(mode="json")}

    stored = await run_in_threadpool(write.store, body, produce, status=202)
    out = dict(stored.body)
    swap = DeviceSwapInput.model_validate(out.pop("input"))
    start = swap_start(out["process_id"], swap)
    await start_process(await temporal.client(), settings, start, replayed=stored.replayed)
    return JSONResponse(out, status_code=stored.status, headers=stored.headers)
