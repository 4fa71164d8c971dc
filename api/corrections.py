"""Corrections of a settled session, as the API asks for them (a credit or re-issued CDR, a dispute
decision): recorded PENDING in the caller's transaction, then their workflow started, once per correction
whoever asks again."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from messages.corrections import CorrectionCause, CorrectionRequest, CorrectionState
from persistence.tables import SessionRow, SettlementCorrectionRow


def new_correction(
    session: SessionRow,
    cause: CorrectionCause,
    *,
    cdr_key: int,
    reverses_generation: int | None = None,
    settles_generation: int | None = None,
) -> CorrectionRequest:
    assert session.cpo_id is not None, "a settled session knows its CPO"
    assert session.country is not None, "and its charger's country"
    return CorrectionRequest(
        session_id=session.id,
        demand_partner_id=session.demand_partner_id,
        cpo_id=session.cpo_id,
        country=session.country,
        cause=cause,
        reverses_generation=reverses_generation,
        settles_generation=settles_generation,
        cdr_key=cdr_key,
    )


def correction_request(session: SessionRow, row: SettlementCorrectionRow) -> CorrectionRequest:
    assert row.cdr_key is not None, "every correction names its CDR"
    return new_correction(
        session,
        CorrectionCause(row.cause),
        reverses_generation=row.reverses_generation,
        settles_generation=row.settles_generation,
        cdr_key=row.cdr_key,
    )


def correction_in_progress(db: Session, session_id: str) -> SettlementCorrectionRow | None:
    return db.scalar(
        select(SettlementCorrectionRow).where(
            SettlementCorrectionRow.session_id == session_id,
            SettlementCorrectionRow.state != CorrectionState.DONE.value,
        )
    )


def request_correction(db: Session, request: CorrectionRequest, *, dispute_key: int | None = None) -> CorrectionRequest:
    """Record the correction (PENDING) in the caller's transaction; the caller starts its workflow."""
    db.add(
        SettlementCorrectionRow(
            workflow_id=request.workflow_id,
            session_id=request.session_id,
            cause=request.cause.value,
            reverses_generation=request.reverses_generation,
            settles_generation=request.settles_generation,
            cdr_key=request.cdr_key,
            dispute_key=dispute_key,
            state=CorrectionState.PENDING.value,
            requested_at=datetime.now(UTC),
        )
    )
    db.flush()
    return request
