"""What ``networkcore bench`` reads of its sessions straight from the database, so that waiting for them costs
the API (and Temporal) nothing: their stages, and how long each settled one took from its CDR's receipt."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from persistence.tables import CdrRow, SessionRow


def stages(db: Session, session_ids: Sequence[str]) -> dict[str, str]:
    rows = db.execute(select(SessionRow.id, SessionRow.stage).where(SessionRow.id.in_(session_ids))).tuples()
    return {session_id: stage for session_id, stage in rows}


def cdr_to_settled_ms(db: Session, session_ids: Sequence[str]) -> list[float]:
    """For each settled session: its CDR's receipt to the session's last change (its settlement)."""
    rows = db.execute(
        select(CdrRow.received_at, SessionRow.updated_at)
        .join(SessionRow, SessionRow.id == CdrRow.our_session_id)
        .where(SessionRow.id.in_(session_ids), SessionRow.stage == "SETTLED")
    ).tuples()
    return [(settled - received).total_seconds() * 1000 for received, settled in rows]
