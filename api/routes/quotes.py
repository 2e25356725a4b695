"""POST /v1/quotes: every charge line for plans, options and dates, computed and never saved."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from activities.catalog.quotes import PricedQuote, build_quote
from api.deps import SessionDep, StaffDep
from api.schemas.catalog import QuoteOut, QuoteRequest
from domain.money import Money
from domain.periods import local_midnight

router = APIRouter(prefix="/v1/quotes", tags=["quotes"])


def _money(value: Money) -> dict[str, Any]:
    return {"amount_minor": value.amount_minor, "amount": str(value.to_decimal()), "currency": value.currency}


def quote_out(priced: PricedQuote) -> dict[str, Any]:
    q = priced.quote
    lines = []
    for line, tax in zip(q.lines, q.tax.lines, strict=True):
        rate = q.rates[line.tax_category]
        lines.append(
            {
                "kind": line.kind,
                "plan": line.plan_code,
                "description": line.description,
                "period_start": line.period.start.isoformat() if line.period else None,
                "period_end": line.period.end.isoformat() if line.period else None,
                "service_start": line.service_start.isoformat() if line.service_start else None,
                "service_end": line.service_end.isoformat() if line.service_end else None,
                "starts_at": local_midnight(line.service_start, priced.timezone).isoformat()
                if line.service_start
                else None,
                "quantity": str(line.quantity),
                "unit_price": str(line.unit_price),
                "amount": _money(line.amount),
                "tax_rate": {"code": rate.code, "percent": str(rate.percent)},
                "net": _money(tax.net),
                "tax": _money(tax.tax),
                "gross": _money(tax.gross),
            }
        )
    taxes = [
        {
            "code": r.rate.code,
            "percent": str(r.rate.percent),
            "net": _money(r.net),
            "tax": _money(r.tax),
            "reason": r.reason,
        }
        for r in q.tax.by_rate
    ]
    return {
        "object": "quote",
        "currency": priced.context.currency,
        "country": priced.context.country,
        "timezone": priced.timezone,
        "tax_inclusive": priced.tax_inclusive,
        "tax_status": priced.context.tax_status.value,
        "lines": lines,
        "taxes": taxes,
        "totals": {"net": _money(q.tax.net), "tax": _money(q.tax.tax), "gross": _money(q.tax.gross)},
    }


@router.post(
    "",
    response_model=QuoteOut,
    summary="Preview every charge line (writes nothing; Idempotency-Key not needed)",
)
def create_quote(body: QuoteRequest, principal: StaffDep, session: SessionDep) -> dict[str, Any]:
    return quote_out(build_quote(session, principal, body))
