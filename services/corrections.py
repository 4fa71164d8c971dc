"""Corrections of a settled session, as credit and re-issued CDRs and dispute decisions ask for them:
whether the session may be corrected now (``check_correction``), and the correction recorded PENDING in
the caller's transaction, then started (``services.workflow_starts.start_correction``) once committed,
once per correction whoever asks again."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from domain.sessions.lifecycle import SessionStage
from domain.settlement.corrections import CorrectionBlock, correction_block
from messages.corrections import CorrectionCause, CorrectionRequest
from persistence import repositories as repo
from persistence.correction_requests import correction_in_progress, correction_request, record_pending
from persistence.tables import ClearingRow, SessionRow


def request_correction(
    db: Session,
    session: SessionRow,
    cause: CorrectionCause,
    *,
    cdr_key: int,
    reverses_generation: int | None = None,
    settles_generation: int | None = None,
    dispute_key: int | None = None,
) -> CorrectionRequest:
    """Record the correction (PENDING); the caller starts its workflow after the commit."""
    request = correction_request(
        session,
        cause,
        cdr_key=cdr_key,
        reverses_generation=reverses_generation,
        settles_generation=settles_generation,
    )
    record_pending(db, request, dispute_key=dispute_key, now=datetime.now(UTC))
    return request


@dataclass(frozen=True, slots=True)
class CorrectionCheck:
    """Whether the session may be corrected now (``domain.settlement.corrections``), with what was looked at."""

    block: CorrectionBlock | None
    clearing: ClearingRow | None  # of the settlement in force
    running: str | None  # the workflow id of a correction not finished


def check_correction(db: Session, session: SessionRow) -> CorrectionCheck:
    clearing = repo.clearing_of(db, session.id, session.settlement_generation)
    running = correction_in_progress(db, session.id)
    block = correction_block(
        SessionStage(session.stage),
        credited=session.credited,
        clearing_in_force=clearing is not None,
        correction_in_progress=running is not None,
    )
    return CorrectionCheck(block, clearing, running)
