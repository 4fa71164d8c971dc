"""superseded decisions: a dispute decided again keeps the decision it replaced

A dispute's correction that a business refusal parked can be decided again (``services/disputes.py``).
``disputes`` keeps the decision in force, one per clearing as before; each decision it replaced is kept
in ``superseded_decisions`` with who replaced it and when.

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

KEY = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "superseded_decisions",
        sa.Column("key", KEY, autoincrement=True, nullable=False),
        sa.Column("dispute_key", KEY, nullable=False),
        sa.Column("decision", sa.String(length=8), nullable=False),
        sa.Column("agreed_excl_vat", sa.Numeric(18, 4), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("decided_by", sa.String(length=80), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("superseded_by", sa.String(length=80), nullable=False),
        sa.Column("superseded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_superseded_decisions")),
        sa.ForeignKeyConstraint(
            ["dispute_key"], ["disputes.key"], name=op.f("fk_superseded_decisions_dispute_key_disputes")
        ),
        sa.CheckConstraint("decision IN ('ACCEPT', 'REJECT', 'ADJUST')", name=op.f("ck_superseded_decisions_decision")),
    )
    op.create_index(op.f("ix_superseded_decisions_dispute_key"), "superseded_decisions", ["dispute_key"])


def downgrade() -> None:
    op.drop_index(op.f("ix_superseded_decisions_dispute_key"), table_name="superseded_decisions")
    op.drop_table("superseded_decisions")
