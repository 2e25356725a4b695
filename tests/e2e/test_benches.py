"""Every benchmark still runs (on a tiny size) and prints its figures as one JSON object on the last line.

Speed targets are not asserted here: `make bench` measures them at full size.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

BENCHES = {
    "pricing": (["200"], {"quotes", "quotes_per_s"}),
    "rating": (["2000", "1000"], {"cdrs_per_s", "events_per_s"}),
    "billing": (["60"], {"invoices", "invoices_per_s", "copy_ratio"}),
    "segments": (["200"], {"members", "refresh_seconds", "preview_seconds", "preview_count"}),
    "onboarding": (["4"], {"onboardings_per_s", "p95_ms", "trivial_workflows_per_s"}),
    "loyalty": (["200"], {"awards", "per_rule", "seconds", "awards_per_s"}),
}


@pytest.mark.parametrize("name", sorted(BENCHES))
def test_bench_runs_and_reports(name: str) -> None:
    args, keys = BENCHES[name]
    done = subprocess.run(
        [sys.executable, "-m", f"bench.{name}", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert figures["bench"] == name and keys <= figures.keys(), figures
