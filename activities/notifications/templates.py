"""Notification templates: Jinja2 in a sandbox with StrictUndefined, checked at save time against the
trigger's sample data, and the built-in defaults an operator without its own template gets.

A template has a subject, a text body and an optional HTML body. What it may use: ``account``
(``display_name``, ``email``, ``language``…), ``organisation`` (``name``), ``event`` (``id``, ``type``,
``occurred_at``), ``data`` (the event's snapshot) and ``money(amount_minor, currency)``. Anything else is
refused when saved: a syntax error, an unknown variable, an attempt to reach Python internals (the
sandbox's ``SecurityError``) — each with the line and the reason.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from functools import lru_cache
from types import TracebackType
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError
from jinja2.exceptions import SecurityError, TemplateError, UndefinedError
from jinja2.sandbox import SandboxedEnvironment

from domain.i18n import format_money, language_of
from domain.notifications import TemplateRejected

TEMPLATE_NAME = "<template>"
MAX_LENGTH = 20_000


MAX_PRODUCT = 100_000
"""The longest string or list, and the largest number, a ``*`` or ``**`` in a template may make."""


class _Sandbox(SandboxedEnvironment):
    """The sandbox, also refusing ``'x' * 10**9`` and ``9 ** 9 ** 9`` (memory and time, not data)."""

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "**":
            if isinstance(right, int | float) and abs(right) > 100:
                raise SecurityError("an exponent above 100 is not allowed")
            return left**right
        size = max(
            len(left) if isinstance(left, str | list | tuple) else 0,
            len(right) if isinstance(right, str | list | tuple) else 0,
        )
        count = right if isinstance(right, int) and size else left if isinstance(left, int) and size else 1
        if size and size * abs(int(count)) > MAX_PRODUCT:
            raise SecurityError(f"a repetition longer than {MAX_PRODUCT} is not allowed")
        return left * right


@lru_cache(maxsize=2)
def _environment(html: bool) -> SandboxedEnvironment:
    return _Sandbox(undefined=StrictUndefined, autoescape=html, keep_trailing_newline=False)


@dataclass(frozen=True)
class Parts:
    """A template's parts (or a rendered message's)."""

    subject: str
    text: str
    html: str | None = None


def _line_of(tb: TracebackType | None) -> int | None:
    """The template line an error was raised on (Jinja rewrites its frames to the template's lines)."""
    line = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == TEMPLATE_NAME:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def render_one(field: str, source: str, context: dict[str, Any], *, html: bool = False) -> str:
    """Render one part; ``TemplateRejected`` (with the line and the reason) when it does not render."""
    if len(source) > MAX_LENGTH:
        raise TemplateRejected(field, None, f"longer than {MAX_LENGTH} characters")
    env = _environment(html)
    try:
        template = env.from_string(source)
        template.filename = TEMPLATE_NAME
    except TemplateSyntaxError as exc:
        raise TemplateRejected(field, exc.lineno, f"syntax error: {exc.message}") from None
    except (SecurityError, OverflowError, RecursionError, MemoryError) as exc:  # folded while compiling
        raise TemplateRejected(field, None, f"not allowed: {exc}") from None
    try:
        return template.render(context)
    except (SecurityError, OverflowError, RecursionError, MemoryError) as exc:
        line = _line_of(sys.exc_info()[2])
        raise TemplateRejected(field, line, f"not allowed: {exc}") from None
    except UndefinedError as exc:
        line = _line_of(sys.exc_info()[2])
        raise TemplateRejected(field, line, f"unknown variable: {exc.message}") from None
    except (TemplateError, ArithmeticError, TypeError, ValueError, LookupError, AttributeError) as exc:
        line = _line_of(sys.exc_info()[2])
        raise TemplateRejected(field, line, f"{type(exc).__name__}: {exc}") from None


def render(parts: Parts, context: dict[str, Any]) -> Parts:
    """Render every part of a template (``TemplateRejected`` names the part, line and reason)."""
    return Parts(
        subject=render_one("subject", parts.subject, context).strip(),
        text=render_one("body_text", parts.text, context),
        html=render_one("body_html", parts.html, context, html=True) if parts.html is not None else None,
    )


def context_for(
    *,
    account: dict[str, Any],
    organisation: dict[str, Any],
    event: dict[str, Any],
    data: dict[str, Any],
) -> dict[str, Any]:
    """What a template sees."""
    language = language_of(str(account.get("language") or "en"))

    def money(amount_minor: int, currency: str) -> str:
        return format_money(int(amount_minor), str(currency), language)

    return {"account": account, "organisation": organisation, "event": event, "data": data, "money": money}


SAMPLE_ACCOUNT = {
    "id": "acc_sample",
    "display_name": "Ana García",
    "email": "ana@example.com",
    "phone": "+34600000000",
    "language": "es",
    "timezone": "Europe/Madrid",
}
SAMPLE_INVOICE = {
    "id": "inv_sample",
    "account_id": "acc_sample",
    "number": "INV-2026-000123",
    "status": "issued",
    "currency": "EUR",
    "issue_date": "2026-11-01",
    "due_date": "2026-11-15",
    "net_minor": 2000,
    "tax_minor": 420,
    "total_minor": 2420,
    "paid_minor": 0,
}
TICKET_SAMPLE: dict[str, Any] = {
    "id": "tkt_sample",
    "account_id": "acc_sample",
    "category_id": "tcat_sample",
    "queue_id": "tq_sample",
    "status": "open",
    "priority": "normal",
    "assignee": None,
    "escalation_level": 0,
    "subscription_id": "sub_sample",
    "device_id": None,
    "invoice_id": None,
    "payment_id": None,
}

SAMPLE_DATA: dict[str, dict[str, Any]] = {
    "invoice.issued": SAMPLE_INVOICE,
    "invoice.voided": SAMPLE_INVOICE,
    "credit_note.issued": {**SAMPLE_INVOICE, "id": "cn_sample", "invoice_id": "inv_sample", "reason": "x"},
    "payment.succeeded": {
        "id": "pay_sample",
        "account_id": "acc_sample",
        "invoice_id": "inv_sample",
        "amount_minor": 2420,
        "currency": "EUR",
        "status": "succeeded",
        "decline_code": None,
    },
    "dunning.step": {
        "invoice_id": "inv_sample",
        "account_id": "acc_sample",
        "invoice_number": "INV-2026-000123",
        "step": "notice:reminder",
        "kind": "reminder",
        "invoice_status": "overdue",
        "open_minor": 2420,
        "currency": "EUR",
    },
    "wallet.low_balance": {
        "id": "wal_sample",
        "account_id": "acc_sample",
        "currency": "EUR",
        "balance_minor": 150,
        "low_balance_threshold_minor": 500,
    },
    "subscription.activated": {
        "id": "sub_sample",
        "account_id": "acc_sample",
        "status": "active",
        "currency": "EUR",
        "bill_day": 1,
        "start_date": "2026-11-01",
        "end_date": None,
    },
    "device.swapped": {"id": "dev_sample", "account_id": "acc_sample", "serial": "SN-0001"},
    "device.dispatched": {
        "id": "dev_sample",
        "serial": "SN-0001",
        "product_code": "stb-4k",
        "state": "assigned",
        "subscription_id": "sub_sample",
        "service_id": "svc_sample",
        "warehouse_id": None,
        "movement_id": "mov_sample",
        "reason": None,
    },
    "partner.signup_link": {
        "account_id": "acc_sample",
        "provider": "netflix",
        "url": "https://partner.example/signup?token=sample",
    },
    "ticket.created": TICKET_SAMPLE,
    "ticket.escalated": {  # the supervisor's email (staff.py)
        **TICKET_SAMPLE,
        "priority": "urgent",
        "escalation_level": 1,
        "level": 1,
        "supervisor": "lead@example.com",
        "from_queue_id": "tq_first",
    },
    "ticket.updated": {
        **TICKET_SAMPLE,
        "change": "status",
        "previous_status": "new",
        "public": None,
        "process_id": None,
    },
    # the direct notices: the data their activities pass (activities/accounts, activities/subscriptions)
    "account.verification": {
        "account_id": "acc_sample",
        "email": "ana@example.com",
        "link": "https://portal.example/verify/acc_sample?token=sample-token",
    },
}
SAMPLE_DATA["device.returned"] = {
    **SAMPLE_DATA["device.dispatched"],
    "state": "in_stock",
    "warehouse_id": "wh_sample",
}
SAMPLE_DATA["device.lost_stolen"] = {**SAMPLE_DATA["device.dispatched"], "state": "lost_stolen"}
SAMPLE_DATA["payment.failed"] = {
    **SAMPLE_DATA["payment.succeeded"],
    "status": "failed",
    "decline_code": "card",
}
for _type in (
    "subscription.changed",
    "subscription.suspended",
    "subscription.resumed",
    "subscription.terminated",
):
    SAMPLE_DATA[_type] = SAMPLE_DATA["subscription.activated"]
for _kind in ("welcome", "device_swapped"):  # notices only: the subscription, its id and the notice's kind
    SAMPLE_DATA[f"subscription.{_kind}"] = {
        **SAMPLE_DATA["subscription.activated"],
        "subscription_id": "sub_sample",
        "kind": _kind,
    }


def sample_context(
    event_type: str, extra: dict[str, Any] | None = None, language: str = "en"
) -> dict[str, Any]:
    """The context a template of ``event_type`` is checked and previewed with (``extra`` over the sample
    data: the fields of an event type this module has no sample for, a ``ticket.*`` from another area)."""
    data = {**SAMPLE_DATA.get(event_type, {}), **(extra or {})}
    return context_for(
        account={**SAMPLE_ACCOUNT, "language": language},
        organisation={"id": "org_sample", "name": "Example Telecom"},
        event={"id": "evt_sample", "type": event_type, "occurred_at": "2026-11-01T09:00:00+00:00"},
        data=data,
    )


def check(parts: Parts, event_type: str, extra: dict[str, Any] | None = None, language: str = "en") -> Parts:
    """Render against the sample data (refused with line and reason when it does not render)."""
    return render(parts, sample_context(event_type, extra, language))
