"""case-insensitive OCPI keys: unique indexes on upper(...) of the CPOs' ids

OCPI compares CiStrings (country codes, party ids, object ids) ignoring case, and a CPO may send
``de/stn/abc`` for what it created as ``DE/STN/ABC``. Ids stay stored as received; lookups compare
``upper()`` of both sides (``persistence/repositories.py``), which these indexes serve on both databases,
and they keep a CPO from creating one object twice under two spellings.

Revision ID: 0016
Revises: 0015
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "uq_ocpi_sessions_ci_key",
        "ocpi_sessions",
        [
            sa.func.upper(sa.column("country_code")),
            sa.func.upper(sa.column("party_id")),
            sa.func.upper(sa.column("session_id")),
        ],
        unique=True,
    )
    op.create_index(
        "uq_cdrs_ci_key",
        "cdrs",
        [
            sa.func.upper(sa.column("country_code")),
            sa.func.upper(sa.column("party_id")),
            sa.func.upper(sa.column("cdr_id")),
        ],
        unique=True,
    )
    op.create_index(
        "uq_tariffs_ci_version",
        "tariffs",
        [sa.column("cpo_id"), sa.func.upper(sa.column("tariff_id")), sa.column("last_updated")],
        unique=True,
    )


def downgrade() -> None:
    op.drop_index("uq_tariffs_ci_version", table_name="tariffs")
    op.drop_index("uq_cdrs_ci_key", table_name="cdrs")
    op.drop_index("uq_ocpi_sessions_ci_key", table_name="ocpi_sessions")
