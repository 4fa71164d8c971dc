"""How many sessions stand at each stage (the read model, kept by ``record_stage``), for the metrics: read from
the counts the database keeps as sessions move (migration 0032), a few rows whatever the history."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from persistence.tables import SessionRow, SessionStageCountRow


def sessions_by_stage(db: Session) -> dict[tuple[str, bool], int]:
    """(stage, needs attention) -> number of sessions; combinations without a session are absent."""
    kept = SessionStageCountRow
    rows = db.execute(
        select(kept.stage, kept.needs_attention, func.sum(kept.sessions))
        .group_by(kept.stage, kept.needs_attention)
        .having(func.sum(kept.sessions) != 0)
    ).all()
    return {(stage, bool(attention)): int(count) for stage, attention, count in rows}


def session_count_problems(db: Session) -> list[str]:
    """Where the kept counts differ from the sessions themselves (``ledger check``)."""
    kept, counted = sessions_by_stage(db), _counted(db)
    return [
        f"{stage}{' (needs attention)' if attention else ''}: {kept.get((stage, attention), 0)} sessions "
        f"counted as kept, {counted.get((stage, attention), 0)} in the sessions"
        for stage, attention in sorted(kept.keys() | counted.keys())
        if kept.get((stage, attention)) != counted.get((stage, attention))
    ]


def _counted(db: Session) -> dict[tuple[str, bool], int]:
    rows = db.execute(
        select(SessionRow.stage, SessionRow.needs_attention, func.count()).group_by(
            SessionRow.stage, SessionRow.needs_attention
        )
    ).all()
    return {(stage, bool(attention)): int(count) for stage, attention, count in rows}
