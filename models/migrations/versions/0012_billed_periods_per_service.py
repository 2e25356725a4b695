"""billed_periods: one row per service and period, so each service is guarded on its own grid

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30 09:00:00

A line's services may bill on different grids after a plan change (monthly to yearly): the guard
becomes (service, period start). Periods billed before are attributed to every service of their
line that overlaps them (a service ending on a period's first day included: it was billed while
live), so nothing billed before is billed again.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

MATCHES = """
select b.id, s.id as service_id,
       row_number() over (partition by b.id order by s.started_on, s.id) as n
from billed_periods b
join subscription_services s on s.line_id = b.line_id and s.subscription_id = b.subscription_id
where b.service_id is null
  and s.started_on < b.period_end and (s.ended_on is null or s.ended_on >= b.period_start)
"""


def upgrade() -> None:
    op.add_column(
        "billed_periods",
        sa.Column(
            "service_id",
            sa.String(length=32),
            nullable=True,
            comment="the service billed; null only for a period no service matched (before 0012)",
        ),
    )
    op.drop_constraint("uq_billed_periods_line_period", "billed_periods", type_="unique")
    op.execute(
        f"""
        insert into billed_periods (subscription_id, line_id, service_id, period_start, period_end, invoice_id)
        select b.subscription_id, b.line_id, m.service_id, b.period_start, b.period_end, b.invoice_id
        from billed_periods b join ({MATCHES}) m on m.id = b.id where m.n > 1
        """
    )
    op.execute(
        f"""
        update billed_periods b set service_id = m.service_id
        from ({MATCHES}) m where m.id = b.id and m.n = 1
        """
    )
    op.create_unique_constraint(
        "uq_billed_periods_service_period", "billed_periods", ["service_id", "period_start"]
    )


def downgrade() -> None:
    op.drop_constraint("uq_billed_periods_service_period", "billed_periods", type_="unique")
    op.execute(
        """
        delete from billed_periods b using billed_periods k
        where k.line_id = b.line_id and k.period_start = b.period_start and k.id < b.id
        """
    )
    op.create_unique_constraint(
        "uq_billed_periods_line_period", "billed_periods", ["line_id", "period_start"]
    )
    op.drop_column("billed_periods", "service_id")
