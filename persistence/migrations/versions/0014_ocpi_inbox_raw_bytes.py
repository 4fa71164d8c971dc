"""OCPI inbox: the bytes as received

``ocpi_inbox.body`` is text, so a message that was not UTF-8 was kept with its bad bytes replaced; the new
``raw_body`` keeps every message's bytes as they arrived (``body`` stays, readable). Messages stored before
this revision have no ``raw_body``: their text is all that was kept.

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ALTER TABLE on both databases: a batch rebuild on SQLite would drop the table's immutability
    # triggers.
    op.add_column("ocpi_inbox", sa.Column("raw_body", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    op.drop_column("ocpi_inbox", "raw_body")
