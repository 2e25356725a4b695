"""CDR CSV imports (API upload and `multibill usage import`): bad rows by line number, good rows kept."""

from __future__ import annotations

import json
from datetime import UTC, datetime, tzinfo
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from models.base import unit_of_work
from models.usage import UsageEvent
from runtime.cli import app
from runtime.settings import get_settings
from tests.support.factories import Tenant
from tests.support.usage_factory import (
    USAGE_TODAY,
    month_of,
    rate,
    rated,
    recent_weekday,
    voice_subscription,
)

pytestmark = [pytest.mark.calendar, USAGE_TODAY]


def cdr_file(sub_id: str, prefix: str) -> str:
    at = recent_weekday(2, 10).isoformat()
    return "\n".join(
        [
            "call_id,caller,called,start_time,billsec,notes",
            f"{prefix}-1,{sub_id},+34600111222,{at},60,ok",
            f"{prefix}-2,{sub_id},+34600111222,{at},-4,negative",
            f"{prefix}-3,{sub_id},+34600111222,not-a-time,60,bad time",
            f"{prefix}-4,{sub_id},+34600111222,{at},30",
            f"{prefix}-5,{sub_id},+34600111222,{at},30,ok",
            "",
        ]
    )


async def test_csv_upload_reports_bad_rows_by_line_and_keeps_the_good_ones(
    api: httpx.AsyncClient, operator: Tenant, database_url: str
) -> None:
    sub = await voice_subscription(api, operator, database_url)
    body = cdr_file(sub.id, f"api-{sub.id}")
    headers = {**operator.post_headers(), "Content-Type": "text/csv"}
    resp = await api.post("/v1/usage/imports", content=body.encode(), headers=headers)
    assert resp.status_code == 200, resp.text
    out = resp.json()
    assert (out["received"], out["accepted"]) == (5, 2)
    assert [(r["line"], r["code"]) for r in out["rejected"]] == [
        (3, "quantity_negative"),
        (4, "malformed"),
        (5, "malformed"),
    ]
    again = await api.post(
        "/v1/usage/imports",
        content=body.encode(),
        headers=operator.post_headers() | {"Content-Type": "text/csv"},
    )
    assert (again.json()["accepted"], again.json()["duplicates"]) == (0, 2)
    await rate(api, operator)
    assert (await rated(api, operator, sub, month_of(recent_weekday(2, 10))))["total"] == "0.9000"


async def test_csv_upload_refuses_a_file_without_the_required_columns(
    api: httpx.AsyncClient, operator: Tenant
) -> None:
    headers = {**operator.post_headers(), "Content-Type": "text/csv"}
    resp = await api.post("/v1/usage/imports", content=b"caller,called\n1,2\n", headers=headers)
    assert resp.status_code == 422 and resp.json()["code"] == "csv_header_invalid"
    wrong_type = await api.post("/v1/usage/imports", json={"a": 1}, headers=operator.post_headers())
    assert wrong_type.status_code == 415


async def test_cli_import(
    api: httpx.AsyncClient,
    operator: Tenant,
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sub = await voice_subscription(api, operator, database_url)
    path = tmp_path / "cdrs.csv"
    path.write_text(cdr_file(sub.id, f"cli-{sub.id}"))
    monkeypatch.setenv("DATABASE_URL", database_url)
    get_settings.cache_clear()
    try:
        args = ["usage", "import", str(path), "--format", "csv", "--organisation", operator.organisation_id]
        result = CliRunner().invoke(app, args)
        rerun = CliRunner().invoke(app, args)
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 1, result.output  # rows were rejected
    assert "line 3: quantity_negative" in result.output
    summary = json.loads(result.output.strip().splitlines()[-1])
    assert (summary["accepted"], summary["rejected"]) == (2, 3)
    assert json.loads(rerun.output.strip().splitlines()[-1])["duplicates"] == 2


def test_cli_import_finds_the_embedded_database_in_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A `make run` user has no DATABASE_URL: the import uses the embedded PostgreSQL under --home."""
    from models.migrate import upgrade
    from runtime import servers
    from tests.support.factories import make_operator

    class FixedClock(datetime):
        @classmethod
        def now(cls, tz: tzinfo | None = None) -> FixedClock:
            return cls(2026, 3, 12, 9, 0, tzinfo=UTC).astimezone(tz)

    monkeypatch.setattr("activities.usage.csv_import.datetime", FixedClock)
    home = tmp_path / "home"
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("MULTIBILL_HOME", raising=False)
    get_settings.cache_clear()
    url, server = servers.open_database(get_settings(), servers.prepare_home(home))
    try:
        upgrade(url)
        operator = make_operator(url)
        path = tmp_path / "cdrs.csv"
        path.write_text(
            "call_id,caller,called,start_time,billsec\n"
            "home-1,+34600999888,912345678,2026-03-10T10:00:00+00:00,60\n"
        )
        args = ["usage", "import", str(path), "--organisation", operator.organisation_id, "--home", str(home)]
        result = CliRunner().invoke(app, args)
        unknown = CliRunner().invoke(app, [*args[:3], "--organisation", "org_nope", "--home", str(home)])
        # in one process the command's handle is the last one: it stops the server, start it again
        url, server = servers.open_database(get_settings(), home)
        with unit_of_work(url) as session:
            stored = session.execute(
                select(UsageEvent.status, UsageEvent.destination, UsageEvent.destination_raw)
            ).all()
    finally:
        servers.stop_embedded_postgres(server)
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert unknown.exit_code == 2 and "no organisation org_nope" in unknown.output
    summary = json.loads(result.output.strip().splitlines()[-1])
    assert (summary["received"], summary["suspense"], summary["rejected"]) == (1, 1, 0)
    assert [tuple(row) for row in stored] == [("suspense", "+34912345678", "912345678")]
