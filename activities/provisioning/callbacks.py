"""The MVNO host's callbacks (``POST /v1/provisioning/callbacks/mvno``): an order's outcome, told later.

The host signs each callback (``X-MVNO-Signature``, see integrations/provisioning/mvno/simulator.py); a
bad or missing signature is refused (401) and logged, and changes nothing. A signed one is recorded once
per host order and final status (``provisioning_callbacks``: a copy, delivered again, only counts one more
copy) and completes the provisioning order it answers, found by its ``order_ref`` (our idempotency key, or
``<key>#n`` for an operator's re-run):

* ``completed`` — the warehouse is brought in step (a ported-in number on the SIM, …) and the order is
  ``done``, in the same transaction; the Onboarding (or other) process still waiting on the order finds it
  done on its next attempt, without a second call to the host.
* ``rejected`` — the order is ``failed`` with the host's reason (a ``provisioning.failed`` event, visible in
  ``/v1/provisioning/orders?state=failed``); the waiting process stops retrying it (see orders.py).
* ``pending`` — nothing to do yet.

An order already done stays done (a late callback for it changes nothing).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from activities.provisioning.io import OrderInput
from activities.provisioning.mobile_lines import line_order_done, sim_line_in
from activities.provisioning.orders import HOST_REJECTED, record_failure
from domain.errors import RuleViolation
from integrations.provisioning.mvno.client import SIGNATURE_HEADER, Order, parse_order, verify_callback
from models.base import unit_of_work
from models.provisioning_callbacks import ProvisioningCallback
from models.subscriptions import ProvisioningOrder

log = logging.getLogger(__name__)
ADAPTER = "mvno"
ORDER_STATUSES = ("pending", "completed", "rejected")


class CallbackRefused(RuleViolation):
    status = 401


@dataclass(frozen=True)
class CallbackOutcome:
    """What a callback did: ``outcome`` (``done``, ``failed``, ``pending``, ``no_change``,
    ``unknown_order``) and whether it was a copy of one already received."""

    event_id: str
    outcome: str
    duplicate: bool
    order_id: str | None


def verified_order(secret: str, headers: Mapping[str, str], body: bytes) -> Order:
    """The host's order, if the host signed this body with ``secret`` (else 401, logged)."""
    signature = {k.lower(): v for k, v in headers.items()}.get(SIGNATURE_HEADER.lower(), "")
    if not secret:
        log.warning("refused an MVNO callback (%d bytes): no callback secret is configured", len(body))
        raise CallbackRefused(
            "callbacks_not_configured",
            "MVNO callbacks are not accepted here: set MULTIBILL_MVNO_CALLBACK_SECRET to the host's secret",
        )
    if not verify_callback(secret, signature, body):
        log.warning(
            "refused an MVNO callback (%d bytes): %s",
            len(body),
            "bad signature" if signature else f"no {SIGNATURE_HEADER} header",
        )
        raise CallbackRefused(
            "invalid_signature",
            f"the MVNO callback's {SIGNATURE_HEADER} does not sign this body with our shared secret",
        )
    try:
        data = json.loads(body)
        if not isinstance(data, dict):
            raise TypeError("the body is not a JSON object")
        order = parse_order(data)
        if order.status not in ORDER_STATUSES:
            raise ValueError(f"status {order.status!r} is not one of {', '.join(ORDER_STATUSES)}")
        for name, value, longest in (("order_id", order.order_id, 200), ("order_ref", order.order_ref, 300)):
            if not isinstance(value, str) or not 0 < len(value) <= longest:
                raise ValueError(f"{name} must be a string of 1 to {longest} characters")
        return order
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        log.warning("refused a signed MVNO callback that is not an order: %s", exc)
        raise RuleViolation(
            "invalid_callback", f"the MVNO callback is not an order ({exc.__class__.__name__}: {exc})"
        ) from exc


def receive_callback(
    database_url: str, secret: str, headers: Mapping[str, str], body: bytes
) -> CallbackOutcome:
    """Check, record once and apply one callback of the MVNO host."""
    order = verified_order(secret, headers, body)
    event_id = f"{order.order_id}:{order.status}"
    with unit_of_work(database_url) as session:
        inserted = session.execute(
            insert(ProvisioningCallback)
            .values(
                adapter=ADAPTER,
                event_id=event_id,
                order_ref=order.order_ref,
                payload=json.loads(body),
                outcome="received",
                copies=1,
            )
            .on_conflict_do_nothing(index_elements=["adapter", "event_id"])
            .returning(ProvisioningCallback.id)
        ).first()
        if inserted is None:
            session.execute(
                update(ProvisioningCallback)
                .where(ProvisioningCallback.adapter == ADAPTER, ProvisioningCallback.event_id == event_id)
                .values(copies=ProvisioningCallback.copies + 1)
            )
            log.info("MVNO callback %s received again: counted once", event_id)
            return CallbackOutcome(event_id, "duplicate", True, None)
        row = _order_of(session, order.order_ref)
        outcome = "unknown_order" if row is None else _apply(session, row, order)
        callback = session.get(ProvisioningCallback, inserted[0])
        assert callback is not None
        callback.outcome, callback.provisioning_order_id = outcome, row.id if row else None
        return CallbackOutcome(event_id, outcome, False, row.id if row else None)


def _order_of(session: Session, order_ref: str) -> ProvisioningOrder | None:
    key = order_ref.rsplit("#", 1)[0] if "#" in order_ref else order_ref
    return session.execute(
        select(ProvisioningOrder).where(ProvisioningOrder.idempotency_key == key).with_for_update()
    ).scalar_one_or_none()


def _apply(session: Session, row: ProvisioningOrder, order: Order) -> str:
    if row.state == "done" or order.status == "pending":
        return "no_change" if row.state == "done" else "pending"
    result: dict[str, Any] = dict(row.result or {})
    if order.status == "completed":
        sent = sim_line_in(session, OrderInput.model_validate(row.request))
        line_order_done(session, sent)
        result[ADAPTER] = {
            "status": "done",
            "reference": order.order_id,
            "detail": f"{order.type} completed (host callback)",
            "retryable": True,
        }
        row.state, row.adapter, row.result, row.error = "done", ADAPTER, result, None
        return "done"
    reason = f"{order.reason.code}: {order.reason.message}" if order.reason else "no reason given"
    detail = f"{order.type} rejected ({reason})"
    result[ADAPTER] = {"status": "failed", "reference": order.order_id, "detail": detail, "retryable": False}
    result[HOST_REJECTED] = order.order_ref
    failed_now = row.state != "failed"
    row.state, row.adapter, row.result, row.error = "failed", ADAPTER, result, detail
    if failed_now:
        session.flush()
        record_failure(session, row)
    return "failed"
