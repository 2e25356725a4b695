"""`multibill usage import`: a CDR file into the database, one transaction per chunk of rows."""

from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console

from activities.usage.csv_import import import_csv
from activities.usage.ingestion import IngestReport, store_events
from domain.errors import RuleViolation
from domain.usage_events import NewEvent
from models.base import unit_of_work
from models.organisations import Organisation


def run_import(database_url: str, organisation_id: str, path: Path, console: Console) -> int:
    """Import ``path``; print rejected rows and a JSON summary; exit 1 if any row was rejected."""

    def store(events: list[NewEvent], report: IngestReport) -> None:
        with unit_of_work(database_url) as session:
            store_events(session, organisation_id, events, "csv", report)

    with unit_of_work(database_url) as session:
        if session.get(Organisation, organisation_id) is None:
            console.print(f"[red bold]Error:[/] no organisation {organisation_id}", highlight=False)
            return 2
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            report = import_csv(handle, store)
    except RuleViolation as exc:
        console.print(f"[red bold]Error:[/] {exc.message} ({exc.code})", highlight=False)
        return 2
    for rejection in report.rejected:
        console.print(f"line {rejection.position}: {rejection.code}: {rejection.message}", highlight=False)
    summary = report.as_dict("line")
    summary.pop("rejected")
    summary["rejected"] = len(report.rejected)
    print(json.dumps(summary))
    return 1 if report.rejected else 0
