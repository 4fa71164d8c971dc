"""PostgreSQL: a bank statement file's content is compressed with lz4, not pglz

Every import stores the file before anything else (``bank_statements.store_file``); a statement of 10,000
entries is 7.5 MB of XML, which pglz took 50 to 80 ms to compress and lz4 takes about 15, for nearly the
same size on disk (773 kB against 735 kB). Files stored before keep pglz: PostgreSQL reads both. A server
built without lz4 keeps pglz.

Revision ID: 0036
Revises: 0035
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import text

revision = "0036"
down_revision = "0035"
branch_labels = None
depends_on = None


def _lz4_available() -> bool:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return False
    methods = bind.execute(
        text("SELECT enumvals FROM pg_settings WHERE name = 'default_toast_compression'")
    ).scalar_one_or_none()
    return "lz4" in (methods or [])


def upgrade() -> None:
    if _lz4_available():
        op.execute("ALTER TABLE bank_statement_files ALTER COLUMN content SET COMPRESSION lz4")


def downgrade() -> None:
    if _lz4_available():
        op.execute("ALTER TABLE bank_statement_files ALTER COLUMN content SET COMPRESSION pglz")
