"""ledger: accounts, immutable journal entries and postings, balanced per currency at commit

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from persistence.immutable_rows import forbid_changes

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

KEY = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "ledger_accounts",
        sa.Column("key", KEY, autoincrement=True, nullable=False),
        sa.Column("code", sa.String(length=160), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_ledger_accounts")),
        sa.UniqueConstraint("code", "currency", name=op.f("uq_ledger_accounts_code_currency")),
    )
    op.create_table(
        "ledger_entries",
        sa.Column("key", KEY, autoincrement=True, nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column("posting_count", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_ledger_entries")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_ledger_entries_idempotency_key")),
        sa.CheckConstraint("posting_count >= 2", name=op.f("ck_ledger_entries_two_postings")),
    )
    op.create_table(
        "ledger_postings",
        sa.Column("key", KEY, autoincrement=True, nullable=False),
        sa.Column("entry_key", KEY, nullable=False),
        sa.Column("account_key", KEY, nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["entry_key"], ["ledger_entries.key"], name=op.f("fk_ledger_postings_entry_key_ledger_entries")
        ),
        sa.ForeignKeyConstraint(
            ["account_key"], ["ledger_accounts.key"], name=op.f("fk_ledger_postings_account_key_ledger_accounts")
        ),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_ledger_postings")),
        sa.CheckConstraint("amount_minor <> 0", name=op.f("ck_ledger_postings_not_zero")),
    )
    op.create_index(op.f("ix_ledger_postings_entry_key"), "ledger_postings", ["entry_key"])
    op.create_index(op.f("ix_ledger_postings_account_key"), "ledger_postings", ["account_key"])
    if op.get_bind().dialect.name == "postgresql":
        # Checked at commit, so the postings of an entry can be inserted in any order (Hordak's trigger).
        op.execute(
            """
            CREATE FUNCTION networkcore_check_entry_balance() RETURNS trigger AS $$
            DECLARE unbalanced record;
            BEGIN
                SELECT currency, SUM(amount_minor) AS total INTO unbalanced
                  FROM ledger_postings WHERE entry_key = NEW.entry_key
                 GROUP BY currency HAVING SUM(amount_minor) <> 0 LIMIT 1;
                IF FOUND THEN
                    RAISE EXCEPTION 'ledger entry % does not balance in %: %', NEW.entry_key,
                        unbalanced.currency, unbalanced.total USING ERRCODE = 'check_violation';
                END IF;
                RETURN NULL;
            END;
            $$ LANGUAGE plpgsql
            """
        )
        op.execute(
            "CREATE CONSTRAINT TRIGGER ledger_postings_balance AFTER INSERT ON ledger_postings "
            "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION networkcore_check_entry_balance()"
        )
    else:
        # SQLite has no deferred triggers: the entry declares how many postings it has, and when the last
        # one arrives its currencies must each sum to zero.
        op.execute(
            """
            CREATE TRIGGER ledger_postings_balance AFTER INSERT ON ledger_postings
            WHEN (SELECT COUNT(*) FROM ledger_postings WHERE entry_key = NEW.entry_key)
                 = (SELECT posting_count FROM ledger_entries WHERE key = NEW.entry_key)
            BEGIN
                SELECT RAISE(ABORT, 'ledger entry does not balance')
                 WHERE EXISTS (SELECT 1 FROM ledger_postings WHERE entry_key = NEW.entry_key
                               GROUP BY currency HAVING SUM(amount_minor) <> 0);
            END
            """
        )
    forbid_changes(("ledger_entries", "ledger_postings"))


def downgrade() -> None:
    op.drop_table("ledger_postings")
    op.drop_table("ledger_entries")
    op.drop_table("ledger_accounts")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS networkcore_check_entry_balance()")
