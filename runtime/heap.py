"""The garbage collector of a long-running process (API, worker), set once its start-up is done.

A started API or worker holds a large heap of objects that live as long as the process (modules,
SQLAlchemy's mappers, pydantic's validators, FastAPI's routes, Temporal's workflow definitions), and
CPython's full collection walks all of it: ~290 ms each in the API here, twice per 100,000 usage
events, with ~380 young collections besides: 27% of the API's CPU for those events (``bench.rating``,
counted by a ``gc.callbacks`` timer in the API process, 2026-12-01). ``settle()`` collects once, then
moves every surviving object to the permanent generation (``gc.freeze``), which collections no longer
walk, and lets more allocations pass before a young collection (a request makes thousands of
short-lived objects). Objects created after it are collected as before: cycles still go.
"""

from __future__ import annotations

import gc

# Young collection after this many net allocations (CPython's default 700); the older generations
# keep their default ratios. The larger first threshold trades a few MB of not-yet-collected cycles
# for fewer collections.
YOUNG_THRESHOLD = 20_000


def settle() -> None:
    """Call once, after the process has imported and built what it serves with, before serving."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)
