"""Monthly partitions of usage events, invoice lines and ledger postings (migration 0022,
models/partitions.py, activities/maintenance/): the tables are partitioned with a DEFAULT partition, a
client event id is stored once across months, a row of an unexpected month is kept and later moved into
its own partition, the raw-usage retention drops only finished months, and the migration carries the
existing rows over (and back)."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy.exc import DBAPIError
from temporalio.client import ScheduleActionStartWorkflow

from activities.maintenance.activities import PartitionActivities
from activities.maintenance.io import MaintainPartitions, PartitionsMaintained
from activities.maintenance.partitions import (
    drop_old_usage,
    ensure_months,
    keys_cutoff,
    partitions_of,
    prune_keys_batch,
)
from activities.shared.ledger import post_entry
from activities.usage.ingestion import ingest
from domain.ids import new_id
from domain.ledger import Posting
from models.base import engine_for, unit_of_work
from models.migrate import alembic_config, upgrade
from models.partitions import PARTITIONED, add_months, partition_name
from runtime.schedules import PARTITIONS_HOUR_UTC, ensure_partition_schedule
from runtime.settings import Settings
from tests.support.databases import MIGRATION_MONTHS
from tests.support.eventually import eventually_async
from tests.support.factories import make_operator
from tests.support.subscription_support import Stack

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def where(url: str, table: str, condition: str, params: dict[str, Any]) -> list[str]:
    """The partition each matching row of ``table`` is stored in."""
    with engine_for(url).connect() as conn:
        rows = conn.execute(
            sa.text(f"SELECT tableoid::regclass::text FROM {table} WHERE {condition}"),  # noqa: S608
            params,
        )
        return sorted(rows.scalars())


def raw_event(url: str, organisation_id: str, started_at: datetime, status: str = "rated") -> int:
    """An event written straight into usage_events (ingestion refuses events this old)."""
    with engine_for(url).begin() as conn:
        return int(
            conn.execute(
                sa.text(
                    "INSERT INTO usage_events (organisation_id, client_event_id, subscriber, event_type, "
                    "metric, quantity, started_at, source, status) VALUES (:o, :c, 'sub_x', 'voice', "
                    "'voice', 60, :at, 'api', :s) RETURNING id"
                ),
                {"o": organisation_id, "c": uuid.uuid4().hex, "at": started_at, "s": status},
            ).scalar_one()
        )


def test_the_three_tables_are_partitioned_by_month_with_a_default(database_url: str) -> None:
    with engine_for(database_url).connect() as conn:
        found = conn.execute(
            sa.text(
                "SELECT c.relname, a.attname FROM pg_partitioned_table p "
                "JOIN pg_class c ON c.oid = p.partrelid "
                "JOIN pg_attribute a ON a.attrelid = p.partrelid AND a.attnum = p.partattrs[0] "
                "WHERE p.partstrat = 'r'"
            )
        ).all()
        keys = {table: key for table, key in found}
        defaults = conn.execute(
            sa.text(
                "SELECT c.relname FROM pg_class c WHERE c.relispartition AND c.relname LIKE '%\\_default'"
            )
        ).scalars()
        default_names = set(defaults)
    assert {t: keys.get(t) for t in PARTITIONED} == PARTITIONED
    for table in PARTITIONED:
        with unit_of_work(database_url) as session:
            months = set(partitions_of(session, table).values())
        # The migration made the month it ran in and the three after it (not today's: the suite may have
        # crossed a month's end since).
        assert any(
            {add_months(start, n) for n in range(4)} <= months for start in MIGRATION_MONTHS[database_url]
        ), table
        assert f"{table}_default" in default_names


def test_a_client_event_id_is_stored_once_even_in_another_month(database_url: str) -> None:
    operator = make_operator(database_url)
    org = operator.organisation_id
    first = {
        "client_event_id": "cdr-1",
        "subscriber": "nobody",
        "event_type": "voice",
        "started_at": "2026-10-15T10:00:00Z",
        "quantity": 60,
    }
    again = {**first, "started_at": "2026-11-10T10:00:00Z", "quantity": 99}
    with unit_of_work(database_url) as session:
        ensure_months(session, date(2026, 10, 1), ahead=1)
        report = ingest(session, org, [first], now=NOW)
    assert (report.suspense, report.duplicates) == (1, 0)
    with unit_of_work(database_url) as session:
        report = ingest(session, org, [again, {**again, "client_event_id": "cdr-2"}], now=NOW)
    assert (report.suspense, report.duplicates) == (1, 1)
    rows = where(
        database_url, "usage_events", "organisation_id = :o AND client_event_id = 'cdr-1'", {"o": org}
    )
    assert rows == [partition_name("usage_events", date(2026, 10, 1))]
    assert len(where(database_url, "usage_events", "organisation_id = :o", {"o": org})) == 2
    # the key table itself refuses a second key, whatever writes it
    with pytest.raises(DBAPIError, match="pk_usage_event_keys"), engine_for(database_url).begin() as conn:
        conn.execute(
            sa.text("INSERT INTO usage_event_keys VALUES (:o, 'cdr-1', '2026-11-11T00:00:00Z')"), {"o": org}
        )


def test_two_concurrent_batches_with_one_client_event_id_store_it_once(database_url: str) -> None:
    """The second batch waits on the first one's key, then counts the event as a duplicate."""
    org = make_operator(database_url).organisation_id
    event = {"client_event_id": "race-1", "subscriber": "nobody", "event_type": "voice", "quantity": 5}
    outcome: list[Any] = []
    with unit_of_work(database_url) as first:
        assert ingest(first, org, [{**event, "started_at": "2026-11-02T00:00:00Z"}], now=NOW).suspense == 1

        def second() -> None:
            with unit_of_work(database_url) as session:
                outcome.append(
                    ingest(session, org, [{**event, "started_at": "2026-10-02T00:00:00Z"}], now=NOW)
                )

        racer = threading.Thread(target=second)
        racer.start()
        racer.join(1.0)
        assert racer.is_alive()  # waiting on the key the first batch holds
    racer.join(10)
    assert [(r.suspense, r.duplicates) for r in outcome] == [(0, 1)]
    assert len(where(database_url, "usage_events", "organisation_id = :o", {"o": org})) == 1


def test_a_row_of_an_unexpected_month_waits_in_default_then_moves_to_its_month(database_url: str) -> None:
    operator = make_operator(database_url)
    org = operator.organisation_id
    month = date(1991, 3, 1)
    event_id = raw_event(database_url, org, datetime(1991, 3, 10, tzinfo=UTC), status="accepted")
    with unit_of_work(database_url) as session:
        entry = post_entry(
            session,
            organisation_id=org,
            customer_id="acc_x",
            kind="payment",
            source_id="pay_x",
            currency="EUR",
            booked_on=date(1991, 3, 31),
            postings=[Posting("cash", 500, 0, "EUR"), Posting("receivable", 0, 500, "EUR", "acc_x")],
            key=f"test:{uuid.uuid4().hex}",
        )
    assert where(database_url, "usage_events", "id = :i", {"i": event_id}) == ["usage_events_default"]
    assert (
        where(database_url, "ledger_postings", "entry_id = :e", {"e": entry})
        == ["ledger_postings_default"] * 2
    )

    with unit_of_work(database_url) as session:
        created = ensure_months(session, month, ahead=0)
    assert set(created) == {partition_name(t, month) for t in PARTITIONED}
    assert where(database_url, "usage_events", "id = :i", {"i": event_id}) == ["usage_events_p1991_03"]
    assert (
        where(database_url, "ledger_postings", "entry_id = :e", {"e": entry})
        == ["ledger_postings_p1991_03"] * 2
    )
    with unit_of_work(database_url) as session:
        assert ensure_months(session, month, ahead=0) == []  # once
    # the moved postings keep the ledger's guards: still append-only, still balanced
    with pytest.raises(DBAPIError, match="append-only"), engine_for(database_url).begin() as conn:
        conn.execute(sa.text("UPDATE ledger_postings SET debit_minor = 1 WHERE entry_id = :e"), {"e": entry})
    with pytest.raises(DBAPIError, match="unbalanced"), engine_for(database_url).begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO ledger_postings (entry_id, booked_on, ledger_account, debit_minor, "
                "credit_minor, "
                "currency) VALUES (:e, '1991-03-31', 'cash', 1, 0, 'EUR')"
            ),
            {"e": entry},
        )


def test_the_retention_drops_old_raw_months_only_when_every_event_is_rated_or_rejected(
    database_url: str,
) -> None:
    operator = make_operator(database_url)
    org = operator.organisation_id
    done, pending, recent = date(1990, 1, 1), date(1990, 2, 1), date(1990, 3, 1)
    with unit_of_work(database_url) as session:
        for month in (done, pending, recent):
            ensure_months(session, month, ahead=0)
    finished = [
        raw_event(database_url, org, datetime(1990, 1, 5, tzinfo=UTC), "rated"),
        raw_event(database_url, org, datetime(1990, 1, 6, tzinfo=UTC), "rejected"),
    ]
    waiting = raw_event(database_url, org, datetime(1990, 2, 5, tzinfo=UTC), "suspense")
    kept = raw_event(database_url, org, datetime(1990, 3, 5, tzinfo=UTC), "rated")

    with unit_of_work(database_url) as session:
        dropped, held = drop_old_usage(session, on=date(1990, 5, 17), retention_months=2)
    # (older months other tests made in this database, empty, go too)
    assert [name for name in dropped if name >= "usage_events_p1990"] == ["usage_events_p1990_01"]
    assert [name for name in held if name >= "usage_events_p1990"] == ["usage_events_p1990_02"]
    assert where(database_url, "usage_events", "id = ANY(:i)", {"i": finished}) == []
    assert where(database_url, "usage_events", "id = :i", {"i": waiting}) == ["usage_events_p1990_02"]
    assert where(database_url, "usage_events", "id = :i", {"i": kept}) == ["usage_events_p1990_03"]
    with unit_of_work(database_url) as session:
        names = partitions_of(session, "usage_events")
        assert "usage_events_p1990_01" not in names
        assert "invoice_lines_p1990_01" in partitions_of(session, "invoice_lines")  # only raw usage goes


def test_usage_event_keys_are_pruned_only_past_the_age_an_event_is_refused_at(database_url: str) -> None:
    org = make_operator(database_url).organisation_id
    on = date(1981, 6, 1)  # long ago: the prune must not touch other tests' keys
    cutoff = keys_cutoff(on)
    assert cutoff == datetime(1980, 4, 26, tzinfo=UTC)  # 400 days and a day of margin before
    with engine_for(database_url).begin() as conn:
        for name, at in (("old", cutoff - timedelta(seconds=1)), ("young", cutoff + timedelta(seconds=1))):
            conn.execute(
                sa.text("INSERT INTO usage_event_keys VALUES (:o, :c, :at)"), {"o": org, "c": name, "at": at}
            )
    with unit_of_work(database_url) as session:
        while prune_keys_batch(session, cutoff, 1000) == 1000:
            pass
    with engine_for(database_url).connect() as conn:
        left = conn.execute(
            sa.text("SELECT client_event_id FROM usage_event_keys WHERE organisation_id = :o"), {"o": org}
        )
        assert list(left.scalars()) == ["young"]
    # a resent event that old is refused before its key is looked at
    with unit_of_work(database_url) as session:
        report = ingest(
            session,
            org,
            [
                {
                    "client_event_id": "old",
                    "subscriber": "x",
                    "event_type": "voice",
                    "started_at": (cutoff).isoformat(),
                    "quantity": 1,
                }
            ],
            now=datetime.combine(on, datetime.min.time(), tzinfo=UTC),
        )
    assert [r.code for r in report.rejected] == ["timestamp_too_old"]


def test_the_maintenance_activity_makes_the_months_ahead_and_applies_the_retention_setting(
    settings: Settings, database_url: str
) -> None:
    org = make_operator(database_url).organisation_id
    with unit_of_work(database_url) as session:
        ensure_months(session, date(1989, 1, 1), ahead=0)
    gone = raw_event(database_url, org, datetime(1989, 1, 2, tzinfo=UTC), "rated")
    off = PartitionActivities(settings.model_copy(update={"partitions_ahead_months": 2}))
    result = off.maintain(MaintainPartitions(on=date(1989, 6, 3)))
    assert set(result.created) == {
        partition_name(t, date(1989, m, 1)) for t in PARTITIONED for m in (6, 7, 8)
    }
    assert result.dropped == []  # retention off by default: nothing dropped
    assert where(database_url, "usage_events", "id = :i", {"i": gone}) == ["usage_events_p1989_01"]

    on = PartitionActivities(
        settings.model_copy(update={"partitions_ahead_months": 2, "usage_retention_months": 3})
    )
    result = on.maintain(MaintainPartitions(on=date(1989, 6, 3)))
    assert result.created == []
    assert "usage_events_p1989_01" in result.dropped
    assert where(database_url, "usage_events", "id = :i", {"i": gone}) == []


async def test_the_daily_schedule_runs_partition_maintenance_on_the_worker(
    stack: Stack, settings: Settings
) -> None:
    queue_settings = settings.model_copy(update={"task_queue": stack.task_queue})
    sid = await ensure_partition_schedule(stack.client, queue_settings)
    assert sid == await ensure_partition_schedule(stack.client, queue_settings) == "partition-maintenance"
    handle = stack.client.get_schedule_handle(sid)
    try:
        described = await handle.describe()
        action = described.schedule.action
        assert isinstance(action, ScheduleActionStartWorkflow) and action.workflow == "PartitionMaintenance"
        assert [c.hour[0].start for c in described.schedule.spec.calendars] == [PARTITIONS_HOUR_UTC]
        await handle.trigger()
        ran = await eventually_async(
            lambda: handle.describe(),
            until=lambda d: bool(d.info.recent_actions),
            timeout=15,
            what="the partition schedule's first run",
        )
        started = ran.info.recent_actions[0].action
        result = await stack.client.get_workflow_handle(
            started.workflow_id, run_id=started.first_execution_run_id, result_type=PartitionsMaintained
        ).result()
        assert (result.dropped, result.kept) == ([], [])  # the retention is off by default
    finally:
        await handle.delete()


def _fresh_database(database_url: str) -> str:
    name = f"multibill_part_{uuid.uuid4().hex[:10]}"
    with engine_for(database_url).execution_options(isolation_level="AUTOCOMMIT").connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    return sa.make_url(database_url).set(database=name).render_as_string(hide_password=False)


def _drop_database(database_url: str, url: str) -> None:
    engine_for(url).dispose()
    name = sa.make_url(url).database
    with engine_for(database_url).execution_options(isolation_level="AUTOCOMMIT").connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _account_at_0021(url: str, organisation_id: str) -> str:
    """An account row as the schema of revision 0021 has it (the model's later columns do not exist yet)."""
    account_id = new_id("acc")
    with engine_for(url).begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO accounts (id, organisation_id, type, status, display_name, email, language, "
                "currency, timezone, tax_status, addresses, contacts, verification_status, version, "
                "created_at, updated_at) VALUES (:id, :o, 'person', 'active', 'Ana Ruiz', "
                "'ana@example.com', 'es', 'EUR', 'Europe/Madrid', 'taxable', '[]', '[]', "
                "'not_requested', 1, now(), now())"
            ),
            {"id": account_id, "o": organisation_id},
        )
    return account_id


def test_the_migration_carries_existing_rows_into_the_partitions_and_back(database_url: str) -> None:
    url = _fresh_database(database_url)
    try:
        upgrade(url, "0021")
        org = make_operator(url).organisation_id
        account = _account_at_0021(url, org)
        with engine_for(url).begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO usage_events (organisation_id, client_event_id, subscriber, event_type, "
                    "metric, "
                    "quantity, started_at, source, status) VALUES "
                    "(:o, 'a', 's', 'voice', 'voice', 1, '2026-06-30T23:30:00-01:00', 'api', 'rated'), "
                    "(:o, 'b', 's', 'voice', 'voice', 1, '2026-09-01T00:00:00Z', 'api', 'accepted')"
                ),
                {"o": org},
            )
            conn.execute(
                sa.text(
                    "INSERT INTO invoices (id, organisation_id, account_id, number, status, currency, "
                    "issue_date, due_date, net_minor, tax_minor, total_minor, paid_minor, tax_inclusive, "
                    "taxes, created_at) VALUES ('inv_1', :o, :a, 'F-1', 'issued', 'EUR', '2026-08-01', "
                    "'2026-08-15', 100, 0, 100, "
                    "0, false, '[]', now())"
                ),
                {"o": org, "a": account},
            )
            conn.execute(
                sa.text(
                    "INSERT INTO invoice_lines (invoice_id, position, kind, description, quantity, "
                    "unit_price, "
                    "amount_minor, tax_rate, tax_percent, tax_minor) VALUES "
                    "('inv_1', 1, 'recurring', 'TV', '1', '1.00', 100, 'ES-standard', '0', 0)"
                )
            )
            conn.execute(
                sa.text(
                    "INSERT INTO ledger_entries (id, organisation_id, account_id, kind, source_id, currency, "
                    "booked_on, idempotency_key, created_at) VALUES "
                    "('jrn_1', :o, :a, 'invoice', 'inv_1', 'EUR', '2026-08-01', 'k1', now())"
                ),
                {"o": org, "a": account},
            )
            conn.execute(
                sa.text(
                    "INSERT INTO ledger_postings (entry_id, ledger_account, customer_id, debit_minor, "
                    "credit_minor, currency) VALUES ('jrn_1', 'receivable', :a, 100, 0, 'EUR'), "
                    "('jrn_1', 'revenue:tv', NULL, 0, 100, 'EUR')"
                ),
                {"a": account},
            )
        upgrade(url, "0022")

        assert where(url, "usage_events", "client_event_id = 'a'", {}) == [
            "usage_events_p2026_07"
        ]  # UTC month
        assert where(url, "usage_events", "client_event_id = 'b'", {}) == ["usage_events_p2026_09"]
        assert where(url, "invoice_lines", "invoice_id = 'inv_1'", {}) == ["invoice_lines_p2026_08"]
        assert where(url, "ledger_postings", "entry_id = 'jrn_1'", {}) == ["ledger_postings_p2026_08"] * 2
        with engine_for(url).connect() as conn:
            keys = conn.execute(sa.text("SELECT client_event_id FROM usage_event_keys ORDER BY 1")).scalars()
            assert list(keys) == ["a", "b"]
            dates = conn.execute(sa.text("SELECT DISTINCT booked_on FROM ledger_postings")).scalars()
            assert list(dates) == [date(2026, 8, 1)]
        with unit_of_work(url) as session:
            report = ingest(
                session,
                org,
                [
                    {
                        "client_event_id": "a",
                        "subscriber": "s",
                        "event_type": "voice",
                        "started_at": "2026-11-01T00:00:00Z",
                        "quantity": 1,
                    },
                    {
                        "client_event_id": "c",
                        "subscriber": "s",
                        "event_type": "voice",
                        "started_at": "2026-11-01T00:00:00Z",
                        "quantity": 1,
                    },
                ],
                now=NOW,
            )
        assert report.duplicates == 1
        with engine_for(url).connect() as conn:  # the id sequence went on from the copied rows
            ids = conn.execute(sa.text("SELECT client_event_id FROM usage_events ORDER BY id")).scalars()
            assert list(ids) == ["a", "b", "c"]

        command.downgrade(alembic_config(url), "0021")
        with engine_for(url).connect() as conn:
            partitioned = conn.execute(sa.text("SELECT count(*) FROM pg_partitioned_table")).scalar_one()
            events = conn.execute(sa.text("SELECT count(*) FROM usage_events")).scalar_one()
            postings = conn.execute(sa.text("SELECT count(*) FROM ledger_postings")).scalar_one()
        assert (partitioned, events, postings) == (0, 3, 2)
        with pytest.raises(DBAPIError, match="uq_usage_events_client_id"), engine_for(url).begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO usage_events (organisation_id, client_event_id, subscriber, event_type, "
                    "metric, "
                    "quantity, started_at, source, status) VALUES (:o, 'a', 's', 'voice', 'voice', 1, now(), "
                    "'api', 'rated')"
                ),
                {"o": org},
            )
        upgrade(url)
    finally:
        _drop_database(database_url, url)
