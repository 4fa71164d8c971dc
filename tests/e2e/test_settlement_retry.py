"""`networkcore settlement retry` end to end: 100 sessions whose settlement stopped for a missing FX rate,
listed by a dry run, resumed in bulk after the rate is imported, each settled exactly once. Real Temporal
dev server, API, simulated CPOs and database."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from cli.settlement import RetryFilter, retry_settlements, stopped_settlements
from domain.fx.rates import FxRate
from persistence import fx
from persistence.ledger_check import check_ledger
from persistence.tables import LedgerEntryRow, PayoutItemRow
from tests.e2e.conftest import Stack
from tests.e2e.test_settlement import parked_settlement, partner

pytestmark = pytest.mark.asyncio(loop_scope="session")

SESSIONS = 100


async def test_a_bulk_retry_after_the_rate_is_imported_settles_each_stopped_session_once(stack: Stack) -> None:
    riyal = partner(stack, "QAR", limit="100000.00")  # no EUR/QAR rate: the ECB publishes none, no test stores one
    gate = asyncio.Semaphore(20)

    async def stopped_session(index: int) -> str:
        async with gate:
            session_id = await stack.start("DE*STN*E3001", f"driver-qar-{index}", api_key=riyal.api_key)
            await parked_settlement(stack, session_id, riyal)
            return session_id

    created_after = datetime.now(UTC) - timedelta(seconds=1)
    ids = set(await asyncio.gather(*(stopped_session(i) for i in range(SESSIONS))))

    # The dry run lists exactly these, by any of the filters ops would use; it changes nothing.
    mine = RetryFilter(demand_partner=riyal.id, error_type="FxRateMissing")
    with stack.sessions() as db:
        stopped = stopped_settlements(db, mine)
        assert {s.id for s in stopped} == ids
        assert Counter(s.error_type for s in stopped) == {"FxRateMissing": SESSIONS}
        assert stopped_settlements(db, RetryFilter(demand_partner=riyal.id, error_type="VatRateMissing")) == []
        assert stopped_settlements(db, RetryFilter(demand_partner=riyal.id, cpo="cpo-ch-voltaswiss")) == []
        assert len(stopped_settlements(db, RetryFilter(demand_partner=riyal.id, since=created_after))) == SESSIONS
        assert stopped_settlements(db, RetryFilter(demand_partner=riyal.id, until=created_after)) == []
        one = next(iter(ids))
        assert [s.id for s in stopped_settlements(db, RetryFilter(session_id=one))] == [one]

    with stack.sessions.begin() as db:
        fx.store_rates(db, [FxRate("EUR", "QAR", Decimal("3.9412"), date(2026, 1, 2), "test: ops import")])
    signalled: list[int] = []
    summary = await retry_settlements(
        stack.temporal, stack.sessions, stopped, requested_by="test", wait_s=120, progress=signalled.append
    )

    assert (summary.matched, summary.signalled, summary.settled) == (SESSIONS, SESSIONS, SESSIONS)
    assert (summary.not_settled, summary.not_reached) == ({}, {})
    assert sum(signalled) == SESSIONS
    keys = [f"session-{session_id}:settlement" for session_id in ids]
    with stack.sessions() as db:
        assert db.scalar(select(func.count()).where(LedgerEntryRow.idempotency_key.in_(keys))) == SESSIONS
        queued = db.scalar(select(func.count()).where(PayoutItemRow.session_id.in_(ids)))
        assert queued == 2 * SESSIONS  # the CPO's payable and the partner's share, once each
        assert stopped_settlements(db, mine) == []  # nothing left to retry
        assert check_ledger(db).ok

    # A second operator replaying the same list books nothing: a workflow that has finished is not reached,
    # one still finishing takes the signal and settles nothing again.
    again = await retry_settlements(stack.temporal, stack.sessions, stopped, requested_by="test", wait_s=5)
    assert again.signalled + len(again.not_reached) == SESSIONS
    assert again.not_settled == {}
    with stack.sessions() as db:
        assert db.scalar(select(func.count()).where(LedgerEntryRow.idempotency_key.in_(keys))) == SESSIONS
        assert check_ledger(db).ok
