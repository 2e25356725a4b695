"""The points trigger plans its two statements at each firing (issue #17, benchmark).

``loyalty_points_apply`` (migration 0035) ran its UPDATE and INSERT of balances as static PL/pgSQL
statements, whose plans are cached for the life of the connection: the first firing, on an empty
``loyalty_point_balances``, chose a plan (a nested loop scanning the balances for each account of the
page) that was then reused on a table of 100k balances. Applying the second 10,000-award page of the
bench took 14.8 s and the third 35.4 s (20k accounts), against 1.5-1.8 s with a fresh plan. The
statements are now run with ``EXECUTE`` (planned at each firing, with the transition table's real row
count and the balances' current size); what they do is unchanged.

Revision ID: 0040
Revises: 0039
Create Date: 2026-11-30 21:30:00
"""

from __future__ import annotations

from alembic import op

revision = "0040"
down_revision = "0039"
branch_labels = None
depends_on = None

PLANNED_EACH_TIME = """
CREATE OR REPLACE FUNCTION loyalty_points_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- EXECUTE: planned at each firing (a static statement's plan is cached per connection and was made
  -- for the first page's empty balances table). Update first: an INSERT ... ON CONFLICT checks the
  -- CHECK on the row it would insert (a negative delta) before it finds the conflict.
  EXECUTE 'UPDATE loyalty_point_balances b SET balance = b.balance + d.delta, updated_at = now()
    FROM (SELECT account_id, sum(points) AS delta FROM new_movements GROUP BY account_id) d
    WHERE b.account_id = d.account_id';
  EXECUTE 'INSERT INTO loyalty_point_balances AS b (account_id, organisation_id, balance, updated_at)
    SELECT m.account_id, min(m.organisation_id), sum(m.points), now() FROM new_movements m
    WHERE NOT EXISTS (SELECT 1 FROM loyalty_point_balances x WHERE x.account_id = m.account_id)
    GROUP BY m.account_id
    ON CONFLICT (account_id) DO UPDATE SET balance = b.balance + excluded.balance, updated_at = now()';
  RETURN NULL;
END $$;
"""

AS_IN_0035 = """
CREATE OR REPLACE FUNCTION loyalty_points_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- Update first: an INSERT ... ON CONFLICT checks the CHECK on the row it would insert (a negative
  -- delta) before it finds the conflict.
  UPDATE loyalty_point_balances b SET balance = b.balance + d.delta, updated_at = now()
  FROM (SELECT account_id, sum(points) AS delta FROM new_movements GROUP BY account_id) d
  WHERE b.account_id = d.account_id;
  INSERT INTO loyalty_point_balances AS b (account_id, organisation_id, balance, updated_at)
  SELECT m.account_id, min(m.organisation_id), sum(m.points), now() FROM new_movements m
  WHERE NOT EXISTS (SELECT 1 FROM loyalty_point_balances x WHERE x.account_id = m.account_id)
  GROUP BY m.account_id
  ON CONFLICT (account_id) DO UPDATE SET balance = b.balance + excluded.balance, updated_at = now();
  RETURN NULL;
END $$;
"""


def upgrade() -> None:
    op.execute(PLANNED_EACH_TIME)


def downgrade() -> None:
    op.execute(AS_IN_0035)
