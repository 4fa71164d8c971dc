"""Corrections of a settled session as they are asked for (a credit or re-issued CDR, a dispute decision):
the request made from the session's row, recorded PENDING, and read back while it runs."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from messages.corrections import CorrectionCause, CorrectionRequest, CorrectionState
from persistence.tables import SessionRow, SettlementCorrectionRow


def correction_request(
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
        patched_from_start=True,
    )


def record_pending(db: Session, request: CorrectionRequest, *, dispute_key: int | None, now: datetime) -> None:
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
            requested_at=now,
        )
    )
    db.flush()


def correction_in_progress(db: Session, session_id: str) -> str | None:
    """The workflow id of the session's correction that has not finished, if one has not."""
    return db.scalar(
        select(SettlementCorrectionRow.workflow_id).where(
            SettlementCorrectionRow.session_id == session_id,
            SettlementCorrectionRow.state != CorrectionState.DONE.value,
        )
    )


def correction_of_cdr(db: Session, cdr_key: int) -> CorrectionRequest | None:
    """The correction a credit or re-issued CDR asked for, as it was asked for."""
    row = db.scalar(select(SettlementCorrectionRow).where(SettlementCorrectionRow.cdr_key == cdr_key))
    if row is None:
        return None
    assert row.cdr_key is not None, "every correction names its CDR"
    return correction_request(
        db.get_one(SessionRow, row.session_id),
        CorrectionCause(row.cause),
        cdr_key=row.cdr_key,
        reverses_generation=row.reverses_generation,
        settles_generation=row.settles_generation,
    )


def correction_of_dispute(db: Session, dispute_key: int) -> SettlementCorrectionRow | None:
    """The correction a dispute decision asked for (none when the official price stood)."""
    return db.scalar(select(SettlementCorrectionRow).where(SettlementCorrectionRow.dispute_key == dispute_key))
