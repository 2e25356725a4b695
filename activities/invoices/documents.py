"""Invoice and credit note documents: Jinja2 templates (portal/templates) rendered to HTML and PDF.

Documents are in the account's language (domain/i18n.py: labels, dates, money in the currency's minor
units) and carry the issuing organisation's branding: its name and a branding dict (``colour``,
``logo_text``, ``footer``). An organisation without branding gets the defaults below; a caller may pass
overrides. PDFs are rendered by WeasyPrint with the system's fonts (no network access: external URLs
in templates are never fetched).
"""

from __future__ import annotations

import importlib
import re
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sqlalchemy.orm import Session

from activities.invoices.reads import (
    RateTotals,
    credited_minor,
    invoice_lines,
    invoice_rate_totals,
    rate_totals,
)
from domain.i18n import (
    format_date,
    format_decimal,
    format_money,
    format_percent,
    format_price,
    labels,
    language_of,
)
from models.accounts import Account
from models.billing import CreditNote, Invoice
from models.organisations import Organisation

TEMPLATES = Path(__file__).resolve().parents[2] / "portal" / "templates"
DEFAULT_BRANDING: dict[str, str] = {"colour": "#12355b", "logo_text": "", "footer": ""}
_COLOUR = re.compile(r"^#[0-9a-fA-F]{3}([0-9a-fA-F]{3})?$")


@lru_cache(maxsize=1)
def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def branding_for(org: Organisation, overrides: dict[str, str] | None = None) -> dict[str, str]:
    """The organisation's branding over the defaults; a colour that is not ``#rgb``/``#rrggbb`` is ignored."""
    stored = getattr(org, "branding", None)
    brand = {**DEFAULT_BRANDING, **(stored if isinstance(stored, dict) else {}), **(overrides or {})}
    if not _COLOUR.match(str(brand.get("colour", ""))):
        brand["colour"] = DEFAULT_BRANDING["colour"]
    brand["logo_text"] = str(brand.get("logo_text") or org.name)
    return {"name": org.name, "country": org.country or "", **{k: str(v) for k, v in brand.items()}}


def _customer(account: Account) -> dict[str, Any]:
    billing = [a for a in account.addresses if a.get("kind") == "billing"] or account.addresses[:1]
    address: list[str] = []
    if billing:
        a = billing[0]
        address = [str(a[k]) for k in ("line1", "line2") if a.get(k)]
        address.append(" ".join(str(a[k]) for k in ("postal_code", "city") if a.get(k)))
        if a.get("country"):
            address.append(str(a["country"]))
    return {
        "name": account.legal_name or account.display_name,
        "id": account.id,
        "tax_id": account.tax_id,
        "address": [line for line in address if line],
    }


def _period(start: date | str | None, end: date | str | None, lang: str) -> str:
    if start is None or end is None:
        return ""
    first = start if isinstance(start, date) else date.fromisoformat(start)
    last = end if isinstance(end, date) else date.fromisoformat(end)
    return labels(lang)["period_range"].format(start=format_date(first, lang), end=format_date(last, lang))


def _line(row: dict[str, Any], currency: str, lang: str) -> dict[str, str]:
    unit = row.get("unit_price")
    return {
        "description": str(row["description"]),
        "period": _period(row.get("period_start"), row.get("period_end"), lang),
        "quantity": format_decimal(str(row.get("quantity") or "1"), lang),
        "unit_price": format_price(str(unit), currency, lang) if unit not in (None, "") else "",
        "tax": format_percent(str(row["tax_percent"]), lang),
        "amount": format_money(int(row["amount_minor"]), currency, lang),
    }


def _taxes(totals: list[RateTotals], currency: str, lang: str) -> list[dict[str, str]]:
    return [
        {
            "rate": f"{r.tax_rate} ({format_percent(r.tax_percent, lang)})",
            "base": format_money(r.net_minor, currency, lang),
            "tax": format_money(r.tax_minor, currency, lang),
        }
        for r in totals
    ]


def _tax_notes(reason: str | None, lang: str) -> list[str]:
    t = labels(lang)
    return [t[f"tax_{reason}"]] if reason in ("exempt", "reverse_charge") else []


def _base(account: Account, org: Organisation, branding: dict[str, str] | None) -> tuple[str, dict[str, Any]]:
    lang = language_of(account.language)
    return lang, {
        "lang": lang,
        "t": labels(lang),
        "brand": branding_for(org, branding),
        "customer": _customer(account),
    }


def invoice_context(
    session: Session, invoice: Invoice, branding: dict[str, str] | None = None
) -> dict[str, Any]:
    """Everything the invoice template shows, formatted in the account's language."""
    account = session.get(Account, invoice.account_id)
    org = session.get(Organisation, invoice.organisation_id)
    assert account is not None and org is not None
    lang, context = _base(account, org, branding)
    t, cur = context["t"], invoice.currency
    lines = invoice_lines(session, invoice.id)
    credited = credited_minor(session, [invoice.id]).get(invoice.id, 0)
    meta = [
        (t["number"], invoice.number),
        (t["issue_date"], format_date(invoice.issue_date, lang)),
        (t["due_date"], format_date(invoice.due_date, lang)),
    ]
    if invoice.period_start and invoice.period_end:
        meta.append((t["period"], _period(invoice.period_start, invoice.period_end, lang)))
    totals = [
        (t["subtotal"], format_money(invoice.net_minor, cur, lang), False),
        (t["tax_total"], format_money(invoice.tax_minor, cur, lang), False),
        (t["total"], format_money(invoice.total_minor, cur, lang), True),
    ]
    if invoice.paid_minor or credited:
        due = invoice.total_minor - invoice.paid_minor - credited
        totals += [
            (t["paid"], format_money(invoice.paid_minor, cur, lang), False),
            (t["credited"], format_money(credited, cur, lang), False),
            (t["amount_due"], format_money(due, cur, lang), True),
        ]
    return {
        **context,
        "title": t["invoice"],
        "number": invoice.number,
        "meta": meta,
        "stamp": t["void_stamp"] if invoice.status == "void" else "",
        "lines": [_line(_row(li), cur, lang) for li in lines],
        "taxes": _taxes(invoice_rate_totals(lines), cur, lang),
        "totals": totals,
        "notes": _tax_notes(invoice.tax_reason, lang),
    }


def _row(line: Any) -> dict[str, Any]:
    keys = (
        "description",
        "period_start",
        "period_end",
        "quantity",
        "unit_price",
        "amount_minor",
        "tax_percent",
    )
    return {k: getattr(line, k) for k in keys}


def credit_note_context(
    session: Session, note: CreditNote, branding: dict[str, str] | None = None
) -> dict[str, Any]:
    account = session.get(Account, note.account_id)
    org = session.get(Organisation, note.organisation_id)
    assert account is not None and org is not None
    lang, context = _base(account, org, branding)
    t, cur = context["t"], note.currency
    meta = [(t["number"], note.number), (t["issue_date"], format_date(note.issue_date, lang))]
    invoice = session.get(Invoice, note.invoice_id) if note.invoice_id else None
    if invoice is not None:
        meta.append((t["credited_invoice"], invoice.number))
    totals = rate_totals(
        [
            (str(li["tax_rate"]), str(li["tax_percent"]), int(li["amount_minor"]), int(li["tax_minor"]))
            for li in note.lines
        ]
    )
    reason = t.get(f"reason_{note.reason}", note.reason)
    return {
        **context,
        "title": t["credit_note"],
        "number": note.number,
        "meta": meta,
        "stamp": "",
        "reason": f"{reason}. {note.description}" if note.description else reason,
        "lines": [_line(li, cur, lang) for li in note.lines],
        "taxes": _taxes(totals, cur, lang),
        "totals": [
            (t["subtotal"], format_money(note.net_minor, cur, lang), False),
            (t["tax_total"], format_money(note.tax_minor, cur, lang), False),
            (t["total"], format_money(note.total_minor, cur, lang), True),
        ],
        "notes": _tax_notes(invoice.tax_reason if invoice is not None else None, lang),
    }


def render_html(template: str, context: dict[str, Any]) -> str:
    return _environment().get_template(template).render(**context)


def _no_fetch(url: str, *args: Any, **kwargs: Any) -> Any:
    raise ValueError(f"documents do not load external resources ({url})")


def html_to_pdf(html: str) -> bytes:
    """A PDF of the HTML (WeasyPrint, imported on first use: it is slow to import)."""
    weasyprint: Any = importlib.import_module("weasyprint")
    return bytes(weasyprint.HTML(string=html, url_fetcher=_no_fetch).write_pdf())


def invoice_html(session: Session, invoice: Invoice, branding: dict[str, str] | None = None) -> str:
    return render_html("invoice.html", invoice_context(session, invoice, branding))


def invoice_pdf(session: Session, invoice: Invoice, branding: dict[str, str] | None = None) -> bytes:
    return html_to_pdf(invoice_html(session, invoice, branding))


def credit_note_html(session: Session, note: CreditNote, branding: dict[str, str] | None = None) -> str:
    return render_html("credit_note.html", credit_note_context(session, note, branding))


def credit_note_pdf(session: Session, note: CreditNote, branding: dict[str, str] | None = None) -> bytes:
    return html_to_pdf(credit_note_html(session, note, branding))


__all__ = [
    "branding_for",
    "credit_note_context",
    "credit_note_html",
    "credit_note_pdf",
    "html_to_pdf",
    "invoice_context",
    "invoice_html",
    "invoice_pdf",
]
