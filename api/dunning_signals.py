"""Tell running Dunning processes that their invoice is now paid (they stop and resume services)."""

from __future__ import annotations

from collections.abc import Iterable

from fastapi.concurrency import run_in_threadpool
from sqlalchemy import select

from api.deps import TemporalGateway
from api.errors import ApiError
from api.process_starter import signal_process
from domain import process_ids
from models.base import unit_of_work
from models.billing import Invoice
from workflows.dunning import DunningWorkflow


def paid_invoices(database_url: str, invoice_ids: Iterable[str]) -> list[str]:
    ids = sorted(set(invoice_ids))
    if not ids:
        return []
    with unit_of_work(database_url) as session:
        return list(
            session.execute(select(Invoice.id).where(Invoice.id.in_(ids), Invoice.status == "paid")).scalars()
        )


async def signal_paid(gateway: TemporalGateway, database_url: str, invoice_ids: Iterable[str]) -> list[str]:
    """Signal ``payment_received`` to ``dunning-<invoice>`` for each paid invoice; returns those signalled.

    Best effort: no dunning running (the usual case) or Temporal briefly unreachable is not an error
    for the payment, which is already recorded.
    """
    signalled = []
    for invoice_id in await run_in_threadpool(paid_invoices, database_url, list(invoice_ids)):
        try:
            client = await gateway.client()
            await signal_process(client, process_ids.dunning(invoice_id), DunningWorkflow.payment_received)
        except ApiError:  # no dunning running (404) or Temporal unreachable (503)
            continue
        signalled.append(invoice_id)
    return signalled
