"""session stage counts kept by the database, so that the sessions-by-stage metric reads a few rows, not every
session ever settled

``session_stage_counts`` holds the number of sessions per (stage, needs attention). Row triggers on
``sessions`` keep it in the transaction that inserts, moves or deletes a session: a session moved from one
pair to another takes one from the old pair and adds one to the new, both in one statement in key order (one
lock order for every writer). On PostgreSQL a pair is spread over ``SHARDS`` rows, one per transaction id
modulo ``SHARDS``, so that sessions changing stage at once lock different rows (as ``ledger_account_totals``
does for hot accounts); SQLite has one writer at a time and keeps shard 0 only. A count is the sum of its
pair's rows. Backfilled from the sessions.

A SQLite table rebuilt by a later migration loses its triggers: such a migration must create them again.

Revision ID: 0032
Revises: 0031
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0032"
down_revision = "0031"
branch_labels = None
depends_on = None

SHARDS = 16
TRIGGERS = ("sessions_count_inserted", "sessions_count_moved", "sessions_count_deleted")
MOVED = "OLD.stage IS NOT NEW.stage OR OLD.needs_attention IS NOT NEW.needs_attention"


def upgrade() -> None:
    op.create_table(
        "session_stage_counts",
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.Column("needs_attention", sa.Boolean(), nullable=False),
        sa.Column("shard", sa.SmallInteger(), nullable=False),
        sa.Column("sessions", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("stage", "needs_attention", "shard", name=op.f("pk_session_stage_counts")),
    )
    # Triggers first, then the backfill: in the migration's transaction, no session changes in between.
    if op.get_bind().dialect.name == "postgresql":
        _postgresql_triggers()
    else:
        _sqlite_triggers()
    op.execute(
        "INSERT INTO session_stage_counts (stage, needs_attention, shard, sessions) "
        "SELECT stage, needs_attention, 0, count(*) FROM sessions GROUP BY stage, needs_attention"
    )


def _postgresql_triggers() -> None:
    shard = f"(pg_current_xact_id()::text::bigint % {SHARDS})::smallint"
    upsert = "ON CONFLICT (stage, needs_attention, shard) DO UPDATE SET sessions = kept.sessions + EXCLUDED.sessions"
    into = "INSERT INTO session_stage_counts AS kept (stage, needs_attention, shard, sessions)"
    op.execute(
        f"""
        CREATE FUNCTION networkcore_count_session_stages() RETURNS trigger AS $$
        BEGIN
            IF TG_OP = 'UPDATE' THEN
                {into}
                SELECT stage, needs_attention, {shard}, change
                  FROM (VALUES (OLD.stage, OLD.needs_attention, -1), (NEW.stage, NEW.needs_attention, 1))
                       AS moved (stage, needs_attention, change)
                 ORDER BY stage, needs_attention
                {upsert};
            ELSIF TG_OP = 'INSERT' THEN
                {into} VALUES (NEW.stage, NEW.needs_attention, {shard}, 1) {upsert};
            ELSE
                {into} VALUES (OLD.stage, OLD.needs_attention, {shard}, -1) {upsert};
            END IF;
            RETURN NULL;
        END;
        $$ LANGUAGE plpgsql
        """
    )
    for trigger, event in zip(TRIGGERS, ("INSERT", "UPDATE OF stage, needs_attention", "DELETE"), strict=True):
        when = f" WHEN ({MOVED.replace(' IS NOT ', ' IS DISTINCT FROM ')})" if event.startswith("UPDATE") else ""
        op.execute(
            f"CREATE TRIGGER {trigger} AFTER {event} ON sessions FOR EACH ROW{when} "
            "EXECUTE FUNCTION networkcore_count_session_stages()"
        )


def _sqlite_triggers() -> None:
    def count(prefix: str, change: int) -> str:
        # ``WHERE true``: SQLite needs it to tell the upsert's ON CONFLICT from a join's ON.
        return (
            "INSERT INTO session_stage_counts (stage, needs_attention, shard, sessions) "
            f"SELECT {prefix}.stage, {prefix}.needs_attention, 0, {change} WHERE true "
            "ON CONFLICT (stage, needs_attention, shard) DO UPDATE SET sessions = sessions + excluded.sessions;"
        )

    op.execute(f"CREATE TRIGGER {TRIGGERS[0]} AFTER INSERT ON sessions BEGIN {count('NEW', 1)} END")
    op.execute(
        f"CREATE TRIGGER {TRIGGERS[1]} AFTER UPDATE OF stage, needs_attention ON sessions WHEN {MOVED} "
        f"BEGIN {count('OLD', -1)} {count('NEW', 1)} END"
    )
    op.execute(f"CREATE TRIGGER {TRIGGERS[2]} AFTER DELETE ON sessions BEGIN {count('OLD', -1)} END")


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for trigger in TRIGGERS:
        op.execute(f"DROP TRIGGER {trigger}" + (" ON sessions" if postgresql else ""))
    if postgresql:
        op.execute("DROP FUNCTION networkcore_count_session_stages()")
    op.drop_table("session_stage_counts")
