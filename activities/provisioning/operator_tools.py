"""Operator tools for provisioning: list orders and re-run a failed one (resync: provisioning_resync).

Orders are visible through subscription → account → organisation, inside the caller's subtree. Only
keys of an operator organisation reach these tools (partners sell; the operator runs the network): the
API's ``OperatorStaffDep`` / ``OperatorAdminDep`` say so, in one place.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session
from temporalio.exceptions import ApplicationError

from activities.provisioning.io import OrderInput, OrderOutcome
from activities.provisioning.orders import provision
from activities.shared.pagination import decode_cursor, encode_cursor, fetch_page
from domain.errors import Conflict, NotFound
from domain.principal import Principal
from integrations.provisioning.base import AdapterRegistry
from models.accounts import Account
from models.base import unit_of_work
from models.organisations import Organisation
from models.subscriptions import ProvisioningOrder, Subscription


def _visible(stmt: Select[Any], principal: Principal) -> Select[Any]:
    return (
        stmt.join(Subscription, Subscription.id == ProvisioningOrder.subscription_id)
        .join(Account, Account.id == Subscription.account_id)
        .join(Organisation, Organisation.id == Account.organisation_id)
        .where(Organisation.path.startswith(principal.organisation_path, autoescape=True))
    )


def list_orders(
    session: Session, principal: Principal, state: str | None, cursor: str | None, limit: int
) -> tuple[list[ProvisioningOrder], str | None]:
    stmt = _visible(select(ProvisioningOrder), principal)
    if state:
        stmt = stmt.where(ProvisioningOrder.state == state)
    if cursor:
        stmt = stmt.where(ProvisioningOrder.id > decode_cursor(cursor, "prv"))
    rows, more = fetch_page(session, stmt.order_by(ProvisioningOrder.id), limit)
    return rows, (encode_cursor(rows[-1].id) if more and rows else None)


def visible_order(session: Session, principal: Principal, order_id: str) -> ProvisioningOrder:
    row = session.execute(
        _visible(select(ProvisioningOrder), principal).where(ProvisioningOrder.id == order_id)
    ).scalar_one_or_none()
    if row is None:
        raise NotFound("provisioning_order", order_id)
    return row


def run_order(
    database_url: str, registry: AdapterRegistry, order: OrderInput, *, rerun: bool = False
) -> OrderOutcome:
    """Run an order now, outside Temporal; a failure is an outcome, not an exception."""
    try:
        return provision(database_url, registry, order, rerun=rerun)
    except ApplicationError:
        with unit_of_work(database_url) as session:
            row = session.execute(
                select(ProvisioningOrder).where(ProvisioningOrder.idempotency_key == order.idempotency_key)
            ).scalar_one()
            return OrderOutcome(
                order_id=row.id,
                state=row.state,
                adapters=(row.adapter or "").split(","),
                detail=row.error or "",
            )


def retry_order(
    database_url: str, registry: AdapterRegistry, principal: Principal, order_id: str
) -> OrderOutcome:
    """Re-run a failed order visible to the principal (any other state: a conflict)."""
    with unit_of_work(database_url) as session:
        row = visible_order(session, principal, order_id)
        if row.state != "failed":
            raise Conflict(
                "order_not_failed", f"order {order_id} is {row.state}; only failed orders are re-run"
            )
        order = OrderInput.model_validate(row.request)
    return run_order(database_url, registry, order, rerun=True)
