"""A local activity's attempt that outlives its timeout: the workflow retried it and went on, and the first
attempt writes last. Here the CDR-overdue record's first attempt waits (as for a thread, a connection or a lock
on a loaded machine) until the session's settlement has stopped; its late write must not file the stop under
CdrOverdue, where `settlement retry` would never find it. Real Temporal dev server, worker, API, simulated CPO
and database."""

from __future__ import annotations

import asyncio
import threading
from datetime import date
from decimal import Decimal

import pytest
from temporalio import activity

import workers.main
from activities.sessions import SessionActivities
from domain.fx.rates import FxRate
from domain.sessions.lifecycle import SessionStage
from messages.sessions import StageOutcome
from persistence import fx
from persistence.ledger_check import check_ledger
from persistence.tables import SessionRow
from services.settlement_retry import RetryFilter, retry_settlements, stopped_settlements
from tests.e2e.conftest import Stack
from tests.e2e.test_ocpi_intake import cdr_for, post_cdr
from tests.e2e.test_settlement import parked_settlement, partner
from workflows.policies import DATABASE_STEP_TIMEOUT
from workflows.sessions import CDR_OVERDUE

pytestmark = pytest.mark.asyncio(loop_scope="session")

# Past the local activity's timeout, the retry has written and the workflow has gone on.
FIRST_ATTEMPT_WAITS_S = 120
may_write = threading.Event()
wrote_late = threading.Event()


class FirstOverdueRecordLate(SessionActivities):
    """The real activities, but the CDR-overdue record's first attempt writes only when the test lets it, as if
    its commit had stalled: the SDK's cancellation of the timed-out attempt (an exception raised in its thread)
    cannot stop a thread inside a database call, and comes once the commit is done."""

    @activity.defn(name="record_stage")
    def record_stage(self, outcome: StageOutcome) -> None:
        if outcome.error_type != CDR_OVERDUE or activity.info().attempt > 1:
            super().record_stage(outcome)
            return
        with activity.shield_thread_cancel_exception():
            assert may_write.wait(FIRST_ATTEMPT_WAITS_S)
            super().record_stage(outcome)
            wrote_late.set()


def row_of(stack: Stack, session_id: str) -> tuple[str, bool, str | None]:
    with stack.writes() as db:
        row = db.get_one(SessionRow, session_id)
        return row.stage, row.needs_attention, row.error_type


async def test_a_late_attempt_of_the_overdue_record_leaves_the_stopped_settlement_listed_for_retry(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    naira = partner(stack, "NGN")  # no EUR/NGN rate until this test imports one: the settlement stops
    may_write.clear()
    wrote_late.clear()
    await stack.stop_worker()
    monkeypatch.setattr(workers.main, "SessionActivities", FirstOverdueRecordLate)
    await stack.start_worker()
    try:
        session_id = await stack.start("DE*STN*E3001", "sim-no-cdr-late-record", api_key=naira.api_key)
        # The first attempt waits; after the local activity's timeout the second one records the CDR overdue.
        deadline = asyncio.get_running_loop().time() + DATABASE_STEP_TIMEOUT.total_seconds() + 30
        while row_of(stack, session_id) != ("AWAITING_CDR", True, CDR_OVERDUE):
            assert asyncio.get_running_loop().time() < deadline, row_of(stack, session_id)
            await asyncio.sleep(0.2)
        assert not wrote_late.is_set()

        reply = await post_cdr(stack, cdr_for(await stack.get(session_id, naira.api_key)))
        assert reply.status_code == 201, reply.text
        await parked_settlement(stack, session_id, naira)
        stops = RetryFilter(session_id=session_id, error_type="FxRateMissing")
        with stack.writes() as db:
            assert [s.id for s in stopped_settlements(db, stops)] == [session_id]

        may_write.set()
        assert await asyncio.to_thread(wrote_late.wait, 30)
        assert row_of(stack, session_id) == ("CLEARED", True, "FxRateMissing")
        with stack.writes() as db:
            [stopped] = stopped_settlements(db, stops)
        assert stopped.reason.startswith("settlement stopped (FxRateMissing)")

        # Nothing lost: the stop is retried as any other, and the session settles once.
        with stack.writes.begin() as db:
            fx.store_rates(db, [FxRate("EUR", "NGN", Decimal("1650.25"), date(2026, 1, 2), "test: ops import")])
        summary = await retry_settlements(stack.temporal, stack.writes, [stopped], requested_by="test", wait_s=30)
        assert (summary.signalled, summary.settled) == (1, 1)
        assert (await stack.handle(session_id).result()).stage == SessionStage.SETTLED
        assert row_of(stack, session_id) == ("SETTLED", False, None)
        with stack.writes() as db:
            assert check_ledger(db).ok
    finally:
        may_write.set()
        await stack.stop_worker()
        monkeypatch.undo()
        await stack.start_worker()
