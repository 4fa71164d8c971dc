"""Ops find sessions and payout workflows in the Temporal UI: the README's saved queries run against a real
dev server, ErrorType is set when a workflow stops and unset when it recovers, and payout workflows read
at a glance. Real Temporal dev server, API, simulated CPOs and bank, and database."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from temporalio.api.sdk.v1 import WorkflowMetadata
from temporalio.client import WorkflowHandle

from activities.payouts import start_payout_workflows
from cli.replay import replay_history
from domain.fx.rates import FxRate
from domain.payouts.batches import Payee
from domain.sessions.lifecycle import SessionStage
from messages.workflow_ids import payout_workflow_id, session_workflow_id
from persistence import fx
from persistence.ledger_check import check_ledger
from services.settlement_retry import RetryFilter, retry_settlements, stopped_settlements
from tests.e2e.conftest import Stack
from tests.e2e.test_ocpi_intake import cdr_for, post_cdr
from tests.e2e.test_payouts import POLL_SECONDS, batches, payee_partner, release
from tests.e2e.test_settlement import parked_settlement, partner, settle
from workflows import search_attributes as sa

pytestmark = pytest.mark.asyncio(loop_scope="session")

README = Path(__file__).parents[2] / "README.md"
# The README's example time for "a day ago": tests put in a time that their fresh sessions are before.
EXAMPLE_TIME = re.compile(r"'\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ'")


def saved_queries() -> list[str]:
    section = README.read_text().partition("### Finding things in the Temporal UI")[2].partition("\n## ")[0]
    return re.findall(r"^\* `([^`]+)`", section, flags=re.MULTILINE)


def saved(beginning: str) -> str:
    [query] = [q for q in saved_queries() if q.startswith(beginning)]
    return query


SESSIONS_NEEDING_ATTENTION = saved("WorkflowType = 'ChargingSessionWorkflow' AND NeedsAttention = true")
WAITING_FOR_A_CDR = saved("WorkflowType = 'ChargingSessionWorkflow' AND SessionStage = 'AWAITING_CDR'")
MISSING_FX_RATE = saved("ErrorType = 'FxRateMissing'")
REJECTED_PAYOUTS = saved("WorkflowType = 'PayoutWorkflow' AND ErrorType = 'PayoutRejected'")


async def found(stack: Stack, query: str, *, expected: list[str], timeout_s: float = 20) -> None:
    """Wait until ``query`` lists exactly ``expected``, one id per run (visibility is eventually consistent)."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        ids = sorted([w.id async for w in stack.temporal.list_workflows(query)])
        if ids == sorted(expected):
            return
        assert asyncio.get_running_loop().time() < deadline, f"{query} lists {ids}, not {expected}"
        await asyncio.sleep(0.2)


async def error_type(handle: WorkflowHandle[Any, Any]) -> str | None:
    return (await handle.describe()).typed_search_attributes.get(sa.ERROR_TYPE)


async def test_every_saved_query_in_the_readme_runs(stack: Stack) -> None:
    queries = saved_queries()
    assert len(queries) >= 10
    for query in queries:
        await stack.temporal.count_workflows(query)  # a query Temporal cannot parse raises here


async def test_a_session_stopped_by_a_missing_rate_is_found_by_its_error_type_until_it_settles(stack: Stack) -> None:
    pound = partner(stack, "EGP")  # the ECB publishes no EUR/EGP rate and no other test stores one
    session_id = await stack.start("DE*STN*E3001", "driver-egp", api_key=pound.api_key)
    await parked_settlement(stack, session_id, pound)
    mine = f" AND DemandPartner = '{pound.id}'"
    await found(stack, MISSING_FX_RATE + mine, expected=[session_workflow_id(session_id)])
    await found(stack, SESSIONS_NEEDING_ATTENTION + mine, expected=[session_workflow_id(session_id)])
    attributes = (await stack.handle(session_id).describe()).typed_search_attributes
    assert (attributes.get(sa.SESSION_STAGE), attributes.get(sa.NEEDS_ATTENTION)) == ("CLEARED", True)

    with stack.writes.begin() as db:
        fx.store_rates(db, [FxRate("EUR", "EGP", Decimal("52.6412"), date(2026, 1, 2), "test: ops import")])
    with stack.writes() as db:
        stopped = stopped_settlements(db, RetryFilter(session_id=session_id))
    summary = await retry_settlements(stack.temporal, stack.writes, stopped, requested_by="test", wait_s=30)
    assert (summary.signalled, summary.settled) == (1, 1)

    handle = stack.handle(session_id)
    await handle.result()
    assert await error_type(handle) is None
    await found(stack, MISSING_FX_RATE + mine, expected=[])
    await found(stack, SESSIONS_NEEDING_ATTENTION + mine, expected=[])
    report = await replay_history(await handle.fetch_history())
    assert report.failure is None, report.describe(with_history=True)
    with stack.writes() as db:
        assert check_ledger(db).ok


async def test_a_session_waiting_for_its_cdr_is_found_and_flagged_overdue_until_the_cdr_comes(stack: Stack) -> None:
    session_id = await stack.start("DE*STN*E3001", "sim-no-cdr-visible")
    session = await stack.wait_for(session_id, SessionStage.AWAITING_CDR)
    a_minute_from_now = f"'{datetime.now(UTC) + timedelta(minutes=1):%Y-%m-%dT%H:%M:%SZ}'"
    waiting = EXAMPLE_TIME.sub(a_minute_from_now, WAITING_FOR_A_CDR)
    assert waiting != WAITING_FOR_A_CDR
    this_one = f" AND WorkflowId = '{session_workflow_id(session_id)}'"
    await found(stack, waiting + this_one, expected=[session_workflow_id(session_id)])
    await found(stack, "ErrorType = 'CdrOverdue'" + this_one, expected=[session_workflow_id(session_id)])

    reply = await post_cdr(stack, cdr_for(session))
    assert reply.status_code == 201, reply.text
    handle = stack.handle(session_id)
    assert (await handle.result()).stage == SessionStage.SETTLED
    assert await error_type(handle) is None
    await found(stack, waiting + this_one, expected=[])
    report = await replay_history(await handle.fetch_history())
    assert report.failure is None, report.describe(with_history=True)


async def test_a_rejected_payout_is_found_and_summarised_until_the_next_release_pays_it(stack: Stack) -> None:
    who = payee_partner(stack, "GBP")
    assert who.iban is not None
    payee = f"dp:{who.id}"
    await settle(stack, "DE*STN*E3001", who)
    stack.bank.rejections[who.iban] = ["AC04"]
    # Started as the sweep starts payout workflows: with a summary of its own.
    [started] = await start_payout_workflows(
        stack.temporal, [(Payee.parse(payee), "EUR")], task_queue=stack.task_queue, poll_seconds=POLL_SECONDS
    )
    assert started == payout_workflow_id(payee, "EUR")
    handle = stack.temporal.get_workflow_handle(started)
    assert await (await handle.describe()).static_summary() == f"Payouts to {payee} in EUR"

    await release(stack, payee, "EUR")
    [rejected] = batches(stack, payee)
    assert rejected.state == "REJECTED"
    await found(stack, REJECTED_PAYOUTS + f" AND DemandPartner = '{who.id}'", expected=[started])
    assert await error_type(handle) == "PayoutRejected"
    details = (await handle.query("__temporal_workflow_metadata", result_type=WorkflowMetadata)).current_details
    assert f"**Payee:** {payee} (EUR, DAILY)" in details
    assert f"**Last batch:** {rejected.message_id} REJECTED, {Decimal(rejected.amount_minor) / 100:.2f} EUR" in details
    assert f"**Rejected by the bank:** {rejected.message_id} (AC04: closed account number)" in details

    await release(stack, payee, "EUR")
    assert [b.state for b in batches(stack, payee)] == ["REJECTED", "PAID"]
    await found(stack, REJECTED_PAYOUTS + f" AND DemandPartner = '{who.id}'", expected=[])
    assert await error_type(handle) is None
    details = (await handle.query("__temporal_workflow_metadata", result_type=WorkflowMetadata)).current_details
    assert "Rejected by the bank" not in details
    report = await replay_history(await handle.fetch_history())
    assert report.failure is None, report.describe(with_history=True)
    with stack.writes() as db:
        assert check_ledger(db).ok
