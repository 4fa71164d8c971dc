"""PostgreSQL: a posting's entry is checked once per INSERT or COPY statement, not by a query per posting

A foreign key checks every inserted row with a query of its own: 4,000 of them for a batch of 500
settlement entries, about a quarter of the time the database takes to book it. Ledger entries are never
updated nor deleted (0004) and now never truncated either, so that check at insertion was all the foreign key
from ``ledger_postings.entry_key`` still did. The statement trigger that already joins each statement's
postings to their entries (0008) makes it for all of them at once, and refuses a posting of no entry with
the foreign key's error code and name. SQLite keeps its foreign key (its checks are no queries), as does
``account_key`` everywhere (accounts are not immutable).

Revision ID: 0034
Revises: 0033
"""

from __future__ import annotations

from alembic import op

revision = "0034"
down_revision = "0033"
branch_labels = None
depends_on = None

ENTRY_FOREIGN_KEY = "fk_ledger_postings_entry_key_ledger_entries"

# 0008's check, which the downgrade restores: no entry may have more postings than it declares.
COUNT_CHECK = """
    CREATE OR REPLACE FUNCTION networkcore_postings_within_entries() RETURNS trigger AS $$
    DECLARE overfull record;
    BEGIN
        SELECT e.key, e.posting_count, n.postings INTO overfull
          FROM (SELECT DISTINCT entry_key FROM arrived) a
          JOIN ledger_entries e ON e.key = a.entry_key
         CROSS JOIN LATERAL (SELECT COUNT(*) AS postings FROM ledger_postings p
                              WHERE p.entry_key = a.entry_key) n
         WHERE n.postings > e.posting_count LIMIT 1;
        IF FOUND THEN
            RAISE EXCEPTION 'ledger entry % declares % postings but has %: entries are immutable',
                overfull.key, overfull.posting_count, overfull.postings
                USING ERRCODE = 'integrity_constraint_violation';
        END IF;
        RETURN NULL;
    END;
    $$ LANGUAGE plpgsql
"""

# The same, and every posting's entry exists (the outer join finds none for a posting of no entry).
ENTRY_AND_COUNT_CHECK = f"""
    CREATE OR REPLACE FUNCTION networkcore_postings_within_entries() RETURNS trigger AS $$
    DECLARE wrong record;
    BEGIN
        SELECT a.entry_key, e.key IS NOT NULL AS entry_exists, e.posting_count, n.postings INTO wrong
          FROM (SELECT DISTINCT entry_key FROM arrived) a
          LEFT JOIN ledger_entries e ON e.key = a.entry_key
         CROSS JOIN LATERAL (SELECT COUNT(*) AS postings FROM ledger_postings p
                              WHERE p.entry_key = a.entry_key) n
         WHERE e.key IS NULL OR n.postings > e.posting_count LIMIT 1;
        IF FOUND AND NOT wrong.entry_exists THEN
            RAISE EXCEPTION 'ledger postings of entry %, which does not exist', wrong.entry_key
                USING ERRCODE = 'foreign_key_violation', TABLE = 'ledger_postings',
                      CONSTRAINT = '{ENTRY_FOREIGN_KEY}';
        END IF;
        IF FOUND THEN
            RAISE EXCEPTION 'ledger entry % declares % postings but has %: entries are immutable',
                wrong.entry_key, wrong.posting_count, wrong.postings
                USING ERRCODE = 'integrity_constraint_violation';
        END IF;
        RETURN NULL;
    END;
    $$ LANGUAGE plpgsql
"""


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(ENTRY_AND_COUNT_CHECK)
    # With no foreign key to refuse it, a TRUNCATE would orphan the postings: refused like UPDATE and DELETE.
    op.execute(
        "CREATE TRIGGER ledger_entries_no_truncate BEFORE TRUNCATE ON ledger_entries "
        "FOR EACH STATEMENT EXECUTE FUNCTION networkcore_forbid_change()"
    )
    op.drop_constraint(ENTRY_FOREIGN_KEY, "ledger_postings", type_="foreignkey")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.create_foreign_key(ENTRY_FOREIGN_KEY, "ledger_postings", "ledger_entries", ["entry_key"], ["key"])
    op.execute("DROP TRIGGER ledger_entries_no_truncate ON ledger_entries")
    op.execute(COUNT_CHECK)
