"""CDR files (CSV) → usage events, in chunks; bad rows are reported by line number, good ones kept.

Column mapping (a header row names the columns, case-insensitive; the first
name found of each list is used, other columns are ignored):

- client_event_id: client_event_id, id, cdr_id, call_id, uniqueid (required, unique per operator)
- subscriber: subscriber, caller, a_number, calling_number, username, src (required: sub_/svc_ id or alias)
- started_at: started_at, start_time, start, answer_time, calldate (required, ISO 8601 with offset, e.g. Z)
- quantity: quantity, duration, billsec, seconds, bytes, volume (required, whole seconds/bytes/units)
- destination: destination, called, b_number, called_number, dst (optional; the dialled number, voice)
- event_type: event_type, type (optional: voice (default), data, video)
- metric: metric (optional; default: the event type)
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

from activities.usage.ingestion import IngestReport, Rejection, check_batch
from domain.errors import RuleViolation
from domain.usage_events import NewEvent

COLUMNS: dict[str, tuple[str, ...]] = {
    "client_event_id": ("client_event_id", "id", "cdr_id", "call_id", "uniqueid"),
    "subscriber": ("subscriber", "caller", "a_number", "calling_number", "username", "src"),
    "started_at": ("started_at", "start_time", "start", "answer_time", "calldate"),
    "quantity": ("quantity", "duration", "billsec", "seconds", "bytes", "volume"),
    "destination": ("destination", "called", "b_number", "called_number", "dst"),
    "event_type": ("event_type", "type"),
    "metric": ("metric",),
}
REQUIRED = ("client_event_id", "subscriber", "started_at", "quantity")
CHUNK = 5_000


def header_mapping(header: list[str]) -> dict[str, int]:
    """event field → column index; a missing required column refuses the whole file."""
    names = [h.strip().lower() for h in header]
    mapping: dict[str, int] = {}
    for field_name, aliases in COLUMNS.items():
        for alias in aliases:
            if alias in names:
                mapping[field_name] = names.index(alias)
                break
    missing = [f for f in REQUIRED if f not in mapping]
    if missing:
        raise RuleViolation(
            "csv_header_invalid",
            f"the header row lacks {', '.join(missing)} (columns: {', '.join(names)[:200]})",
        )
    return mapping


def rows(lines: Iterable[str]) -> Iterator[tuple[int, list[str]]]:
    reader = csv.reader(lines)
    for row in reader:
        yield reader.line_num, row


def parse_chunks(
    lines: Iterable[str], now: datetime | None = None, chunk: int = CHUNK
) -> Iterator[tuple[list[NewEvent], list[Rejection]]]:
    """(good events, rejected rows with their line numbers) per chunk of rows."""
    now = now or datetime.now(UTC)
    iterator = rows(lines)
    try:
        _, header = next(iterator)
    except StopIteration:
        raise RuleViolation("csv_empty", "the file has no header row") from None
    except csv.Error as exc:
        raise RuleViolation("csv_malformed", f"line 1: {exc}") from None
    mapping = header_mapping(header)
    width = len(header)
    batch: list[dict[str, Any]] = []
    lines_of: list[int] = []
    bad: list[Rejection] = []
    while True:
        try:
            line, row = next(iterator)
        except StopIteration:
            break
        except csv.Error as exc:
            bad.append(Rejection(-1, None, "malformed", f"unreadable row: {exc}"))
            continue
        if not row or all(not c.strip() for c in row):
            continue
        if len(row) != width:
            bad.append(Rejection(line, None, "malformed", f"{len(row)} columns, the header has {width}"))
            continue
        raw: dict[str, Any] = {f: row[i].strip() for f, i in mapping.items()}
        raw.setdefault("event_type", "voice")
        raw["event_type"] = raw["event_type"] or "voice"
        batch.append(raw)
        lines_of.append(line)
        if len(batch) >= chunk:
            yield _checked(batch, lines_of, bad, now)
            batch, lines_of, bad = [], [], []
    if batch or bad:
        yield _checked(batch, lines_of, bad, now)


def _checked(
    batch: list[dict[str, Any]], lines_of: list[int], bad: list[Rejection], now: datetime
) -> tuple[list[NewEvent], list[Rejection]]:
    good, rejected = check_batch(batch, now)
    for rejection in rejected:
        rejection.position = lines_of[rejection.position]
    return [e for _, e in good], sorted(bad + rejected, key=lambda r: r.position)


def import_csv(
    lines: Iterable[str],
    store: Callable[[list[NewEvent], IngestReport], None],
    now: datetime | None = None,
) -> IngestReport:
    """Parse and store chunk by chunk with ``store`` (one transaction each, idempotent by event id)."""
    report = IngestReport()
    for good, bad in parse_chunks(lines, now):
        report.received += len(good) + len(bad)
        report.rejected.extend(bad)
        store(good, report)
    return report
