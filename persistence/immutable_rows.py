"""For migrations: rows that are evidence or money (CDRs, OCPI messages, ledger entries, holds, issued
invoices) are refused UPDATE and DELETE by the database itself, on PostgreSQL and on SQLite."""

from __future__ import annotations

from alembic import op


def forbid_changes(
    tables: tuple[str, ...], *, when: str | None = None, actions: tuple[str, ...] = ("UPDATE", "DELETE")
) -> None:
    """Refuse ``actions`` on ``tables``; with ``when`` (a condition on ``OLD``), only on rows it holds."""
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute(
            """
            CREATE OR REPLACE FUNCTION networkcore_forbid_change() RETURNS trigger AS $$
            BEGIN
                RAISE EXCEPTION '% rows are immutable', TG_TABLE_NAME
                    USING ERRCODE = 'integrity_constraint_violation';
            END;
            $$ LANGUAGE plpgsql
            """
        )
    for table in tables:
        for action in actions:
            name = f"{table}_no_{action.lower()}"
            if dialect == "postgresql":
                condition = f"WHEN ({when}) " if when else ""
                op.execute(
                    f"CREATE TRIGGER {name} BEFORE {action} ON {table} "
                    f"FOR EACH ROW {condition}EXECUTE FUNCTION networkcore_forbid_change()"
                )
            else:
                condition = f"WHEN {when} " if when else ""
                op.execute(
                    f"CREATE TRIGGER {name} BEFORE {action} ON {table} {condition}"
                    f"BEGIN SELECT RAISE(ABORT, '{table} rows are immutable'); END"
                )


def allow_changes(tables: tuple[str, ...]) -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for table in tables:
        for action in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{action}" + (f" ON {table}" if postgresql else ""))
