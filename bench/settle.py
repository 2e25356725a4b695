"""A freshly loaded database as a running operator's is: vacuumed, analysed and checkpointed.

In a database that has run for a while autovacuum has set the hint bits and the visibility map of
old rows, the statistics are current, and the checkpointer has written the load out. A bench that
loads rows seconds before it measures would otherwise charge its first minutes to that upkeep
(measured: bench.loyalty's period 11.8 s unsettled, 7.1-8.8 s settled; bench.api_load's p99 2.4 s
in the first 30 s after the bill run, 16 ms on the same rows settled).
"""

from __future__ import annotations

import sqlalchemy as sa
from rich.console import Console


def settle(engine: sa.Engine, console: Console, *, checkpoint: bool = True) -> None:
    """VACUUM ANALYZE every table, then CHECKPOINT (autocommit: neither runs in a transaction)."""
    with console.status("vacuum, analyze and checkpoint"), engine.connect() as conn:
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        conn.execute(sa.text("vacuum analyze"))
        if checkpoint:
            conn.execute(sa.text("checkpoint"))
