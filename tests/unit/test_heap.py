"""runtime/heap.py: a served process's start-up heap is frozen out of the collector's walks, and what it
allocates afterwards is still collected (cycles included). Run in a fresh interpreter: freezing this
test process's heap would change the collector for every later test."""

from __future__ import annotations

import json
import subprocess
import sys

PROBE = """
import gc, json, weakref
from runtime import heap

class Node:
    pass

startup = [Node() for _ in range(1000)]  # as the modules and objects of a start-up
heap.settle()
frozen, threshold = gc.get_freeze_count(), gc.get_threshold()
tracked_before = len(gc.get_objects())
a, b = Node(), Node()
a.other, b.other = b, a  # a cycle made while serving
gone = weakref.ref(a)
del a, b
gc.collect()
print(json.dumps({
    "frozen": frozen,
    "threshold": threshold,
    "startup_walked": any(o is startup for o in gc.get_objects()),
    "cycle_collected": gone() is None,
    "young": heap.YOUNG_THRESHOLD,
}))
"""


def test_settle_freezes_the_start_up_heap_and_later_cycles_are_still_collected() -> None:
    command = [sys.executable, "-c", PROBE]
    out = subprocess.run(command, capture_output=True, text=True, check=True, timeout=60)
    seen = json.loads(out.stdout)
    assert seen["frozen"] > 1000  # the start-up objects (and the interpreter's own) are frozen
    assert seen["startup_walked"] is False  # gc.get_objects() no longer lists them: collections skip them
    assert seen["threshold"][0] == seen["young"] > 700
    assert seen["cycle_collected"] is True
