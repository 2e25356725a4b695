"""Labels and number, money and date formats for customer documents, per language (pure).

Supported languages: ``en`` and ``es``; any other tag falls back to its base language, then to ``en``
(``es-MX`` -> ``es``, ``fr`` -> ``en``). Money is shown with exactly the currency's minor units and is
never rounded here: amounts arrive in minor units, prices as exact decimals.

``en``: ``€1,234.56``, ``-$5.00``, ``¥1,235``, ``CHF 1,234.56`` (symbol before, no space; a code is
followed by a space). ``es``: ``1.234,56 €``, ``-5,00 US$``, ``1.234,56 CHF`` (after, with a space).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from domain.currency import minor_units

DEFAULT_LANGUAGE = "en"


@dataclass(frozen=True)
class Locale:
    decimal: str
    group: str
    symbol_first: bool
    symbols: dict[str, str]
    months: tuple[str, ...]
    date_pattern: str  # str.format with day, month (number), month_name, year
    percent_pattern: str


_EN_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_ES_MONTHS = ("ene", "feb", "mar", "abr", "may", "jun", "jul", "ago", "sept", "oct", "nov", "dic")

LOCALES: dict[str, Locale] = {
    "en": Locale(
        ".",
        ",",
        True,
        {"EUR": "€", "USD": "$", "GBP": "£", "JPY": "¥"},
        _EN_MONTHS,
        "{day} {month_name} {year}",
        "{value}%",
    ),
    "es": Locale(
        ",", ".", False, {"EUR": "€", "USD": "US$"}, _ES_MONTHS, "{day:02d}/{month:02d}/{year}", "{value} %"
    ),
}

LABELS: dict[str, dict[str, str]] = {
    "en": {
        "invoice": "Invoice",
        "credit_note": "Credit note",
        "number": "Number",
        "issue_date": "Issue date",
        "due_date": "Due date",
        "period": "Period",
        "bill_to": "Bill to",
        "customer_id": "Customer",
        "tax_id": "Tax ID",
        "description": "Description",
        "quantity": "Qty",
        "unit_price": "Unit price",
        "tax_rate": "Tax",
        "amount": "Amount",
        "tax_summary": "Tax summary",
        "taxable_base": "Taxable base",
        "tax": "Tax",
        "subtotal": "Subtotal",
        "tax_total": "Tax",
        "total": "Total",
        "paid": "Paid",
        "credited": "Credited",
        "amount_due": "Amount due",
        "credited_invoice": "Credits invoice",
        "reason": "Reason",
        "status": "Status",
        "void_stamp": "VOID",
        "tax_exempt": "Exempt from tax",
        "tax_reverse_charge": "Reverse charge: tax to be accounted for by the recipient",
        "reason_void": "Invoice voided",
        "reason_goodwill": "Goodwill",
        "reason_downgrade": "Plan downgrade",
        "reason_suspension": "Suspension",
        "reason_refund": "Refund",
        "period_range": "{start} \u2013 {end}",
    },
    "es": {
        "invoice": "Factura",
        "credit_note": "Factura rectificativa",
        "number": "Número",
        "issue_date": "Fecha de emisión",
        "due_date": "Fecha de vencimiento",
        "period": "Periodo",
        "bill_to": "Facturar a",
        "customer_id": "Cliente",
        "tax_id": "NIF",
        "description": "Concepto",
        "quantity": "Cant.",
        "unit_price": "Precio unitario",
        "tax_rate": "Impuesto",
        "amount": "Importe",
        "tax_summary": "Desglose de impuestos",
        "taxable_base": "Base imponible",
        "tax": "Cuota",
        "subtotal": "Subtotal",
        "tax_total": "Impuestos",
        "total": "Total",
        "paid": "Pagado",
        "credited": "Abonado",
        "amount_due": "Importe pendiente",
        "credited_invoice": "Rectifica la factura",
        "reason": "Motivo",
        "status": "Estado",
        "void_stamp": "ANULADA",
        "tax_exempt": "Operación exenta de impuestos",
        "tax_reverse_charge": "Inversión del sujeto pasivo",
        "reason_void": "Anulación de factura",
        "reason_goodwill": "Compensación comercial",
        "reason_downgrade": "Cambio a un plan inferior",
        "reason_suspension": "Suspensión del servicio",
        "reason_refund": "Reembolso",
        "period_range": "{start} \u2013 {end}",
    },
}


def language_of(tag: str | None) -> str:
    """The supported language for a tag: ``es-MX`` -> ``es``; unknown -> ``en``."""
    base = (tag or "").replace("_", "-").split("-")[0].lower()
    return base if base in LOCALES else DEFAULT_LANGUAGE


def labels(language: str) -> dict[str, str]:
    return LABELS[language_of(language)]


def _group(digits: str, separator: str) -> str:
    head = len(digits) % 3 or 3
    parts = [digits[:head]] + [digits[i : i + 3] for i in range(head, len(digits), 3)]
    return separator.join(parts)


def format_decimal(value: Decimal | int | str, language: str, *, min_places: int = 0) -> str:
    """An exact decimal with the language's separators, at least ``min_places`` decimals, never rounded.

    Trailing zeros beyond ``min_places`` are dropped: ``Decimal("2.500")`` -> ``2.5`` / ``2,5``.
    """
    locale = LOCALES[language_of(language)]
    number = Decimal(value)
    if not number.is_finite():
        raise ValueError(f"{value!r} is not a finite number")
    sign = "-" if number < 0 else ""
    text = format(abs(number), "f")
    whole, _, fraction = text.partition(".")
    fraction = fraction.rstrip("0").ljust(min_places, "0")
    grouped = _group(whole, locale.group)
    return f"{sign}{grouped}{locale.decimal}{fraction}" if fraction else f"{sign}{grouped}"


def _with_currency(number: str, currency: str, language: str) -> str:
    locale = LOCALES[language_of(language)]
    sign, digits = ("-", number[1:]) if number.startswith("-") else ("", number)
    symbol = locale.symbols.get(currency, currency)
    if locale.symbol_first:
        spacer = "" if symbol != currency else " "
        return f"{sign}{symbol}{spacer}{digits}"
    return f"{sign}{digits} {symbol}"


def format_money(amount_minor: int, currency: str, language: str) -> str:
    """An amount in minor units, with exactly the currency's decimals: ``1.234,56 €`` / ``€1,234.56``."""
    places = minor_units(currency)
    number = format_decimal(Decimal(amount_minor).scaleb(-places), language, min_places=places)
    return _with_currency(number, currency, language)


def format_price(value: Decimal | str, currency: str, language: str) -> str:
    """A unit price in major units, exact (rated prices may carry more decimals than the currency)."""
    number = format_decimal(value, language, min_places=minor_units(currency))
    return _with_currency(number, currency, language)


def format_percent(value: Decimal | str, language: str) -> str:
    locale = LOCALES[language_of(language)]
    return locale.percent_pattern.format(value=format_decimal(value, language))


def format_date(value: date, language: str) -> str:
    """``26 Nov 2026`` (en), ``26/11/2026`` (es)."""
    locale = LOCALES[language_of(language)]
    return locale.date_pattern.format(
        day=value.day, month=value.month, month_name=locale.months[value.month - 1], year=value.year
    )


__all__ = [
    "LABELS",
    "format_date",
    "format_decimal",
    "format_money",
    "format_percent",
    "format_price",
    "labels",
    "language_of",
]
