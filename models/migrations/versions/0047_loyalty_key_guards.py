"""Loyalty: the keys of awards, point movements and balances checked once per statement, set-based.

A foreign key is checked by PostgreSQL once per inserted row and key (a query and a row lock each):
a 100,000-account award period wrote ~880,000 such checks, about a third of its time, and its two
parallel parts shared the rule, run and organisation rows they locked (multixacts). The keys of
``loyalty_awards`` (account, rule, run), ``loyalty_point_movements`` (account) and
``loyalty_point_balances`` (account) become set-based guards instead (``mb_guard_keys``):

- after every INSERT or UPDATE statement, ONE query per key over the statement's new rows finds any
  value with no row in the referenced table and fails the statement with ``foreign_key_violation``
  (SQLSTATE 23503, the error a foreign key raises);
- the referenced side: deleting an account, rule or run that loyalty rows name fails the same way
  (``mb_guard_referenced``, after each DELETE statement, over the deleted rows), and their ids cannot
  change. The delete first takes SHARE locks on the referencing tables: it waits for loyalty inserts in
  flight and they wait for it, so a row naming a row being deleted can never be committed beside it
  (a foreign key gets that from its row locks).

Nothing in the product deletes accounts, rules or runs (accounts are closed, rules deactivated); the
guards are the last line against a bug or a hand-written statement. The other tables keep their
foreign keys.

Revision ID: 0047
Revises: 0046
Create Date: 2026-12-01 04:45:00
"""

from __future__ import annotations

from alembic import op

revision = "0047"
down_revision = "0046"
branch_labels = None
depends_on = None

# (table, constraint, column, referenced table)
KEYS = [
    ("loyalty_awards", "fk_loyalty_awards_account_id_accounts", "account_id", "accounts"),
    ("loyalty_awards", "fk_loyalty_awards_rule_id_loyalty_rules", "rule_id", "loyalty_rules"),
    ("loyalty_awards", "fk_loyalty_awards_run_id_loyalty_runs", "run_id", "loyalty_runs"),
    ("loyalty_point_movements", "fk_loyalty_point_movements_account_id_accounts", "account_id", "accounts"),
    ("loyalty_point_balances", "fk_loyalty_point_balances_account_id_accounts", "account_id", "accounts"),
]

FUNCTIONS = r"""
CREATE FUNCTION mb_guard_keys() RETURNS trigger LANGUAGE plpgsql AS $fn$
-- Arguments: pairs of (column, referenced table). The statement's new rows are ``new_rows``.
DECLARE
    missing text;
BEGIN
    FOR i IN 0 .. (TG_NARGS / 2 - 1) LOOP
        EXECUTE format(
            'SELECT n.v FROM (SELECT DISTINCT %1$I AS v FROM new_rows WHERE %1$I IS NOT NULL) n '
            'WHERE NOT EXISTS (SELECT 1 FROM %2$I r WHERE r.id = n.v) LIMIT 1',
            TG_ARGV[2 * i], TG_ARGV[2 * i + 1])
        INTO missing;
        IF missing IS NOT NULL THEN
            RAISE EXCEPTION 'insert or update on table "%" violates the key of "%"', TG_TABLE_NAME, TG_ARGV[2 * i]
                USING ERRCODE = 'foreign_key_violation',
                      DETAIL = format('Key (%s)=(%s) is not present in table "%s".',
                                      TG_ARGV[2 * i], missing, TG_ARGV[2 * i + 1]),
                      TABLE = TG_TABLE_NAME, COLUMN = TG_ARGV[2 * i];
        END IF;
    END LOOP;
    RETURN NULL;
END
$fn$;

CREATE FUNCTION mb_guard_referenced() RETURNS trigger LANGUAGE plpgsql AS $fn$
-- Arguments: pairs of (referencing table, its column). The statement's deleted rows are ``old_rows``.
DECLARE
    named text;
BEGIN
    FOR i IN 0 .. (TG_NARGS / 2 - 1) LOOP
        EXECUTE format('LOCK TABLE %I IN SHARE MODE', TG_ARGV[2 * i]);
    END LOOP;
    FOR i IN 0 .. (TG_NARGS / 2 - 1) LOOP
        EXECUTE format(
            'SELECT o.id FROM old_rows o WHERE EXISTS (SELECT 1 FROM %1$I x WHERE x.%2$I = o.id) LIMIT 1',
            TG_ARGV[2 * i], TG_ARGV[2 * i + 1])
        INTO named;
        IF named IS NOT NULL THEN
            RAISE EXCEPTION 'delete on table "%" violates the key of "%"', TG_TABLE_NAME, TG_ARGV[2 * i]
                USING ERRCODE = 'foreign_key_violation',
                      DETAIL = format('Key (id)=(%s) is still referenced from table "%s".', named, TG_ARGV[2 * i]),
                      TABLE = TG_TABLE_NAME;
        END IF;
    END LOOP;
    RETURN NULL;
END
$fn$;

CREATE FUNCTION mb_ids_immutable() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    RAISE EXCEPTION 'the id of a row of "%" never changes (% → %)', TG_TABLE_NAME, OLD.id, NEW.id
        USING ERRCODE = 'foreign_key_violation';
END
$fn$;
"""

GUARDS = {
    "loyalty_awards": "account_id, accounts, rule_id, loyalty_rules, run_id, loyalty_runs",
    "loyalty_point_movements": "account_id, accounts",
    "loyalty_point_balances": "account_id, accounts",
}
REFERENCED = {
    "accounts": "loyalty_awards, account_id, loyalty_point_movements, account_id,"
    " loyalty_point_balances, account_id",
    "loyalty_rules": "loyalty_awards, rule_id",
    "loyalty_runs": "loyalty_awards, run_id",
}


def upgrade() -> None:
    op.execute(FUNCTIONS)
    for table, constraint, _column, _referenced in KEYS:
        op.drop_constraint(constraint, table, type_="foreignkey")
    for table, args in GUARDS.items():
        for event in ("insert", "update"):
            op.execute(
                f"CREATE TRIGGER {table}_keys_{event} AFTER {event.upper()} ON {table}"
                f" REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION mb_guard_keys({args})"
            )
    for table, args in REFERENCED.items():
        op.execute(
            f"CREATE TRIGGER {table}_loyalty_referenced AFTER DELETE ON {table}"
            f" REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION mb_guard_referenced({args})"
        )
        op.execute(
            f"CREATE TRIGGER {table}_id_immutable BEFORE UPDATE OF id ON {table}"
            f" FOR EACH ROW WHEN (OLD.id IS DISTINCT FROM NEW.id) EXECUTE FUNCTION mb_ids_immutable()"
        )


def downgrade() -> None:
    for table in REFERENCED:
        op.execute(f"DROP TRIGGER {table}_id_immutable ON {table}")
        op.execute(f"DROP TRIGGER {table}_loyalty_referenced ON {table}")
    for table in GUARDS:
        for event in ("insert", "update"):
            op.execute(f"DROP TRIGGER {table}_keys_{event} ON {table}")
    for table, constraint, column, referenced in KEYS:
        op.create_foreign_key(constraint, table, referenced, [column], ["id"])
    op.execute(
        "DROP FUNCTION mb_ids_immutable(); DROP FUNCTION mb_guard_referenced(); DROP FUNCTION mb_guard_keys();"
    )
