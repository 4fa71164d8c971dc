"""kept account totals and the set of pending holds, so that a balance costs the same on day 1,000 as on day 1

``ledger_account_totals`` keeps every account's posted debits (positive amounts) and credits (negated
negative amounts), as TigerBeetle keeps debits_posted and credits_posted: both, so that a sign error shows.
The database keeps them in the transaction that inserts the postings, whatever inserts them (COPY too).
On PostgreSQL an account is spread over ``SHARDS`` rows, one per transaction id modulo ``SHARDS``, so that
sessions booking the same platform account (commission, VAT, bank) at once lock different rows: one
statement trigger per INSERT or COPY adds the statement's sums per account, in account order (one lock
order for every posting statement). SQLite has one writer at a time: one row per account (shard 0), kept by
a row trigger. A balance is the sum of an account's few rows. Backfilled from the postings.

``ledger_pending_holds`` lists the holds not yet posted, voided or expired (a row added with the hold,
removed with its resolution, by triggers), so that the credit held and the holds due to expire are read from
the pending ones only, not from every hold the account ever had. Backfilled from the holds.

A SQLite table rebuilt by a later migration loses its triggers: such a migration must create them again.

Written on a branch where 0028 was the head: the merge re-chains it.

Revision ID: 0030
Revises: 0028
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0030"
down_revision = "0029"
branch_labels = None
depends_on = None

KEY = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
SHARDS = 16

DEBITS = "COALESCE(SUM(CASE WHEN amount_minor > 0 THEN amount_minor END), 0)"
CREDITS = "COALESCE(SUM(CASE WHEN amount_minor < 0 THEN -amount_minor END), 0)"


def upgrade() -> None:
    op.create_table(
        "ledger_account_totals",
        sa.Column("account_key", KEY, nullable=False),
        sa.Column("shard", sa.SmallInteger(), nullable=False),
        sa.Column("debits_minor", sa.BigInteger(), nullable=False),
        sa.Column("credits_minor", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("account_key", "shard", name=op.f("pk_ledger_account_totals")),
        sa.ForeignKeyConstraint(
            ["account_key"], ["ledger_accounts.key"], name=op.f("fk_ledger_account_totals_account_key_ledger_accounts")
        ),
        sa.CheckConstraint("debits_minor >= 0 AND credits_minor >= 0", name=op.f("ck_ledger_account_totals_unsigned")),
    )
    op.create_table(
        "ledger_pending_holds",
        sa.Column("hold_key", KEY, nullable=False),
        sa.Column("account_key", KEY, nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("hold_key", name=op.f("pk_ledger_pending_holds")),
        sa.ForeignKeyConstraint(
            ["hold_key"], ["ledger_holds.key"], name=op.f("fk_ledger_pending_holds_hold_key_ledger_holds")
        ),
        sa.ForeignKeyConstraint(
            ["account_key"], ["ledger_accounts.key"], name=op.f("fk_ledger_pending_holds_account_key_ledger_accounts")
        ),
    )
    op.create_index(
        op.f("ix_ledger_pending_holds_account_key_expires_at"), "ledger_pending_holds", ["account_key", "expires_at"]
    )
    # Triggers first, then the backfill: in the migration's transaction, no posting or hold comes in between.
    if op.get_bind().dialect.name == "postgresql":
        _postgresql_triggers()
    else:
        _sqlite_triggers()
    op.execute(
        "INSERT INTO ledger_account_totals (account_key, shard, debits_minor, credits_minor) "
        f"SELECT account_key, 0, {DEBITS}, {CREDITS} FROM ledger_postings GROUP BY account_key"
    )
    op.execute(
        "INSERT INTO ledger_pending_holds (hold_key, account_key, amount_minor, expires_at) "
        "SELECT h.key, h.account_key, h.amount_minor, h.expires_at FROM ledger_holds h "
        "WHERE NOT EXISTS (SELECT 1 FROM ledger_hold_resolutions r WHERE r.hold_key = h.key)"
    )


def _postgresql_triggers() -> None:
    op.execute(
        f"""
        CREATE FUNCTION networkcore_keep_account_totals() RETURNS trigger AS $$
        BEGIN
            INSERT INTO ledger_account_totals AS kept (account_key, shard, debits_minor, credits_minor)
            SELECT account_key, (pg_current_xact_id()::text::bigint % {SHARDS})::smallint, {DEBITS}, {CREDITS}
              FROM arrived GROUP BY account_key ORDER BY account_key
            ON CONFLICT (account_key, shard) DO UPDATE
               SET debits_minor = kept.debits_minor + EXCLUDED.debits_minor,
                   credits_minor = kept.credits_minor + EXCLUDED.credits_minor;
            RETURN NULL;
        END;
        $$ LANGUAGE plpgsql
        """
    )
    op.execute(
        "CREATE TRIGGER ledger_postings_totals AFTER INSERT ON ledger_postings "
        "REFERENCING NEW TABLE AS arrived FOR EACH STATEMENT EXECUTE FUNCTION networkcore_keep_account_totals()"
    )
    op.execute(
        """
        CREATE FUNCTION networkcore_hold_pending() RETURNS trigger AS $$
        BEGIN
            INSERT INTO ledger_pending_holds (hold_key, account_key, amount_minor, expires_at)
            VALUES (NEW.key, NEW.account_key, NEW.amount_minor, NEW.expires_at);
            RETURN NULL;
        END;
        $$ LANGUAGE plpgsql
        """
    )
    op.execute(
        "CREATE TRIGGER ledger_holds_pending AFTER INSERT ON ledger_holds "
        "FOR EACH ROW EXECUTE FUNCTION networkcore_hold_pending()"
    )
    op.execute(
        """
        CREATE FUNCTION networkcore_hold_resolved() RETURNS trigger AS $$
        BEGIN
            DELETE FROM ledger_pending_holds WHERE hold_key = NEW.hold_key;
            RETURN NULL;
        END;
        $$ LANGUAGE plpgsql
        """
    )
    op.execute(
        "CREATE TRIGGER ledger_hold_resolutions_resolve AFTER INSERT ON ledger_hold_resolutions "
        "FOR EACH ROW EXECUTE FUNCTION networkcore_hold_resolved()"
    )


def _sqlite_triggers() -> None:
    op.execute(
        """
        CREATE TRIGGER ledger_postings_totals AFTER INSERT ON ledger_postings
        BEGIN
            INSERT INTO ledger_account_totals (account_key, shard, debits_minor, credits_minor)
            VALUES (NEW.account_key, 0, MAX(NEW.amount_minor, 0), MAX(-NEW.amount_minor, 0))
            ON CONFLICT (account_key, shard) DO UPDATE
               SET debits_minor = debits_minor + excluded.debits_minor,
                   credits_minor = credits_minor + excluded.credits_minor;
        END
        """
    )
    op.execute(
        """
        CREATE TRIGGER ledger_holds_pending AFTER INSERT ON ledger_holds
        BEGIN
            INSERT INTO ledger_pending_holds (hold_key, account_key, amount_minor, expires_at)
            VALUES (NEW.key, NEW.account_key, NEW.amount_minor, NEW.expires_at);
        END
        """
    )
    op.execute(
        """
        CREATE TRIGGER ledger_hold_resolutions_resolve AFTER INSERT ON ledger_hold_resolutions
        BEGIN
            DELETE FROM ledger_pending_holds WHERE hold_key = NEW.hold_key;
        END
        """
    )


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for trigger, table in (
        ("ledger_postings_totals", "ledger_postings"),
        ("ledger_holds_pending", "ledger_holds"),
        ("ledger_hold_resolutions_resolve", "ledger_hold_resolutions"),
    ):
        op.execute(f"DROP TRIGGER {trigger}" + (f" ON {table}" if postgresql else ""))
    if postgresql:
        for function in ("networkcore_keep_account_totals", "networkcore_hold_pending", "networkcore_hold_resolved"):
            op.execute(f"DROP FUNCTION {function}()")
    op.drop_index(op.f("ix_ledger_pending_holds_account_key_expires_at"), table_name="ledger_pending_holds")
    op.drop_table("ledger_pending_holds")
    op.drop_table("ledger_account_totals")
