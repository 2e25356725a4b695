"""`make test-calendar`: the tests marked ``calendar`` (and not ``today``) as if today were each of several
hard days, two days at a time.

    python -m tests.calendar_days [--jobs N] DAY [DAY ...]

Each day is its own pytest process (the fake clock is per process, see tests/support/fake_today.py) with its
own embedded PostgreSQL and Temporal test server on free ports, so days run side by side. Only the test files
that carry the ``calendar`` mark are collected (collecting the whole suite cost about 20 s a day). A day's
output is printed whole when it fails; the exit code is 1 when any day failed.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

TESTS = Path(__file__).resolve().parent
MARK = re.compile(r"mark\.calendar\b")


@dataclass(frozen=True)
class DayResult:
    day: str
    code: int
    seconds: float
    output: str

    @property
    def summary(self) -> str:
        lines = [line for line in self.output.splitlines() if line.strip()]
        return lines[-1].strip("= ") if lines else "(no output)"


def marked_files(root: Path = TESTS) -> list[str]:
    """The test modules that mark any test ``calendar`` (the only ones the marker expression can select)."""
    return sorted(
        str(path.relative_to(root.parent))
        for path in root.rglob("test_*.py")
        if MARK.search(path.read_text(encoding="utf-8"))
    )


def run_day(day: str, files: list[str]) -> DayResult:
    env = {**os.environ, "MULTIBILL_FAKE_TODAY": day}
    argv = [sys.executable, "-m", "pytest", *files, "-m", "calendar and not today", "-q", "--color=no"]
    started = time.monotonic()
    done = subprocess.run(
        [*argv, "-p", "no:cacheprovider"],
        env=env,
        cwd=TESTS.parent,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        check=False,
    )
    return DayResult(day, done.returncode, time.monotonic() - started, done.stdout)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("days", nargs="+", help="a date (12:00 UTC) or an ISO 8601 instant with an offset")
    parser.add_argument("--jobs", type=int, default=2, help="days run at once (default 2)")
    args = parser.parse_args(argv)
    console = Console(highlight=False)
    files = marked_files()
    if not files:
        console.print("[red]no test file marks a test `calendar`[/]: nothing to run")
        return 1
    console.print(f"calendar: {len(files)} test files, {len(args.days)} days, {args.jobs} at a time")
    failed: list[DayResult] = []
    columns = (TextColumn("calendar days"), BarColumn(), TextColumn("{task.completed}/{task.total}"))
    with Progress(*columns, TimeElapsedColumn(), console=console, transient=True) as progress:
        task = progress.add_task("days", total=len(args.days))
        with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            futures = [pool.submit(run_day, day, files) for day in args.days]
            for future in as_completed(futures):
                result = future.result()
                progress.advance(task)
                if result.code == 0:
                    took = f"{result.seconds:.0f} s"
                    line = f"[green]✓[/] today is {result.day}: {result.summary} ({took})"
                    console.print(line, soft_wrap=True)
                else:
                    failed.append(result)
                    console.print(f"[red]✗[/] today is {result.day}: {result.summary}", soft_wrap=True)
                    console.print(result.output, markup=False)
    if failed:
        console.print("calendar tests failed on: " + " ".join(r.day for r in failed))
        return 1
    console.print("calendar tests passed on every day: " + " ".join(args.days))
    return 0


if __name__ == "__main__":
    sys.exit(main())
