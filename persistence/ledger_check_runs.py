"""The worker's periodic ``ledger check`` runs: each recorded with its result, the latest read by ``/metrics``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from persistence.ledger_check import LedgerReport
from persistence.tables import LedgerCheckRunRow

RECORDED_PROBLEMS = 50  # a run's first problems are kept with it; `ledger check` lists them all


@dataclass(frozen=True, slots=True)
class LedgerCheckRun:
    ok: bool
    problems: int
    checked_at: datetime
    duration_s: float


def record_run(db: Session, report: LedgerReport, *, checked_at: datetime, duration_s: float) -> LedgerCheckRun:
    db.add(
        LedgerCheckRunRow(
            checked_at=checked_at,
            ok=report.ok,
            problems=len(report.problems),
            first_problems=report.problems[:RECORDED_PROBLEMS],
            entries=report.entries,
            settled_sessions=report.settled_sessions,
            duration_ms=round(duration_s * 1000),
        )
    )
    return LedgerCheckRun(report.ok, len(report.problems), checked_at, duration_s)


def latest_run(db: Session) -> LedgerCheckRun | None:
    row = db.scalars(select(LedgerCheckRunRow).order_by(LedgerCheckRunRow.key.desc()).limit(1)).first()
    if row is None:
        return None
    return LedgerCheckRun(row.ok, row.problems, row.checked_at, row.duration_ms / 1000)
