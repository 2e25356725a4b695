"""Tell running Dunning processes that their invoice is now paid (they stop and resume services)."""

from __future__ import annotations

import asyncio
import logging
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

log = logging.getLogger(__name__)

#: Pauses between tries when Temporal does not answer (a slow connect under load is the usual cause).
RETRY_PAUSES = (0.5, 2.0, 5.0)


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

    No dunning running (the usual case) is not an error. Temporal not answering is tried again a few
    times; if it still does not answer the payment stands (it is recorded) and the running Dunning
    notices the paid invoice itself at its next daily check (``workflows/dunning.py``), so a lost signal
    delays the stop by at most a day, and a warning names the invoice.
    """
    signalled = []
    for invoice_id in await run_in_threadpool(paid_invoices, database_url, list(invoice_ids)):
        if await _signal_with_retries(gateway, invoice_id):
            signalled.append(invoice_id)
    return signalled


async def _signal_with_retries(gateway: TemporalGateway, invoice_id: str) -> bool:
    process_id = process_ids.dunning(invoice_id)
    for pause in (*RETRY_PAUSES, None):
        try:
            client = await gateway.client()
            await signal_process(client, process_id, DunningWorkflow.payment_received)
            return True
        except ApiError as exc:
            if exc.status == 404:  # no dunning running for this invoice
                return False
            if pause is None:
                log.warning(
                    "invoice %s is paid but its dunning %s could not be told (%s); it stops at its next "
                    "daily check, or signal it: temporal workflow signal --workflow-id %s --name "
                    "payment_received",
                    invoice_id,
                    process_id,
                    exc.detail,
                    process_id,
                )
                return False
            await asyncio.sleep(pause)
    return False
