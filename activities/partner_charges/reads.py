"""Reading an operator's partner charges (the API's list and detail)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from activities.shared.pagination import decode_cursor, encode_cursor, fetch_page
from domain.errors import NotFound
from domain.ids import is_valid_id
from models.partners import PartnerCharge


def list_charges(
    session: Session,
    operator_id: str,
    *,
    provider: str | None,
    status: str | None,
    account_id: str | None,
    cursor: str | None,
    limit: int,
) -> tuple[list[PartnerCharge], str | None]:
    """The operator's charges, newest first, filtered; the page and the next page's cursor."""
    stmt = select(PartnerCharge).where(PartnerCharge.organisation_id == operator_id)
    if provider is not None:
        stmt = stmt.where(PartnerCharge.provider == provider)
    if status is not None:
        stmt = stmt.where(PartnerCharge.status == status)
    if account_id is not None:
        stmt = stmt.where(PartnerCharge.account_id == account_id)
    if cursor is not None:
        stmt = stmt.where(PartnerCharge.id < decode_cursor(cursor, "pch"))
    rows, more = fetch_page(session, stmt.order_by(PartnerCharge.id.desc()), limit)
    return rows, encode_cursor(rows[-1].id) if more and rows else None


def charge_of(session: Session, operator_id: str, charge_id: str) -> PartnerCharge:
    """One of the operator's charges (404 ``partner_charge_not_found`` for anyone else's)."""
    row = session.get(PartnerCharge, charge_id) if is_valid_id(charge_id, "pch") else None
    if row is None or row.organisation_id != operator_id:
        raise NotFound("partner_charge", charge_id)
    return row
