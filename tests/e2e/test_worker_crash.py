"""A worker process killed between posting a session's ledger entry and the workflow's next step, or around
handing a payout to the bank, then a worker restarted: the books are those of an uninterrupted run (one
entry, one captured hold, one payment, nothing booked twice), on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select
from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment

from cli.seed import DemoPartner
from domain.payouts.batches import BANK, CASH_IN_TRANSIT
from domain.sessions.lifecycle import SessionStage
from messages.payouts import ReleaseNow
from persistence import ledger
from persistence.ledger_check import check_ledger
from persistence.tables import InvoiceLineRow, InvoiceRow
from tests.e2e.conftest import Stack
from tests.e2e.crashing_worker import CRASH_EXIT_CODE
from tests.e2e.test_payouts import balance, batches, payee_partner, share_minor, start_payouts
from tests.e2e.test_settlement import (
    expected_split,
    half_up,
    hold_of,
    last_numbers,
    minor,
    partner,
    postings,
    settle,
)
from workflows.payouts import PayoutWorkflow

pytestmark = pytest.mark.asyncio(loop_scope="session")
REPOSITORY = Path(__file__).resolve().parents[2]
GERMAN_VAT = Decimal("0.19")


def numbers_of(stack: Stack, session_id: str) -> dict[str, str | None]:
    """The session's invoice numbers by issuer."""
    with stack.writes() as db:
        rows = db.execute(
            select(InvoiceRow.issuer, InvoiceRow.number)
            .join(InvoiceLineRow, InvoiceLineRow.invoice_key == InvoiceRow.key)
            .where(InvoiceLineRow.session_id == session_id)
        ).all()
    return {issuer: number for issuer, number in rows}


def crashing_worker(
    stack: Stack, database_url: str, dev_env: WorkflowEnvironment, crash_at: str
) -> subprocess.Popen[bytes]:
    env = os.environ | {
        "CRASH_AT": crash_at,
        "DATABASE_URL": database_url,
        "NETWORKCORE_TEMPORAL_ADDRESS": dev_env.client.service_client.config.target_host,
        "NETWORKCORE_TASK_QUEUE": stack.task_queue,
        "NETWORKCORE_PUBLIC_BASE_URL": stack.api_url,
        "NETWORKCORE_FX_MAX_AGE_DAYS": "3650",
        "NETWORKCORE_PAYOUT_POLL_S": "1",
        "NETWORKCORE_PAYOUT_SWEEP_S": "3600",
    }
    return subprocess.Popen([sys.executable, "-m", "tests.e2e.crashing_worker"], cwd=REPOSITORY, env=env)


async def wait_for_crash(process: subprocess.Popen[bytes], crash_at: str) -> None:
    try:
        for _ in range(600):
            if process.poll() is not None:
                break
            await asyncio.sleep(0.1)
        assert process.returncode == CRASH_EXIT_CODE, f"the worker died at {crash_at}"
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()


async def session_on_crashing_worker(
    stack: Stack, database_url: str, dev_env: WorkflowEnvironment, crash_at: str, payer: DemoPartner, driver: str
) -> str:
    """Start a session with only a crashing worker polling, and wait until that worker has died at
    ``crash_at``; returns the session's id."""
    process = crashing_worker(stack, database_url, dev_env, crash_at)
    try:
        session_id = await stack.start("DE*STN*E3001", driver, api_key=payer.api_key)
    finally:
        await wait_for_crash(process, crash_at)
    return session_id


async def test_a_worker_killed_after_posting_leaves_the_books_as_an_uninterrupted_run(
    stack: Stack, database_url: str, dev_env: WorkflowEnvironment
) -> None:
    payer = partner(stack, "EUR")
    await stack.stop_worker()
    session_id = await session_on_crashing_worker(stack, database_url, dev_env, "after-commit", payer, "driver-crash")
    # Posted (and SETTLED recorded in the same transaction), but the workflow never heard: it still runs.
    assert hold_of(stack, session_id)[1] == "POSTED"
    booked_before_restart = postings(stack, session_id)
    numbers_before_restart = numbers_of(stack, session_id)
    assert (await stack.handle(session_id).describe()).status == WorkflowExecutionStatus.RUNNING

    await stack.start_worker()
    session = await stack.wait_for(session_id, SessionStage.SETTLED, api_key=payer.api_key, timeout_s=60)
    net = Decimal(session["clearing"]["total_cost"]["excl_vat"])
    split = expected_split(net)
    sold_vat, bought_vat = half_up(split["net"] * GERMAN_VAT), half_up(split["cpo"] * GERMAN_VAT)
    gross = split["net"] + sold_vat
    uninterrupted = {
        (f"dp:{payer.id}:receivable", "EUR", minor(gross)),
        ("platform:vat_payable:DE", "EUR", -minor(sold_vat)),
        ("platform:vat_recoverable:DE", "EUR", minor(bought_vat)),
        ("cpo:cpo-de-stn:payable", "EUR", -minor(split["cpo"] + bought_vat)),
        ("platform:commission", "EUR", -minor(split["platform"])),
        (f"dp:{payer.id}:revenue_share_payable", "EUR", -minor(split["share"])),
    }
    assert postings(stack, session_id) == booked_before_restart == uninterrupted
    assert numbers_of(stack, session_id) == numbers_before_restart  # the invoices were issued once
    assert hold_of(stack, session_id) == (8000, "POSTED", minor(gross))
    with stack.writes() as db:
        assert ledger.account_balance(db, f"dp:{payer.id}:receivable", "EUR") == minor(gross)  # once, not twice
        assert check_ledger(db).ok


async def test_a_worker_killed_holding_invoice_numbers_burns_none_and_reuses_none(
    stack: Stack, database_url: str, dev_env: WorkflowEnvironment
) -> None:
    payer = partner(stack, "EUR")
    await stack.stop_worker()
    before = last_numbers(stack)
    session_id = await session_on_crashing_worker(
        stack, database_url, dev_env, "mid-invoice", payer, "driver-crash-numbers"
    )
    # Its transaction died with it: no number is taken, nothing is booked or issued.
    assert last_numbers(stack) == before
    assert numbers_of(stack, session_id) == {}
    with stack.writes() as db:
        assert ledger.entry_postings(db, f"session-{session_id}:settlement") is None

    await stack.start_worker()
    await stack.wait_for(session_id, SessionStage.SETTLED, api_key=payer.api_key, timeout_s=60)
    self_billing = ("cpo:cpo-de-stn", "SB-DESTN")
    platform = ("platform", "NC")
    assert numbers_of(stack, session_id) == {
        "cpo:cpo-de-stn": f"SB-DESTN-{before.get(self_billing, 0) + 1:06d}",
        "platform": f"NC-{before.get(platform, 0) + 1:06d}",
        f"dp:{payer.id}": None,  # its revenue share waits on the month's self-billed statement, unnumbered
    }
    with stack.writes() as db:
        assert check_ledger(db).ok  # which checks every series runs 1..N


async def test_a_worker_killed_around_sending_a_payout_pays_nobody_twice_and_loses_nothing(
    stack: Stack, database_url: str, dev_env: WorkflowEnvironment
) -> None:
    who = payee_partner(stack, "GBP")
    payee = f"dp:{who.id}"
    sessions = [await settle(stack, "DE*STN*E3001", who) for _ in range(2)]
    earned = sum(share_minor(session) for session in sessions)
    workflow = await start_payouts(stack, payee, "EUR")
    await stack.stop_worker()

    # Killed once the instruction exists (batch, file, payable -> cash in transit), before the bank has it.
    process = crashing_worker(stack, database_url, dev_env, "payout-before-send")
    await workflow.signal(PayoutWorkflow.release_now, ReleaseNow(requested_by="test"))
    await wait_for_crash(process, "payout-before-send")
    [batch] = batches(stack, payee)
    assert (batch.state, batch.amount_minor) == ("INSTRUCTED", earned)
    assert [t for t in stack.bank.transfers() if t.creditor_iban == who.iban] == []
    assert balance(stack, f"{payee}:revenue_share_payable", "EUR") == 0
    with stack.writes() as db:
        assert check_ledger(db).ok  # the money is in transit, accounted for

    # Killed again once the bank has the file, before the batch is marked sent.
    process = crashing_worker(stack, database_url, dev_env, "payout-after-send")
    await wait_for_crash(process, "payout-after-send")
    [batch] = batches(stack, payee)
    assert batch.state == "INSTRUCTED"
    assert [t.message_id for t in stack.bank.transfers() if t.creditor_iban == who.iban] == [batch.message_id]

    await stack.start_worker()
    deadline = asyncio.get_running_loop().time() + 60
    while batches(stack, payee)[0].state != "PAID":
        assert asyncio.get_running_loop().time() < deadline, "the batch was never paid after the restart"
        await asyncio.sleep(0.2)
    # The bank was handed the file twice and executed it once; the books moved once.
    [received] = [t for t in stack.bank.transfers() if t.creditor_iban == who.iban]
    assert (received.message_id, received.amount_minor, received.status_code) == (batch.message_id, earned, "ACSC")
    [batch] = batches(stack, payee)
    assert (batch.state, batch.amount_minor) == ("PAID", earned)
    assert balance(stack, f"{payee}:revenue_share_payable", "EUR") == 0
    with stack.writes() as db:
        assert ledger.entry_postings(db, f"{batch.idempotency_key}:paid") == sorted(
            [(CASH_IN_TRANSIT, "EUR", earned), (BANK, "EUR", -earned)]
        )
        assert check_ledger(db).ok
