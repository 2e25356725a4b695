"""mobile_money_requests (the push request sent per idempotency key), the mobile_money payment-method kind,
and SIM cards as devices: device_models.kind, devices.iccid / imsi / msisdn, unique per operator

Revision ID: 0026
Revises: 0023
Create Date: 2026-11-30 18:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0026"
down_revision = "0023"
branch_labels = None
depends_on = None

OLD_KINDS = "kind in ('card', 'sepa_debit', 'cash', 'wallet', 'voucher')"
NEW_KINDS = "kind in ('card', 'sepa_debit', 'cash', 'wallet', 'voucher', 'mobile_money')"


def upgrade() -> None:
    op.create_table(
        "mobile_money_requests",
        sa.Column("idempotency_key", sa.String(length=300), nullable=False),
        sa.Column("checkout_request_id", sa.String(length=64), nullable=False),
        sa.Column("msisdn", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("idempotency_key", name=op.f("pk_mobile_money_requests")),
        sa.UniqueConstraint("checkout_request_id", name=op.f("uq_mobile_money_requests_checkout_request_id")),
    )
    op.drop_constraint(op.f("ck_payment_methods_kind"), "payment_methods", type_="check")
    op.create_check_constraint(op.f("ck_payment_methods_kind"), "payment_methods", NEW_KINDS)
    op.add_column(
        "device_models",
        sa.Column(
            "kind",
            sa.String(length=16),
            server_default="device",
            nullable=False,
            comment="device | sim (carries ICCID and IMSI)",
        ),
    )
    op.create_check_constraint(op.f("ck_device_models_kind"), "device_models", "kind in ('device', 'sim')")
    op.add_column(
        "devices",
        sa.Column("iccid", sa.String(length=20), nullable=True, comment="a SIM's card number (Luhn-checked)"),
    )
    op.add_column(
        "devices", sa.Column("imsi", sa.String(length=15), nullable=True, comment="a SIM's subscriber identity")
    )
    op.add_column(
        "devices",
        sa.Column("msisdn", sa.String(length=16), nullable=True, comment="the SIM's line number (E.164)"),
    )
    op.create_unique_constraint("uq_devices_operator_iccid", "devices", ["operator_id", "iccid"])
    op.create_unique_constraint("uq_devices_operator_imsi", "devices", ["operator_id", "imsi"])
    op.create_unique_constraint("uq_devices_operator_msisdn", "devices", ["operator_id", "msisdn"])


def downgrade() -> None:
    op.drop_constraint("uq_devices_operator_msisdn", "devices", type_="unique")
    op.drop_constraint("uq_devices_operator_imsi", "devices", type_="unique")
    op.drop_constraint("uq_devices_operator_iccid", "devices", type_="unique")
    op.drop_column("devices", "msisdn")
    op.drop_column("devices", "imsi")
    op.drop_column("devices", "iccid")
    op.drop_constraint(op.f("ck_device_models_kind"), "device_models", type_="check")
    op.drop_column("device_models", "kind")
    op.drop_constraint(op.f("ck_payment_methods_kind"), "payment_methods", type_="check")
    op.create_check_constraint(op.f("ck_payment_methods_kind"), "payment_methods", OLD_KINDS)
    op.drop_table("mobile_money_requests")
