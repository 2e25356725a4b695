"""Migration 0012 attributes the periods billed before it to the services of their line, so the per-service
guard never bills them again (a fresh database migrated to 0011, filled, then upgraded)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from models.migrate import upgrade
from tests.support.migration_db import database_at

SERVICES = """
insert into subscription_services
  (id, subscription_id, line_id, plan_code, plan_version, product_kind, role, quantity, status,
   started_on, ended_on, replaced_by, created_at)
values
  ('svc_single', 'sub_a', 'svc_single', 'm', 1, 'broadband', 'base', 1, 'active', '2024-01-01', null, null,
   now()),
  ('svc_old', 'sub_b', 'svc_old', 'm', 1, 'broadband', 'base', 1, 'terminated', '2024-01-01', '2024-01-20',
   'svc_new', now()),
  ('svc_new', 'sub_b', 'svc_old', 'q', 1, 'broadband', 'base', 1, 'active', '2024-01-20', null, null, now())
"""
BILLED = """
insert into billed_periods (subscription_id, line_id, period_start, period_end, invoice_id) values
  ('sub_a', 'svc_single', '2024-01-01', '2024-02-01', 'inv_1'),
  ('sub_b', 'svc_old', '2024-01-01', '2024-02-01', 'inv_2'),
  ('sub_b', 'svc_old', '2024-02-01', '2024-03-01', 'inv_3')
"""


@pytest.fixture
def old_database(database_url: str) -> Iterator[str]:
    with database_at(database_url, "0011") as url:
        yield url


def test_periods_billed_before_are_attributed_to_every_service_of_their_line(old_database: str) -> None:
    engine = sa.create_engine(old_database)
    with engine.begin() as conn:
        conn.exec_driver_sql("set session_replication_role = replica")  # rows without their parents
        conn.exec_driver_sql(SERVICES)
        conn.exec_driver_sql(BILLED)
    upgrade(old_database, "0012")
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "select service_id, period_start::text, invoice_id from billed_periods "
                "order by service_id, period_start"
            )
        ).all()
    engine.dispose()
    assert [tuple(r) for r in rows] == [
        ("svc_new", "2024-01-01", "inv_2"),  # its first period (the change charged its rest)
        ("svc_new", "2024-02-01", "inv_3"),
        ("svc_old", "2024-01-01", "inv_2"),
        ("svc_single", "2024-01-01", "inv_1"),
    ]
