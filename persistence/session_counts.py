"""How many sessions stand at each stage (the read model, kept by ``record_stage``), for the metrics."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from persistence.tables import SessionRow


def sessions_by_stage(db: Session) -> dict[tuple[str, bool], int]:
    """(stage, needs attention) -> number of sessions; combinations without a session are absent."""
    rows = db.execute(
        select(SessionRow.stage, SessionRow.needs_attention, func.count()).group_by(
            SessionRow.stage, SessionRow.needs_attention
        )
    ).all()
    return {(stage, bool(attention)): int(count) for stage, attention, count in rows}
