"""`networkcore settlement retry` end to end: 100 sessions whose settlement stopped for a missing FX rate,
listed by a dry run, resumed in bulk after the rate is imported, each settled exactly once; and a session
whose clearing failed, reset to its CDR after the fix, settled once. Real Temporal dev server, API,
simulated CPOs and database."""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cli.replay import replay_history
from domain.fx.rates import FxRate
from domain.sessions.lifecycle import SessionStage
from messages.workflow_ids import session_workflow_id
from persistence import fx, ledger
from persistence.ledger_check import check_ledger
from persistence.tables import ClearingRow, InvoiceLineRow, LedgerEntryRow, PayoutItemRow, SessionRow, TariffRow
from services.settlement_retry import (
    NotResettable,
    RetryFilter,
    reset_to_cdr_received,
    retry_settlements,
    stopped_settlements,
)
from tests.e2e.conftest import Stack
from tests.e2e.test_settlement import parked_settlement, partner
from tests.e2e.test_visibility import found
from workflows import search_attributes as sa

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

    # The dry run lists exactly these, by any of the filters ops would use; it changes nothing. The API
    # shows a stop as the workflow sees it; the rows the dry run reads follow when its record activity ran.
    mine = RetryFilter(demand_partner=riyal.id, error_type="FxRateMissing")
    deadline = asyncio.get_running_loop().time() + 180  # 100 parked sessions on a busy machine
    while True:
        with stack.writes() as db:
            stopped = stopped_settlements(db, mine)
        if {s.id for s in stopped} == ids or asyncio.get_running_loop().time() > deadline:
            break
        await asyncio.sleep(0.2)
    with stack.writes() as db:
        assert {s.id for s in stopped} == ids, as_they_are(db, ids - {s.id for s in stopped})
        assert Counter(s.error_type for s in stopped) == {"FxRateMissing": SESSIONS}
        assert Counter(error_types(db, ids)) == {"FxRateMissing": SESSIONS}  # recorded by the parked workflows
        assert stopped_settlements(db, RetryFilter(demand_partner=riyal.id, error_type="VatRateMissing")) == []
        assert stopped_settlements(db, RetryFilter(demand_partner=riyal.id, cpo="cpo-ch-vsw")) == []
        assert len(stopped_settlements(db, RetryFilter(demand_partner=riyal.id, since=created_after))) == SESSIONS
        assert stopped_settlements(db, RetryFilter(demand_partner=riyal.id, until=created_after)) == []
        one = next(iter(ids))
        assert [s.id for s in stopped_settlements(db, RetryFilter(session_id=one))] == [one]

    with stack.writes.begin() as db:
        fx.store_rates(db, [FxRate("EUR", "QAR", Decimal("3.9412"), date(2026, 1, 2), "test: ops import")])
    signalled: list[int] = []
    summary = await retry_settlements(
        stack.temporal, stack.writes, stopped, requested_by="test", wait_s=120, progress=signalled.append
    )

    assert (summary.matched, summary.signalled, summary.settled) == (SESSIONS, SESSIONS, SESSIONS)
    assert (summary.not_settled, summary.not_reached) == ({}, {})
    assert sum(signalled) == SESSIONS
    keys = [f"session-{session_id}:settlement" for session_id in ids]
    with stack.writes() as db:
        assert db.scalar(select(func.count()).where(LedgerEntryRow.idempotency_key.in_(keys))) == SESSIONS
        queued = db.scalar(select(func.count()).where(PayoutItemRow.session_id.in_(ids)))
        assert queued == 2 * SESSIONS  # the CPO's payable and the partner's share, once each
        assert stopped_settlements(db, mine) == []  # nothing left to retry
        assert Counter(error_types(db, ids)) == {None: SESSIONS}  # cleared once settled
        assert check_ledger(db).ok

    # A second operator replaying the same list books nothing: a workflow that has finished is not reached,
    # one still finishing takes the signal and settles nothing again.
    again = await retry_settlements(stack.temporal, stack.writes, stopped, requested_by="test", wait_s=5)
    assert again.signalled + len(again.not_reached) == SESSIONS
    assert again.not_settled == {}
    with stack.writes() as db:
        assert db.scalar(select(func.count()).where(LedgerEntryRow.idempotency_key.in_(keys))) == SESSIONS
        assert check_ledger(db).ok


def as_they_are(db: Session, session_ids: set[str]) -> list[tuple[str, str, bool, str | None, str | None]]:
    """Stage, attention, ErrorType and reason of sessions the dry run missed: what a failure has to show."""
    rows = db.execute(
        select(
            SessionRow.id, SessionRow.stage, SessionRow.needs_attention, SessionRow.error_type, SessionRow.reason
        ).where(SessionRow.id.in_(session_ids))
    )
    return [row.tuple() for row in rows]


def error_types(db: Session, session_ids: set[str]) -> list[str | None]:
    return list(db.scalars(select(SessionRow.error_type).where(SessionRow.id.in_(session_ids))))


async def networkcore(stack: Stack, database_url: str, *args: str) -> tuple[int, str]:
    """`networkcore` in its own process, against this test's database and Temporal; its exit code and output.
    (Asynchronously: the worker serving the sessions runs in this test's event loop.)"""
    target = stack.temporal.service_client.config.target_host
    done = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "cli.main",
        *args,
        env={**os.environ, "DATABASE_URL": database_url, "NETWORKCORE_TEMPORAL_ADDRESS": target},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(done.communicate(), timeout=120)
    assert done.returncode is not None
    return done.returncode, output.decode()


# A session fee of 50.00 EUR published in cents: every session rates above 5,000 EUR, past the maximum claim.
PRICED_IN_CENTS = [{"price_components": [{"type": "FLAT", "price": 5000, "step_size": 1}]}]


def break_tariff(stack: Stack, session_id: str, elements: list[Any] | None = None) -> tuple[int, str]:
    """The tariff version the session is rated against turns out unrateable (as if stored broken: the OCPI
    intake refuses such a tariff), or priced with ``elements``: a version of its own, so no other session is
    rated against it. Returns its key and the body that repairs it."""
    with stack.writes.begin() as db:
        session = db.get_one(SessionRow, session_id)
        assert session.tariff_version_key is not None
        tariff = db.get_one(TariffRow, session.tariff_version_key)
        broken = TariffRow(
            cpo_id=tariff.cpo_id,
            tariff_id=f"BROKEN-{session_id[:8]}",
            currency=tariff.currency,
            last_updated=tariff.last_updated,
            body=json.dumps({**json.loads(tariff.body), "elements": elements or []}),
        )
        db.add(broken)
        db.flush()
        session.tariff_version_key = broken.key
        return broken.key, tariff.body


@pytest.mark.parametrize(
    ("elements", "error_type", "reason"),
    [
        ([], "TariffInvalid", r"tariff\.elements: must be a non-empty list"),
        (
            PRICED_IN_CENTS,
            "PriceImplausible",
            r"the session rates at [0-9.]+ EUR excl\. VAT, above the contract's maximum claim of 1000\.00 EUR: "
            r"check the tariff",
        ),
    ],
    ids=["unrateable", "priced-in-cents"],
)
async def test_a_failed_clearing_is_reset_to_its_cdr_after_the_fix_and_settles_once(
    stack: Stack, database_url: str, elements: list[Any], error_type: str, reason: str
) -> None:
    who = partner(stack, "EUR")
    session_id = await stack.start("DE*STN*E3001", "sim-until-stop-reset", api_key=who.api_key)
    await stack.wait_for(session_id, SessionStage.CHARGING, api_key=who.api_key)
    broken_key, good_body = break_tariff(stack, session_id, elements)
    stop = await stack.http.post(f"/v1/sessions/{session_id}/stop", headers=stack.headers(who.api_key))
    assert stop.status_code == 202, stop.text

    failed = await stack.result(session_id)
    assert failed.stage == SessionStage.CDR_RECEIVED
    assert failed.reason is not None
    assert re.fullmatch(f"clearing failed \\({error_type}\\): {reason}", failed.reason), failed.reason
    first_run = (await stack.handle(session_id).describe()).run_id
    this_session = f" AND WorkflowId = '{session_workflow_id(session_id)}'"
    await found(stack, f"ErrorType = '{error_type}'" + this_session, expected=[session_workflow_id(session_id)])
    key = f"session-{session_id}:settlement"
    with stack.writes() as db:
        assert ledger.entry_postings(db, key) is None
        [stopped] = stopped_settlements(db, RetryFilter(session_id=session_id))
        assert (stopped.stage, stopped.error_type) == (SessionStage.CDR_RECEIVED, error_type)
        assert error_types(db, {session_id}) == [error_type]
        assert stopped_settlements(db, RetryFilter(session_id=session_id, stage=SessionStage.CLEARED)) == []
        assert stopped_settlements(db, RetryFilter(session_id=session_id, error_type="FxRateMissing")) == []

    code, output = await networkcore(stack, database_url, "settlement", "retry", "--session", session_id, "--dry-run")
    assert code == 0, output
    assert f"{session_id}" in output
    assert f"{error_type}  would reset to CDR received" in output
    assert (await stack.handle(session_id).describe()).run_id == first_run  # a dry run changes nothing

    with stack.writes.begin() as db:
        db.get_one(TariffRow, broken_key).body = good_body  # ops repair the tariff version
    code, output = await networkcore(stack, database_url, "settlement", "retry", "--session", session_id)
    assert code == 0, output
    assert "matched 1, resumed 0, reset to CDR received 1, settled 1," in output

    settled = await stack.wait_for(session_id, SessionStage.SETTLED, api_key=who.api_key)
    assert (settled["needs_attention"], settled["reason"]) == (False, None)
    assert settled["billing"]["invoice"].startswith("NC-")
    handle = stack.handle(session_id)
    latest = await handle.describe()
    assert latest.run_id != first_run
    assert latest.typed_search_attributes.get(sa.SESSION_STAGE) == "SETTLED"
    assert latest.typed_search_attributes.get(sa.ERROR_TYPE) is None
    two_runs = [session_workflow_id(session_id)] * 2  # the failed one and the reset one
    await found(stack, "WorkflowType = 'ChargingSessionWorkflow'" + this_session, expected=two_runs)
    with stack.writes() as db:
        assert db.scalar(select(func.count()).where(LedgerEntryRow.idempotency_key == key)) == 1
        assert db.scalar(select(func.count()).where(ClearingRow.session_id == session_id)) == 1
        assert db.scalar(select(func.count()).where(InvoiceLineRow.session_id == session_id)) == 3  # NC, SB and RS
        assert stopped_settlements(db, RetryFilter(session_id=session_id)) == []
        assert error_types(db, {session_id}) == [None]
        assert check_ledger(db).ok
    # Asked again (by an operator who listed it before the reset), the session is left alone.
    with pytest.raises(NotResettable, match="latest run is COMPLETED in SETTLED"):
        await reset_to_cdr_received(stack.temporal, session_id, requested_by="test")
    assert (await handle.describe()).run_id == latest.run_id
    # Both runs (the failed one with its ErrorType) replay against this code.
    failed_history = await stack.temporal.get_workflow_handle(handle.id, run_id=first_run).fetch_history()
    for history in (failed_history, await handle.fetch_history()):
        report = await replay_history(history)
        assert report.failure is None, report.describe(with_history=True)
