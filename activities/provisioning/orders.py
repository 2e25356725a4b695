"""Provisioning orders in the database: one row per service and action, found again by its key.

A failed order stays in the database for an operator to list and re-run.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from activities.provisioning.io import OrderInput
from domain.ids import new_id
from models.base import unit_of_work
from models.subscriptions import ProvisioningOrder


def record_order(database_url: str, order: OrderInput) -> ProvisioningOrder:
    """The order's row (written the first time), with one more attempt counted."""
    with unit_of_work(database_url) as session:
        row = session.execute(
            select(ProvisioningOrder).where(ProvisioningOrder.idempotency_key == order.idempotency_key)
        ).scalar_one_or_none()
        if row is None:
            row = ProvisioningOrder(
                id=new_id("prv"),
                subscription_id=order.subscription_id,
                service_id=order.service_id,
                service_kind=order.service_kind,
                action=order.action.value,
                state="pending",
                attempts=0,
                request=order.model_dump(mode="json"),
                result={},
                idempotency_key=order.idempotency_key,
            )
            session.add(row)
        row.attempts += 1
        session.flush()
        return row


def finish_order(
    database_url: str, order_id: str, state: str, adapters: list[str], results: dict[str, Any], error: str
) -> None:
    """Store where the order ended and what each adapter answered."""
    with unit_of_work(database_url) as session:
        row = session.get(ProvisioningOrder, order_id)
        assert row is not None
        row.state, row.adapter, row.result = state, ",".join(adapters) or None, results
        row.error = error or None
