"""An operator's loyalty programme and award rules: create, edit, read. One transaction each."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from activities.shared.pagination import fetch_page
from domain.errors import Conflict, NotFound
from domain.ids import new_id
from domain.loyalty import RuleDefinition
from models.base import utcnow
from models.loyalty import LoyaltyProgramme, LoyaltyRule


def set_programme(
    session: Session, operator_id: str, currency: str, point_value_minor: Decimal, expiry_months: int | None
) -> LoyaltyProgramme:
    values = {
        "currency": currency,
        "point_value_minor": point_value_minor,
        "points_expiry_months": expiry_months,
        "updated_at": utcnow(),
    }
    session.execute(
        insert(LoyaltyProgramme)
        .values(organisation_id=operator_id, **values)
        .on_conflict_do_update(index_elements=["organisation_id"], set_=values)
    )
    programme = session.get(LoyaltyProgramme, operator_id, populate_existing=True)
    assert programme is not None
    return programme


def create_rule(
    session: Session, operator_id: str, code: str, name: str, definition: RuleDefinition, active: bool
) -> LoyaltyRule:
    rule = LoyaltyRule(
        id=new_id("lrl"),
        organisation_id=operator_id,
        code=code,
        name=name,
        definition=definition.model_dump(mode="json"),
        active=active,
    )
    try:
        with session.begin_nested():
            session.add(rule)
            session.flush()
    except IntegrityError:
        raise Conflict("loyalty_rule_exists", f"a loyalty rule with code {code!r} exists") from None
    return rule


def find_rule(session: Session, operator_id: str, rule_id: str, *, lock: bool = False) -> LoyaltyRule:
    rule = session.get(LoyaltyRule, rule_id, with_for_update=lock)
    if rule is None or rule.organisation_id != operator_id:
        raise NotFound("loyalty_rule", rule_id)
    return rule


def update_rule(rule: LoyaltyRule, changes: dict[str, Any]) -> LoyaltyRule:
    """Apply ``name``, ``active`` and a new ``definition`` (validated before); the version moves on."""
    if "name" in changes:
        rule.name = changes["name"]
    if "active" in changes:
        rule.active = changes["active"]
    if "definition" in changes:
        rule.definition = changes["definition"].model_dump(mode="json")
    rule.version += 1
    return rule


def list_rules(
    session: Session, operator_id: str, *, after: str | None, limit: int
) -> tuple[Sequence[LoyaltyRule], str | None]:
    stmt = select(LoyaltyRule).where(LoyaltyRule.organisation_id == operator_id)
    if after:
        stmt = stmt.where(LoyaltyRule.id > after)
    rows, more = fetch_page(session, stmt.order_by(LoyaltyRule.id), limit)
    return rows, rows[-1].id if more and rows else None
