"""clearings: the rated price of each session against its CPO's claim

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "clearings",
        sa.Column("key", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("session_id", sa.String(length=36), nullable=False),
        sa.Column("cdr_key", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("tariff_version_key", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("total_excl_vat", sa.Numeric(18, 4), nullable=False),
        sa.Column("total_incl_vat", sa.Numeric(18, 4), nullable=False),
        sa.Column("claimed_excl_vat", sa.Numeric(18, 4), nullable=False),
        sa.Column("claimed_incl_vat", sa.Numeric(18, 4), nullable=False),
        sa.Column("tolerance", sa.Numeric(18, 4), nullable=False),
        sa.Column("discrepancy", sa.Boolean(), nullable=False),
        sa.Column("report", sa.JSON(), nullable=False),
        sa.Column("rated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["session_id"], ["sessions.id"], name=op.f("fk_clearings_session_id_sessions")),
        sa.ForeignKeyConstraint(["cdr_key"], ["cdrs.key"], name=op.f("fk_clearings_cdr_key_cdrs")),
        sa.ForeignKeyConstraint(
            ["tariff_version_key"], ["tariffs.key"], name=op.f("fk_clearings_tariff_version_key_tariffs")
        ),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_clearings")),
        # One clearing per session: a retried activity finds it instead of rating twice.
        sa.UniqueConstraint("session_id", name=op.f("uq_clearings_session_id")),
    )


def downgrade() -> None:
    op.drop_table("clearings")
