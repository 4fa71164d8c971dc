"""check each ledger entry's balance once at commit, not once per posting; no posting joins a complete entry

The deferred check moves from every posting to every entry (8 checks per session became 1), and it now
also counts the postings against the entry's declared ``posting_count``. Once per INSERT or COPY
statement, no entry may have more postings than it declares: a committed entry (complete, by the check
at its commit) can therefore never gain a posting. SQLite keeps its completion trigger (0004), which
already fires once per entry, and refuses a posting beyond the declared count.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        # SQLite checks an entry when its declared last posting arrives (0004); one more is refused here.
        op.execute(
            """
            CREATE TRIGGER ledger_postings_within_entries BEFORE INSERT ON ledger_postings
            WHEN (SELECT COUNT(*) FROM ledger_postings WHERE entry_key = NEW.entry_key)
                 >= (SELECT posting_count FROM ledger_entries WHERE key = NEW.entry_key)
            BEGIN
                SELECT RAISE(ABORT, 'ledger entry has all its postings: entries are immutable');
            END
            """
        )
        return
    op.execute("DROP TRIGGER ledger_postings_balance ON ledger_postings")
    op.execute(
        """
        CREATE FUNCTION networkcore_check_entry() RETURNS trigger AS $$
        DECLARE unbalanced record;
        DECLARE found_postings integer;
        BEGIN
            SELECT currency, SUM(amount_minor) AS total INTO unbalanced
              FROM ledger_postings WHERE entry_key = NEW.key
             GROUP BY currency HAVING SUM(amount_minor) <> 0 LIMIT 1;
            IF FOUND THEN
                RAISE EXCEPTION 'ledger entry % does not balance in %: %', NEW.key,
                    unbalanced.currency, unbalanced.total USING ERRCODE = 'check_violation';
            END IF;
            SELECT COUNT(*) INTO found_postings FROM ledger_postings WHERE entry_key = NEW.key;
            IF found_postings <> NEW.posting_count THEN
                RAISE EXCEPTION 'ledger entry % declares % postings but has %', NEW.key,
                    NEW.posting_count, found_postings USING ERRCODE = 'check_violation';
            END IF;
            RETURN NULL;
        END;
        $$ LANGUAGE plpgsql
        """
    )
    op.execute(
        "CREATE CONSTRAINT TRIGGER ledger_entries_balance AFTER INSERT ON ledger_entries "
        "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION networkcore_check_entry()"
    )
    op.execute(
        """
        CREATE FUNCTION networkcore_postings_within_entries() RETURNS trigger AS $$
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
    )
    op.execute(
        "CREATE TRIGGER ledger_postings_within_entries AFTER INSERT ON ledger_postings "
        "REFERENCING NEW TABLE AS arrived FOR EACH STATEMENT EXECUTE FUNCTION networkcore_postings_within_entries()"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        op.execute("DROP TRIGGER ledger_postings_within_entries")
        return
    op.execute("DROP TRIGGER ledger_postings_within_entries ON ledger_postings")
    op.execute("DROP FUNCTION networkcore_postings_within_entries()")
    op.execute("DROP TRIGGER ledger_entries_balance ON ledger_entries")
    op.execute("DROP FUNCTION networkcore_check_entry()")
    op.execute(
        "CREATE CONSTRAINT TRIGGER ledger_postings_balance AFTER INSERT ON ledger_postings "
        "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION networkcore_check_entry_balance()"
    )
