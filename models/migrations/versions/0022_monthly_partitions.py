"""monthly partitions: usage_events, invoice_lines and ledger_postings become RANGE-partitioned by month

Revision ID: 0022
Revises: 0021
Create Date: 2026-11-30 14:40:00

Each table is rebuilt with its rows: the old table is renamed, a partitioned table of the same columns,
checks, defaults (the same id sequence) and comments is created, with a partition for every month
present in the data and for the current month and the next ``AHEAD`` ones plus a DEFAULT partition,
the rows are copied, the old table is dropped, and the indexes, foreign keys and (ledger) triggers are
made on the new parent (PostgreSQL clones them onto every partition, present and future).

- usage_events by started_at (UTC months). Its primary key becomes (id, started_at); the unique
  (organisation_id, client_event_id) cannot include the month, so it moves to the new unpartitioned
  usage_event_keys (filled from the events here, written with each event by the ingestion). The
  foreign key rated_usage.event_id → usage_events.id is dropped (it would need the month, and would pin
  every raw month forever); rated_usage copies what billing needs.
- invoice_lines by a new issue_date (the invoice's), primary key (id, issue_date).
- ledger_postings by a new booked_on (the entry's), primary key (id, booked_on); the balance and
  append-only triggers are recreated on the partitioned table.

``multibill_month_partition(table, month)`` creates one month's partition (moving that month's rows out
of the DEFAULT partition first if some landed there); the maintenance workflow calls it daily.
Downgrade rebuilds plain tables the same way.
"""

from __future__ import annotations

from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

AHEAD = 3

MONTH_PARTITION = """
CREATE OR REPLACE FUNCTION multibill_month_partition(parent text, month date) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
  first date := date_trunc('month', month)::date;
  next date := (date_trunc('month', month) + interval '1 month')::date;
  part text := format('%s_p%s', parent, to_char(month, 'YYYY_MM'));
  dflt text := parent || '_default';
  key text;
  is_ts boolean;
  lo text;
  hi text;
  cols text;
  moving boolean := false;
BEGIN
  IF to_regclass(quote_ident(part)) IS NOT NULL THEN
    RETURN false;
  END IF;
  SELECT a.attname, a.atttypid = 'timestamptz'::regtype INTO key, is_ts
    FROM pg_partitioned_table pt
    JOIN pg_attribute a ON a.attrelid = pt.partrelid AND a.attnum = pt.partattrs[0]
   WHERE pt.partrelid = to_regclass(quote_ident(parent));
  IF key IS NULL THEN
    RAISE EXCEPTION '% is not a partitioned table', parent;
  END IF;
  lo := CASE WHEN is_ts THEN first::text || ' 00:00:00+00' ELSE first::text END;
  hi := CASE WHEN is_ts THEN next::text || ' 00:00:00+00' ELSE next::text END;
  IF to_regclass(quote_ident(dflt)) IS NOT NULL THEN
    EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I WHERE %I >= %L AND %I < %L)', dflt, key, lo, key, hi)
      INTO moving;
  END IF;
  IF moving THEN
    -- The month's rows wait in the DEFAULT partition: take it out, make the month and a new DEFAULT,
    -- and put every row back through the parent (each lands in its own partition).
    EXECUTE format('ALTER TABLE %I DETACH PARTITION %I', parent, dflt);
    EXECUTE format('ALTER TABLE %I RENAME TO %I', dflt, dflt || '_moving');
  END IF;
  EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)', part, parent, lo, hi);
  IF moving THEN
    EXECUTE format('CREATE TABLE %I PARTITION OF %I DEFAULT', dflt, parent);
    SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) INTO cols
      FROM pg_attribute
     WHERE attrelid = to_regclass(quote_ident(parent)) AND attnum > 0 AND NOT attisdropped;
    EXECUTE format('INSERT INTO %I (%s) SELECT %s FROM %I', parent, cols, cols, dflt || '_moving');
    EXECUTE format('DROP TABLE %I', dflt || '_moving');
  END IF;
  RETURN true;
END $$;
"""

LEDGER_TRIGGERS = """
CREATE TRIGGER ledger_postings_balanced AFTER INSERT ON ledger_postings
  REFERENCING NEW TABLE AS new_postings FOR EACH STATEMENT EXECUTE FUNCTION ledger_statement_balanced();
CREATE TRIGGER ledger_postings_immutable BEFORE UPDATE OR DELETE ON ledger_postings
  FOR EACH ROW EXECUTE FUNCTION ledger_immutable();
"""


def _columns(table: str) -> list[str]:
    rows = op.get_bind().exec_driver_sql(
        "SELECT attname FROM pg_attribute WHERE attrelid = %(t)s::regclass AND attnum > 0 "
        "AND NOT attisdropped ORDER BY attnum",
        {"t": table},
    )
    return [str(r[0]) for r in rows]


def _months(source_sql: str) -> list[str]:
    """The months present in ``source_sql`` (one column, the month's first day) plus now and ahead."""
    rows = op.get_bind().exec_driver_sql(
        f"SELECT DISTINCT m::date FROM ({source_sql}) AS present(m) WHERE m IS NOT NULL "  # noqa: S608
        "UNION SELECT (date_trunc('month', now() AT TIME ZONE 'UTC') + make_interval(months => n))::date "
        f"FROM generate_series(0, {AHEAD}) AS n ORDER BY 1"
    )
    return [str(r[0]) for r in rows]


def _rebuild(
    table: str,
    *,
    key: str,
    partitioned: bool,
    new_column: str | None,
    drop_column: str | None,
    key_select: str,
    join: str,
    month_sql: str,
    indexes: list[str],
    foreign_keys: list[str],
) -> None:
    """Rebuild ``table`` (partitioned or plain) with its rows, indexes and foreign keys."""
    old = f"{table}_rebuilt"
    op.execute(f"ALTER TABLE {table} RENAME TO {old}")
    op.execute(f"ALTER TABLE {old} RENAME CONSTRAINT pk_{table} TO pk_{old}")
    for index in indexes:
        op.execute(f"DROP INDEX IF EXISTS {index.split()[0]}")
    columns = [c for c in _columns(old) if c != drop_column]
    extra = f", {new_column}" if new_column else ""
    by = f" PARTITION BY RANGE ({key})" if partitioned else ""
    op.execute(
        f"CREATE TABLE {table} (LIKE {old} INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING COMMENTS "
        f"INCLUDING STORAGE{extra}){by}"
    )
    if drop_column:
        op.execute(f"ALTER TABLE {table} DROP COLUMN {drop_column}")
    pk = f"id, {key}" if partitioned else "id"
    op.execute(f"ALTER TABLE {table} ADD CONSTRAINT pk_{table} PRIMARY KEY ({pk})")
    op.execute(f"ALTER SEQUENCE {table}_id_seq OWNED BY {table}.id")
    if partitioned:
        for month in _months(month_sql):
            op.execute(f"SELECT multibill_month_partition('{table}', DATE '{month}')")
        op.execute(f"CREATE TABLE {table}_default PARTITION OF {table} DEFAULT")
    targets = ", ".join([*columns, key] if new_column else columns)
    sources = ", ".join(
        [*(f"t.{c}" for c in columns), key_select] if new_column else (f"t.{c}" for c in columns)
    )
    op.execute(f"INSERT INTO {table} ({targets}) SELECT {sources} FROM {old} AS t {join}")  # noqa: S608
    op.execute(f"DROP TABLE {old}")
    for index in indexes:
        name, definition = index.split(maxsplit=1)
        op.execute(f"CREATE INDEX {name} ON {table} {definition}")
    for fk in foreign_keys:
        op.execute(f"ALTER TABLE {table} ADD {fk}")


USAGE_INDEXES = [
    "ix_usage_events_accepted (organisation_id, id) WHERE status = 'accepted'",
    "ix_usage_events_suspense (organisation_id, id) WHERE status = 'suspense'",
    "ix_usage_events_subscription (subscription_id, started_at)",
]
USAGE_FK = (
    "CONSTRAINT fk_usage_events_organisation_id_organisations FOREIGN KEY (organisation_id) "
    "REFERENCES organisations (id)"
)
LINES_INDEXES = ["ix_invoice_lines_invoice (invoice_id)"]
LINES_FK = "CONSTRAINT fk_invoice_lines_invoice_id_invoices FOREIGN KEY (invoice_id) REFERENCES invoices (id)"
POSTINGS_INDEXES = [
    "ix_ledger_postings_entry (entry_id)",
    "ix_ledger_postings_ledger_account (ledger_account, customer_id)",
]
POSTINGS_FK = "CONSTRAINT fk_ledger_postings_entry_id_ledger_entries FOREIGN KEY (entry_id) REFERENCES ledger_entries (id)"
RATED_FK = (
    "CONSTRAINT fk_rated_usage_event_id_usage_events FOREIGN KEY (event_id) REFERENCES usage_events (id)"
)


def upgrade() -> None:
    op.execute(MONTH_PARTITION)

    op.execute("ALTER TABLE rated_usage DROP CONSTRAINT fk_rated_usage_event_id_usage_events")
    op.execute(
        "COMMENT ON COLUMN rated_usage.event_id IS 'usage_events.id; no foreign key (a raw month may be dropped)'"
    )
    op.execute(
        "CREATE TABLE usage_event_keys (organisation_id varchar(32) NOT NULL, "
        "client_event_id varchar(128) NOT NULL, started_at timestamptz NOT NULL, "
        "CONSTRAINT pk_usage_event_keys PRIMARY KEY (organisation_id, client_event_id))"
    )
    op.execute(
        "INSERT INTO usage_event_keys SELECT organisation_id, client_event_id, started_at FROM usage_events"
    )
    op.execute("CREATE INDEX ix_usage_event_keys_started_at ON usage_event_keys (started_at)")
    op.execute("DROP INDEX uq_usage_events_client_id")
    _rebuild(
        "usage_events",
        key="started_at",
        partitioned=True,
        new_column=None,
        drop_column=None,
        key_select="",
        join="",
        month_sql="SELECT date_trunc('month', started_at AT TIME ZONE 'UTC') FROM usage_events_rebuilt",
        indexes=[*USAGE_INDEXES, "ix_usage_events_client_id (organisation_id, client_event_id)"],
        foreign_keys=[USAGE_FK],
    )
    op.execute("COMMENT ON COLUMN usage_events.started_at IS 'the partition key (month, UTC)'")

    _rebuild(
        "invoice_lines",
        key="issue_date",
        partitioned=True,
        new_column="issue_date date NOT NULL",
        drop_column=None,
        key_select="i.issue_date",
        join="JOIN invoices AS i ON i.id = t.invoice_id",
        month_sql=(
            "SELECT date_trunc('month', i.issue_date) FROM invoice_lines_rebuilt AS l "
            "JOIN invoices AS i ON i.id = l.invoice_id"
        ),
        indexes=LINES_INDEXES,
        foreign_keys=[LINES_FK],
    )
    op.execute(
        "COMMENT ON COLUMN invoice_lines.issue_date IS "
        "'the invoice''s issue date (the partition key, by month)'"
    )

    # The old table's triggers go with it (DROP TABLE fires no DELETE trigger); the copy runs before
    # the new ones exist, every entry it copies having been checked when first written.
    _rebuild(
        "ledger_postings",
        key="booked_on",
        partitioned=True,
        new_column="booked_on date NOT NULL",
        drop_column=None,
        key_select="e.booked_on",
        join="JOIN ledger_entries AS e ON e.id = t.entry_id",
        month_sql=(
            "SELECT date_trunc('month', e.booked_on) FROM ledger_postings_rebuilt AS p "
            "JOIN ledger_entries AS e ON e.id = p.entry_id"
        ),
        indexes=POSTINGS_INDEXES,
        foreign_keys=[POSTINGS_FK],
    )
    op.execute(
        "COMMENT ON COLUMN ledger_postings.booked_on IS "
        "'the entry''s booked_on (the partition key, by month)'"
    )
    op.execute(LEDGER_TRIGGERS)


def downgrade() -> None:
    _rebuild(
        "ledger_postings",
        key="booked_on",
        partitioned=False,
        new_column=None,
        drop_column="booked_on",
        key_select="",
        join="",
        month_sql="",
        indexes=POSTINGS_INDEXES,
        foreign_keys=[POSTINGS_FK],
    )
    op.execute(LEDGER_TRIGGERS)
    _rebuild(
        "invoice_lines",
        key="issue_date",
        partitioned=False,
        new_column=None,
        drop_column="issue_date",
        key_select="",
        join="",
        month_sql="",
        indexes=LINES_INDEXES,
        foreign_keys=[LINES_FK],
    )
    _rebuild(
        "usage_events",
        key="started_at",
        partitioned=False,
        new_column=None,
        drop_column=None,
        key_select="",
        join="",
        month_sql="",
        indexes=[*USAGE_INDEXES, "ix_usage_events_client_id (organisation_id, client_event_id)"],
        foreign_keys=[USAGE_FK],
    )
    op.execute("DROP INDEX ix_usage_events_client_id")
    op.execute(
        "CREATE UNIQUE INDEX uq_usage_events_client_id ON usage_events (organisation_id, client_event_id)"
    )
    op.execute("DROP TABLE usage_event_keys")
    op.execute("COMMENT ON COLUMN rated_usage.event_id IS NULL")
    op.execute(f"ALTER TABLE rated_usage ADD {RATED_FK}")
    op.execute("DROP FUNCTION multibill_month_partition(text, date)")
