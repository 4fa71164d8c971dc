"""A worker process killed between posting a session's ledger entry and the workflow's next step, then a
worker restarted: the books are those of an uninterrupted run (one entry, one captured hold, nothing
booked twice), on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from domain.sessions.lifecycle import SessionStage
from persistence import ledger
from persistence.ledger_check import check_ledger
from tests.e2e.conftest import Stack
from tests.e2e.crashing_worker import CRASH_EXIT_CODE
from tests.e2e.test_settlement import expected_split, hold_of, minor, partner, postings

pytestmark = pytest.mark.asyncio(loop_scope="session")
REPOSITORY = Path(__file__).resolve().parents[2]


def crashing_worker(stack: Stack, database_url: str, dev_env: WorkflowEnvironment) -> subprocess.Popen[bytes]:
    env = os.environ | {
        "DATABASE_URL": database_url,
        "NETWORKCORE_TEMPORAL_ADDRESS": dev_env.client.service_client.config.target_host,
        "NETWORKCORE_TASK_QUEUE": stack.task_queue,
        "NETWORKCORE_PUBLIC_BASE_URL": stack.api_url,
        "NETWORKCORE_FX_MAX_AGE_DAYS": "3650",
    }
    return subprocess.Popen([sys.executable, "-m", "tests.e2e.crashing_worker"], cwd=REPOSITORY, env=env)


async def test_a_worker_killed_after_posting_leaves_the_books_as_an_uninterrupted_run(
    stack: Stack, database_url: str, dev_env: WorkflowEnvironment
) -> None:
    payer = partner(stack, "EUR")
    await stack.stop_worker()
    process = crashing_worker(stack, database_url, dev_env)
    try:
        session_id = await stack.start("DE*STN*E3001", "driver-crash", api_key=payer.api_key)
        for _ in range(600):
            if process.poll() is not None:
                break
            await asyncio.sleep(0.1)
        assert process.returncode == CRASH_EXIT_CODE, "the worker died right after posting"
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()
    # Posted, but the workflow never heard: its read model has not moved on and the workflow still runs.
    assert hold_of(stack, session_id)[1] == "POSTED"
    booked_before_restart = postings(stack, session_id)
    assert (await stack.get(session_id, payer.api_key))["stage"] != SessionStage.SETTLED.value

    await stack.start_worker()
    session = await stack.wait_for(session_id, SessionStage.SETTLED, api_key=payer.api_key, timeout_s=60)
    net = Decimal(session["clearing"]["total_cost"]["excl_vat"])
    gross = Decimal(session["clearing"]["total_cost"]["incl_vat"])
    split = expected_split(net, gross - net)
    uninterrupted = {
        (f"dp:{payer.id}:receivable", "EUR", minor(gross)),
        ("platform:vat_payable:DE", "EUR", -minor(split["vat"])),
        ("cpo:cpo-de-stromnetz:payable", "EUR", -minor(split["cpo"])),
        ("platform:commission", "EUR", -minor(split["platform"])),
        (f"dp:{payer.id}:revenue_share_payable", "EUR", -minor(split["share"])),
    }
    assert postings(stack, session_id) == booked_before_restart == uninterrupted
    assert hold_of(stack, session_id) == (8000, "POSTED", minor(gross))
    with stack.sessions() as db:
        assert ledger.account_balance(db, f"dp:{payer.id}:receivable", "EUR") == minor(gross)  # once, not twice
        assert check_ledger(db).ok
