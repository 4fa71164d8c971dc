"""The periodic ``ledger check``: the books verified from the database (``persistence.ledger_check``), the
result recorded for ``/metrics`` and logged (OK, or FAILED with the first problems)."""

from __future__ import annotations

import logging
import time

from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity

from activities.clock import utcnow
from messages.ledger_check import LedgerCheck, LedgerCheckResult
from persistence.ledger_check import check_ledger
from persistence.ledger_check_runs import RECORDED_PROBLEMS, record_run

log = logging.getLogger(__name__)


class LedgerCheckActivities:
    def __init__(self, writes: sessionmaker[Session]) -> None:
        self._writes = writes

    @activity.defn
    def check_books(self, run: LedgerCheck) -> LedgerCheckResult:
        started, checked_at = time.perf_counter(), utcnow()
        with self._writes() as db:
            report = check_ledger(db)
        with self._writes.begin() as db:
            record_run(db, report, checked_at=checked_at, duration_s=time.perf_counter() - started)
        if report.ok:
            log.info("ledger check: OK (%d entries, %d settled sessions)", report.entries, report.settled_sessions)
        else:
            problems = report.problems[:RECORDED_PROBLEMS]
            log.error("ledger check: FAILED (%d problems)", len(report.problems), extra={"problems": problems})
        return LedgerCheckResult(ok=report.ok, problems=len(report.problems))
