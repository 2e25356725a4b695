"""`multibill seed --operator-name … --country …`: the first operator of a production install, with an
admin API key printed once; seeding again adds nothing; bad arguments are refused before any change."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from models.base import engine_for
from runtime.cli import app
from runtime.settings import get_settings

KEY = re.compile(r"API key: (\S+)")


@pytest.fixture
def cli(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("COLUMNS", "200")  # the key line is printed whole
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def operators(database_url: str, name: str) -> list[tuple[str, str | None, int]]:
    with engine_for(database_url).connect() as conn:
        rows = conn.execute(
            sa.text(
                "select o.kind, o.country, (select count(*) from api_keys k where k.organisation_id = o.id)"
                " from organisations o where o.name = :n and o.parent_id is null"
            ),
            {"n": name},
        )
        return [(kind, country, keys) for kind, country, keys in rows]


def test_seed_creates_the_named_operator_with_its_country_and_an_admin_key(
    cli: CliRunner, database_url: str
) -> None:
    name = f"Telecom {uuid.uuid4().hex[:6]}"
    first = cli.invoke(app, ["seed", "--operator-name", name, "--country", "pt"])
    again = cli.invoke(app, ["seed", "--operator-name", name, "--country", "PT"])
    new_key = cli.invoke(app, ["seed", "--operator-name", name, "--country", "PT", "--new-key"])

    assert first.exit_code == 0, first.output
    key = KEY.search(first.output)
    assert key is not None and key.group(1).startswith("mb_"), first.output
    assert again.exit_code == 0 and "already seeded" in again.output and not KEY.search(again.output)
    assert new_key.exit_code == 0 and KEY.search(new_key.output), new_key.output
    assert operators(database_url, name) == [("operator", "PT", 2)]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--operator-name", "No Country"], "--operator-name needs --country"),
        (["--country", "ES"], "--country needs --operator-name"),
        (["--operator-name", "Bad Country", "--country", "XX"], "not an ISO 3166-1 alpha-2 code"),
    ],
)
def test_seed_refuses_incomplete_or_wrong_arguments(
    cli: CliRunner, database_url: str, args: list[str], message: str
) -> None:
    result = cli.invoke(app, ["seed", *args])
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())
    assert operators(database_url, args[1]) == []
