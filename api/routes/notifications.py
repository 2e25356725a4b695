"""Notifications: an operator's triggers and templates (with a preview), a subscriber's preferences (staff
edit them), the message log, and the SMS gateway's signed delivery reports."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session

from activities.accounts.records import visible_account
from activities.notifications import defaults, reads, reports, templates
from activities.notifications import settings as rules_store
from activities.notifications.settings import TemplateSpec, TriggerSpec
from activities.notifications.templates import Parts
from api.deps import IdempotentWriteDep, OperatorAdminDep, SessionDep, SettingsDep, StaffDep
from api.errors import ApiError
from api.schemas.common import Page
from api.schemas.notifications import (
    DefaultTemplateOut,
    MessageOut,
    PreferencesIn,
    PreferencesOut,
    ReportAck,
    TemplateIn,
    TemplateOut,
    TemplatePreviewOut,
    TriggerIn,
    TriggerOut,
)
from domain import notifications as rules
from domain.notifications import TemplateRejected
from models.base import unit_of_work

router = APIRouter(tags=["notifications"])


def _dump(model: type[Any], row: Any) -> dict[str, Any]:
    return dict(model.model_validate(row, from_attributes=True).model_dump(mode="json"))


def _rejected(exc: TemplateRejected) -> ApiError:
    return ApiError(422, "template_invalid", str(exc), field=exc.field, line=exc.line, reason=exc.reason)


@router.post(
    "/v1/notification-triggers",
    status_code=201,
    response_model=TriggerOut,
    summary="Create or replace the trigger of an event type (or family): channels, quiet hours",
)
def save_trigger(body: TriggerIn, principal: OperatorAdminDep, write: IdempotentWriteDep) -> Any:
    try:
        rules.check_pattern(body.event_pattern)
    except ValueError as exc:
        raise ApiError(422, "invalid_event_pattern", str(exc), field="event_pattern") from None
    if (body.quiet_start is None) != (body.quiet_end is None):
        raise ApiError(422, "invalid_quiet_hours", "Give both quiet_start and quiet_end, or neither")
    spec = TriggerSpec(**body.model_dump())

    def produce(session: Session) -> dict[str, Any]:
        return _dump(TriggerOut, rules_store.save_trigger(session, principal.organisation_id, spec))

    return write(body, produce)


@router.get("/v1/notification-triggers", response_model=Page[TriggerOut], summary="Your triggers")
def list_triggers(principal: OperatorAdminDep, session: SessionDep) -> dict[str, Any]:
    rows = rules_store.triggers_of(session, principal.organisation_id)
    return {"data": [_dump(TriggerOut, t) for t in rows], "next_cursor": None, "has_more": False}


@router.post(
    "/v1/notification-templates",
    status_code=201,
    response_model=TemplateOut,
    summary="Create or replace a template (event type, channel, language); checked against sample data",
    description="422 `template_invalid` with `field`, `line` and `reason` when it does not render: a syntax"
    " error, an unknown variable, or an attempt to reach Python internals.",
)
def save_template(body: TemplateIn, principal: OperatorAdminDep, write: IdempotentWriteDep) -> Any:
    spec = TemplateSpec(**body.model_dump())
    try:  # checked before the write: nothing is stored when it does not render
        templates.check(
            Parts(spec.subject, spec.body_text, spec.body_html),
            spec.event_type,
            spec.sample_data,
            spec.language,
        )
    except TemplateRejected as exc:
        raise _rejected(exc) from None

    def produce(session: Session) -> dict[str, Any]:
        return _dump(TemplateOut, rules_store.save_template(session, principal.organisation_id, spec))

    return write(body, produce)


@router.get("/v1/notification-templates", response_model=Page[TemplateOut], summary="Your templates")
def list_templates(principal: OperatorAdminDep, session: SessionDep) -> dict[str, Any]:
    rows = rules_store.templates_of(session, principal.organisation_id)
    return {"data": [_dump(TemplateOut, t) for t in rows], "next_cursor": None, "has_more": False}


@router.get(
    "/v1/notification-templates/defaults",
    response_model=list[DefaultTemplateOut],
    summary="The built-in templates used where you have none (start your own from them)",
)
def list_default_templates(principal: OperatorAdminDep) -> list[dict[str, Any]]:
    out = []
    for (event_type, language), template in sorted(defaults.DEFAULT_TEMPLATES.items()):
        for channel in rules.CHANNELS:
            parts = template.parts(channel)
            out.append(
                {
                    "event_type": event_type,
                    "channel": channel,
                    "language": language,
                    "subject": parts.subject,
                    "body_text": parts.text,
                }
            )
    return out


@router.post(
    "/v1/notification-templates/preview",
    response_model=TemplatePreviewOut,
    summary="Render a template with sample data (writes nothing)",
)
def preview_template(body: TemplateIn, principal: OperatorAdminDep) -> dict[str, Any]:
    try:
        out = templates.check(
            Parts(body.subject, body.body_text, body.body_html),
            body.event_type,
            body.sample_data,
            body.language,
        )
    except TemplateRejected as exc:
        raise _rejected(exc) from None
    return {
        "subject": out.subject,
        "body_text": out.text,
        "body_html": out.html,
        "sms_segments": rules.sms_segments(out.text),
    }


@router.get(
    "/v1/accounts/{account_id}/notification-preferences",
    response_model=PreferencesOut,
    summary="The subscriber's notification choices",
)
def get_preferences(account_id: str, principal: StaffDep, session: SessionDep) -> dict[str, Any]:
    account = visible_account(session, principal, account_id)
    prefs = rules_store.preferences_of(session, account.id)
    return {
        "account_id": prefs.account_id,
        "channels": prefs.channels,
        "marketing_opt_out": prefs.marketing_opt_out,
    }


@router.put(
    "/v1/accounts/{account_id}/notification-preferences",
    response_model=PreferencesOut,
    summary="Set the subscriber's channels and marketing opt-out (legally required notices still go)",
)
def put_preferences(
    account_id: str, body: PreferencesIn, principal: StaffDep, session: SessionDep
) -> dict[str, Any]:
    account = visible_account(session, principal, account_id, lock=True)
    channels: list[str] | None = [str(c) for c in body.channels] if body.channels is not None else None
    prefs = rules_store.set_preferences(session, account.id, channels, body.marketing_opt_out)
    session.flush()
    return {
        "account_id": prefs.account_id,
        "channels": prefs.channels,
        "marketing_opt_out": prefs.marketing_opt_out,
    }


@router.get("/v1/notifications", response_model=Page[MessageOut], summary="The message log (newest first)")
def list_notifications(
    principal: StaffDep,
    session: SessionDep,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    account_id: Annotated[str | None, Query(max_length=40)] = None,
    channel: Annotated[str | None, Query(pattern="^(email|sms|push)$")] = None,
    status: Annotated[
        str | None, Query(pattern="^(queued|sending|sent|sent_unknown|delivered|failed|suppressed)$")
    ] = None,
    event_type: Annotated[str | None, Query(max_length=64)] = None,
    event_id: Annotated[str | None, Query(max_length=40)] = None,
) -> dict[str, Any]:
    filters = {
        "account_id": account_id,
        "channel": channel,
        "status": status,
        "event_type": event_type,
        "event_id": event_id,
    }
    page = reads.list_messages(session, principal, filters, cursor, limit)
    data = [_dump(MessageOut, m) for m in page.messages]
    return {"data": data, "next_cursor": page.next_cursor, "has_more": page.next_cursor is not None}


@router.post(
    "/v1/notifications/sms/reports",
    response_model=ReportAck,
    summary="The SMS gateway's delivery reports (signed by the gateway; no API key)",
    description="401 `invalid_signature` when X-SMS-Signature does not sign the body with the shared secret;"
    " 400 `invalid_report` for a body that is not a report. A repeat or a late non-final report changes"
    " nothing.",
)
async def sms_report(request: Request, settings: SettingsDep) -> dict[str, Any]:
    body = await request.body()
    signature = request.headers.get(reports.SIGNATURE_HEADER, "")
    try:
        report = reports.checked_report(settings.sms_callback_secret, signature, body)
    except reports.ReportRefused as exc:
        raise ApiError(exc.status, exc.code, exc.detail) from None

    def apply() -> bool:
        with unit_of_work(settings.database_url or "") as session:
            return reports.apply_report(session, report)[1]

    applied = await run_in_threadpool(apply)
    return {"received": True, "applied": applied}
