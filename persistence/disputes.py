"""Price disputes: the decisions taken on discrepancies flagged at clearing, and what is still open."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.sessions.lifecycle import SessionStage
from persistence.tables import ClearingRow, DisputeRow, SessionRow, SupersededDecisionRow


@dataclass(frozen=True, slots=True)
class DisputeRecord:
    """A decision, as recorded (amounts excluding VAT, in the tariff's currency)."""

    session_id: str
    generation: int  # the settlement disputed
    decision: str
    currency: str
    official_excl_vat: Decimal
    claimed_excl_vat: Decimal
    agreed_excl_vat: Decimal
    note: str | None
    decided_by: str
    decided_at: datetime


@dataclass(frozen=True, slots=True)
class OpenDispute:
    session_id: str
    cpo_id: str | None
    generation: int  # the settlement in force, flagged at its clearing
    currency: str
    official_excl_vat: Decimal
    claimed_excl_vat: Decimal
    clearing_note: str


def dispute_record(row: DisputeRow) -> DisputeRecord:
    return DisputeRecord(
        session_id=row.session_id,
        generation=row.generation,
        decision=row.decision,
        currency=row.currency,
        official_excl_vat=row.official_excl_vat,
        claimed_excl_vat=row.claimed_excl_vat,
        agreed_excl_vat=row.agreed_excl_vat,
        note=row.note,
        decided_by=row.decided_by,
        decided_at=row.decided_at,
    )


def latest_dispute(db: Session, session_id: str) -> DisputeRow | None:
    return db.scalar(
        select(DisputeRow).where(DisputeRow.session_id == session_id).order_by(DisputeRow.generation.desc()).limit(1)
    )


def open_disputes(db: Session) -> list[OpenDispute]:
    """Settled sessions whose settlement in force was flagged at clearing and not decided yet."""
    rows = db.execute(
        select(SessionRow, ClearingRow)
        .join(
            ClearingRow,
            (ClearingRow.session_id == SessionRow.id) & (ClearingRow.generation == SessionRow.settlement_generation),
        )
        .outerjoin(
            DisputeRow, (DisputeRow.session_id == SessionRow.id) & (DisputeRow.generation == ClearingRow.generation)
        )
        .where(
            SessionRow.stage == SessionStage.SETTLED.value,
            SessionRow.credited.is_(False),
            ClearingRow.discrepancy.is_(True),
            DisputeRow.key.is_(None),
        )
        .order_by(SessionRow.created_at)
    ).all()
    return [
        OpenDispute(
            session_id=session.id,
            cpo_id=session.cpo_id,
            generation=clearing.generation,
            currency=clearing.currency,
            official_excl_vat=clearing.total_excl_vat,
            claimed_excl_vat=clearing.claimed_excl_vat,
            clearing_note=str(clearing.report.get("note", "")),
        )
        for session, clearing in rows
    ]


def decisions(db: Session, *, limit: int) -> list[DisputeRecord]:
    """The latest decisions first."""
    rows = db.scalars(select(DisputeRow).order_by(DisputeRow.decided_at.desc()).limit(limit))
    return [dispute_record(row) for row in rows]


def keep_superseded(db: Session, dispute: DisputeRow, *, by: str, at: datetime) -> None:
    """Keep the decision in force before ``by`` replaces it in ``dispute``."""
    db.add(
        SupersededDecisionRow(
            dispute_key=dispute.key,
            decision=dispute.decision,
            agreed_excl_vat=dispute.agreed_excl_vat,
            note=dispute.note,
            decided_by=dispute.decided_by,
            decided_at=dispute.decided_at,
            superseded_by=by,
            superseded_at=at,
        )
    )
