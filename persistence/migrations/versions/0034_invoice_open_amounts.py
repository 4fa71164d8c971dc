"""invoice open amounts kept by the database, so that the overdue check every authorisation makes reads the
open overdue invoices only, not every invoice the partner was ever sent

``invoice_open_amounts`` holds a row per platform INVOICE once issued with a due date (every one since 0028:
an open item; a session's invoice is inserted issued, a monthly statement is a draft updated to ISSUED
later): its recipient and due date, copied for the partial
index on (recipient, due date, key) of the rows with something open, and its open amount: its total less
the issued credit notes correcting it, the payments applied to it (``bank_allocations``) and what direct
debits collected (``sdd_collections`` SETTLED or CREDITED, ``persistence.direct_debits.COLLECTING``). Issued
invoices are immutable (migrations 0001, 0007), hence a table of its own rather than a column.

Triggers keep it in the transaction of the change, whatever code makes it: an invoice issued adds its row,
computed from the source rows (a credit note may already correct a draft statement); an issued credit note
takes its total (negative) off the invoice it corrects; an allocation inserted, changed or deleted and a collection
entering, leaving or changing within the collecting states move the amount. Bank statement imports COPY
their allocations in bulk: on PostgreSQL one statement trigger per INSERT, UPDATE or DELETE applies the
statement's sums per invoice (transition tables), locking the kept rows in key order first (one lock order
for every writer); collections and invoices change a row at a time and have row triggers. SQLite has only
row triggers. Backfilled from the source rows.

An invoice paid leaves its old row version in the partial index until VACUUM removes it (measured: 100,000
invoices of one partner paid in one transaction made the check visit 100,000 dead entries, 36 ms, until a
vacuum brought it to 0.01 ms). On PostgreSQL autovacuum therefore visits this narrow table after 1 % of its
rows changed (plus 1,000), not the default 20 %, so that the dead entries a partner's check steps over stay
few however large the table grows.

A SQLite table rebuilt by a later migration (invoices, bank_allocations, sdd_collections) loses its
triggers: such a migration must create them again.

Revision ID: 0034
Revises: 0033
"""

from __future__ import annotations

from typing import NamedTuple

import sqlalchemy as sa
from alembic import op

revision = "0034"
down_revision = "0033"
branch_labels = None
depends_on = None

KEY = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
COLLECTING = "('SETTLED', 'CREDITED')"  # persistence.direct_debits.COLLECTING at this revision
OPEN_INDEX = "ix_invoice_open_amounts_recipient_due_date_invoice_key"


def open_minor(invoice: str) -> str:
    """The open amount of ``invoice`` (a row alias, or NEW) computed from the source rows: a credit note's
    totals are negative, so they are added."""
    return (
        f"{invoice}.net_minor + {invoice}.vat_minor"
        " + COALESCE((SELECT SUM(c.net_minor + c.vat_minor) FROM invoices c"
        f" WHERE c.corrects_key = {invoice}.key AND c.kind = 'CREDIT_NOTE' AND c.status = 'ISSUED'), 0)"
        f" - COALESCE((SELECT SUM(a.amount_minor) FROM bank_allocations a WHERE a.invoice_key = {invoice}.key), 0)"
        " - COALESCE((SELECT SUM(d.amount_minor) FROM sdd_collections d"
        f" WHERE d.invoice_key = {invoice}.key AND d.state IN {COLLECTING}), 0)"
    )


def move(sign: str, row: str, condition: str = "") -> str:
    """Add (``+``) or take (``-``) ``row``'s amount to or off the kept open amount of its invoice."""
    return (
        f"UPDATE invoice_open_amounts SET open_minor = open_minor {sign} {row}.amount_minor "
        f"WHERE invoice_key = {row}.invoice_key{condition};"
    )


ISSUED = (
    "INSERT INTO invoice_open_amounts (invoice_key, recipient, due_date, open_minor) "
    f"SELECT NEW.key, NEW.recipient, NEW.due_date, {open_minor('NEW')} "
    "WHERE NEW.issuer = 'platform' AND NEW.kind = 'INVOICE' AND NEW.due_date IS NOT NULL; "
    "UPDATE invoice_open_amounts SET open_minor = open_minor + NEW.net_minor + NEW.vat_minor "
    "WHERE invoice_key = NEW.corrects_key AND NEW.kind = 'CREDIT_NOTE';"
)


class RowTrigger(NamedTuple):
    name: str
    table: str
    event: str
    when: str
    body: str


ALLOCATION_TRIGGERS = (
    RowTrigger("bank_allocations_open_amount_inserted", "bank_allocations", "INSERT", "", move("-", "NEW")),
    RowTrigger(
        "bank_allocations_open_amount_changed",
        "bank_allocations",
        "UPDATE",
        "",
        move("+", "OLD") + " " + move("-", "NEW"),
    ),
    RowTrigger("bank_allocations_open_amount_deleted", "bank_allocations", "DELETE", "", move("+", "OLD")),
)
ROW_TRIGGERS = (
    RowTrigger("invoices_open_amount_issued", "invoices", "INSERT", "NEW.status = 'ISSUED'", ISSUED),
    RowTrigger(
        "invoices_open_amount_issued_later",
        "invoices",
        "UPDATE OF status",
        "OLD.status <> 'ISSUED' AND NEW.status = 'ISSUED'",
        ISSUED,
    ),
    RowTrigger(
        "sdd_collections_open_amount_inserted",
        "sdd_collections",
        "INSERT",
        f"NEW.state IN {COLLECTING}",
        move("-", "NEW"),
    ),
    RowTrigger(
        "sdd_collections_open_amount_changed",
        "sdd_collections",
        "UPDATE OF state, amount_minor, invoice_key",
        f"OLD.state IN {COLLECTING} OR NEW.state IN {COLLECTING}",
        move("+", "OLD", f" AND OLD.state IN {COLLECTING}") + " " + move("-", "NEW", f" AND NEW.state IN {COLLECTING}"),
    ),
    RowTrigger(
        "sdd_collections_open_amount_deleted",
        "sdd_collections",
        "DELETE",
        f"OLD.state IN {COLLECTING}",
        move("+", "OLD"),
    ),
)


def upgrade() -> None:
    op.create_table(
        "invoice_open_amounts",
        sa.Column("invoice_key", KEY, nullable=False),
        sa.Column("recipient", sa.String(length=80), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("open_minor", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("invoice_key", name=op.f("pk_invoice_open_amounts")),
        sa.ForeignKeyConstraint(
            ["invoice_key"], ["invoices.key"], name=op.f("fk_invoice_open_amounts_invoice_key_invoices")
        ),
    )
    op.create_index(
        OPEN_INDEX,
        "invoice_open_amounts",
        ["recipient", "due_date", "invoice_key"],
        sqlite_where=sa.text("open_minor > 0"),
        postgresql_where=sa.text("open_minor > 0"),
    )
    # Triggers first, then the backfill: in the migration's transaction, nothing changes in between.
    if op.get_bind().dialect.name == "postgresql":
        for trigger in ROW_TRIGGERS:
            _postgresql_row_trigger(trigger)
        _postgresql_allocation_triggers()
        op.execute(
            "ALTER TABLE invoice_open_amounts "
            "SET (autovacuum_vacuum_scale_factor = 0.01, autovacuum_vacuum_threshold = 1000)"
        )
    else:
        for trigger in (*ROW_TRIGGERS, *ALLOCATION_TRIGGERS):
            when = f" WHEN {trigger.when}" if trigger.when else ""
            op.execute(
                f"CREATE TRIGGER {trigger.name} AFTER {trigger.event} ON {trigger.table}{when} BEGIN {trigger.body} END"
            )
    op.execute(
        "INSERT INTO invoice_open_amounts (invoice_key, recipient, due_date, open_minor) "
        f"SELECT i.key, i.recipient, i.due_date, {open_minor('i')} FROM invoices i "
        "WHERE i.status = 'ISSUED' AND i.issuer = 'platform' AND i.kind = 'INVOICE' AND i.due_date IS NOT NULL"
    )


def _postgresql_row_trigger(trigger: RowTrigger) -> None:
    op.execute(
        f"""
        CREATE FUNCTION networkcore_{trigger.name}() RETURNS trigger AS $$
        BEGIN
            {trigger.body}
            RETURN NULL;
        END;
        $$ LANGUAGE plpgsql
        """
    )
    when = f" WHEN ({trigger.when})" if trigger.when else ""
    op.execute(
        f"CREATE TRIGGER {trigger.name} AFTER {trigger.event} ON {trigger.table} FOR EACH ROW{when} "
        f"EXECUTE FUNCTION networkcore_{trigger.name}()"
    )


def _postgresql_allocation_triggers() -> None:
    """One statement trigger per event: the statement's allocations summed per invoice, applied at once."""

    def apply(changes: str) -> str:
        return f"""
            PERFORM 1 FROM invoice_open_amounts
              WHERE invoice_key IN (SELECT invoice_key FROM ({changes}) AS changed)
              ORDER BY invoice_key FOR UPDATE;
            UPDATE invoice_open_amounts AS kept SET open_minor = kept.open_minor + changed.change
              FROM (SELECT invoice_key, SUM(change) AS change FROM ({changes}) AS moved GROUP BY invoice_key)
                   AS changed
             WHERE kept.invoice_key = changed.invoice_key;
        """

    arrived = "SELECT invoice_key, -amount_minor AS change FROM arrived"
    gone = "SELECT invoice_key, amount_minor AS change FROM gone"
    op.execute(
        f"""
        CREATE FUNCTION networkcore_keep_open_amounts_of_allocations() RETURNS trigger AS $$
        BEGIN
            IF TG_OP = 'INSERT' THEN
                {apply(arrived)}
            ELSIF TG_OP = 'UPDATE' THEN
                {apply(f"{arrived} UNION ALL {gone}")}
            ELSE
                {apply(gone)}
            END IF;
            RETURN NULL;
        END;
        $$ LANGUAGE plpgsql
        """
    )
    for trigger, referencing in zip(
        ALLOCATION_TRIGGERS,
        ("NEW TABLE AS arrived", "OLD TABLE AS gone NEW TABLE AS arrived", "OLD TABLE AS gone"),
        strict=True,
    ):
        op.execute(
            f"CREATE TRIGGER {trigger.name} AFTER {trigger.event} ON bank_allocations REFERENCING {referencing} "
            "FOR EACH STATEMENT EXECUTE FUNCTION networkcore_keep_open_amounts_of_allocations()"
        )


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for trigger in (*ROW_TRIGGERS, *ALLOCATION_TRIGGERS):
        op.execute(f"DROP TRIGGER {trigger.name}" + (f" ON {trigger.table}" if postgresql else ""))
    if postgresql:
        for trigger in ROW_TRIGGERS:
            op.execute(f"DROP FUNCTION networkcore_{trigger.name}()")
        op.execute("DROP FUNCTION networkcore_keep_open_amounts_of_allocations()")
    op.drop_index(OPEN_INDEX, table_name="invoice_open_amounts")
    op.drop_table("invoice_open_amounts")
