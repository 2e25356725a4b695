"""What the rewards and care pages share: rendering with money and dates in the visitor's language, the
subscriber's idempotent write for a form (the form carries its own key, so a double submit is one
change), calling the self-service API's route functions, and turning their refusals into a message."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from activities.identity.sessions import FoundSession
from api.deps import check_idempotency_key
from api.errors import ApiError
from api.idempotency import IdempotentWrite
from api.subscriber_deps import subscriber_write
from domain.errors import RuleViolation
from domain.i18n import format_date, format_money
from models.base import unit_of_work
from portal.messages import catalogue, text
from portal.shell import language, render


class Refused(Exception):
    """A form the API refused: the status to answer and the message to show (role=alert)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _day(value: str | date | datetime | None, lang: str) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
    if isinstance(value, datetime):
        value = value.date()
    return format_date(value, lang)


def page(request: Request, name: str, me: FoundSession, status: int = 200, **context: Any) -> HTMLResponse:
    """A care page: ``money(minor, currency)``, ``day(value)`` and the forms' ``form_key`` (fresh, or the
    submitted form's when it is shown again, so sending it again is the same request) in the context."""
    lang = language(request)
    return render(
        request,
        name,
        me,
        status_code=status,
        lang=lang,
        money=lambda minor, currency: format_money(int(minor), str(currency), lang),
        day=lambda value: _day(value, lang),
        form_key=context.pop("form_key", None) or uuid.uuid4().hex,
        error=context.pop("error", None),
        notice=context.pop("notice", None),
        **context,
    )


def message_of(lang: str, code: str, detail: str) -> str:
    key = f"care.error.{code}"
    if key in catalogue().get(lang, {}) or key in catalogue()["en"]:
        return text(lang, key, detail=detail) if "{detail}" in catalogue()["en"][key] else text(lang, key)
    return text(lang, "care.error.generic", detail=detail)


def refusal(request: Request, exc: Exception) -> Refused:
    """The page's message for an API refusal (an ApiError, a rule, or a form that does not validate)."""
    lang = language(request)
    if isinstance(exc, ApiError):
        return Refused(exc.status, message_of(lang, exc.code, exc.detail))
    if isinstance(exc, RuleViolation):
        return Refused(exc.status, message_of(lang, exc.code, exc.message))
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        return Refused(422, message_of(lang, "validation_error", f"{where}: {first.get('msg', '')}"))
    raise exc


def answered(request: Request, response: Response) -> dict[str, Any]:
    """The JSON of a route's answer; a problem answer (e.g. a 429) becomes a Refused."""
    body: dict[str, Any] = json.loads(bytes(response.body))
    if response.status_code >= 400:
        raise Refused(
            response.status_code,
            message_of(language(request), str(body.get("code")), str(body.get("detail"))),
        )
    return body


def form_write(
    request: Request, me: FoundSession, fields: dict[str, str], suffix: str = ""
) -> IdempotentWrite:
    """The subscriber's write for this form, keyed by the form's own ``idempotency_key``."""
    key = check_idempotency_key(fields.get("idempotency_key") or uuid.uuid4().hex)
    return subscriber_write(request, me.subscriber, request.app.state.settings, f"{key}{suffix}")


@contextmanager
def reading(request: Request) -> Iterator[Session]:
    with unit_of_work(request.app.state.settings.database_url or "") as session:
        yield session


def attempt(request: Request, call: Callable[[], Any]) -> Any:
    """``call()``, with any refusal turned into a Refused."""
    try:
        return call()
    except (ApiError, RuleViolation, ValidationError) as exc:
        raise refusal(request, exc) from None
