"""Seal SEPA mandate IBANs: sepa_mandates.iban (clear text) becomes iban_sealed + iban_masked

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30 09:00:00

Every existing IBAN is sealed here (AES-GCM under MULTIBILL_DATA_KEY, domain/sepa_vault.py) with the
key the running processes use (runtime/settings.py reads it from the environment), then the clear
column is dropped. In production the development key is refused as it is at start-up.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from domain.sepa import mask_iban
from domain.sepa_vault import IbanVault

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

MANDATES = sa.table(
    "sepa_mandates",
    sa.column("id", sa.String),
    sa.column("iban", sa.String),
    sa.column("iban_sealed", sa.Text),
    sa.column("iban_masked", sa.String),
)


def _vault() -> IbanVault:
    from runtime.settings import Settings

    settings = Settings()
    settings.require_safe_secret()
    return IbanVault(settings.data_key)


def upgrade() -> None:
    op.add_column(
        "sepa_mandates",
        sa.Column("iban_sealed", sa.Text(), nullable=True, comment="AES-GCM under MULTIBILL_DATA_KEY (sepa_vault)"),
    )
    op.add_column(
        "sepa_mandates",
        sa.Column("iban_masked", sa.String(length=42), nullable=True, comment="e.g. DE89 **** 3000: all that is shown"),
    )
    conn = op.get_bind()
    found = conn.execute(sa.select(MANDATES.c.id, MANDATES.c.iban)).all()
    if found:
        vault = _vault()
        for mandate_id, iban in found:
            conn.execute(
                MANDATES.update()
                .where(MANDATES.c.id == mandate_id)
                .values(iban_sealed=vault.seal(iban, mandate_id), iban_masked=mask_iban(iban))
            )
    op.alter_column("sepa_mandates", "iban_sealed", nullable=False)
    op.alter_column("sepa_mandates", "iban_masked", nullable=False)
    op.drop_column("sepa_mandates", "iban")


def downgrade() -> None:
    op.add_column("sepa_mandates", sa.Column("iban", sa.String(length=34), nullable=True))
    conn = op.get_bind()
    found = conn.execute(sa.select(MANDATES.c.id, MANDATES.c.iban_sealed)).all()
    if found:
        vault = _vault()
        for mandate_id, sealed in found:
            conn.execute(
                MANDATES.update().where(MANDATES.c.id == mandate_id).values(iban=vault.open(sealed, mandate_id))
            )
    op.alter_column("sepa_mandates", "iban", nullable=False)
    op.drop_column("sepa_mandates", "iban_masked")
    op.drop_column("sepa_mandates", "iban_sealed")
