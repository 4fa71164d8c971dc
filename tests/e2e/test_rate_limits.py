"""One partner's flood of session starts meets 429 while another partner's starts are all served (issue 18:
a flood of 2,000 starts slowed every other partner 5x). The API runs with the production
rate limits (``api/main.py`` ``rate_limits_from``) on the stack's database and Temporal server, on
loopback, the flood from a process of its own. What is measured is the API: its sessions go to a task
queue no worker polls (in production the workers are processes of their own; here they would share this
process's event loop with the API), so they stay STARTING.

Not asserted (yet): the other partner's p95 within 2x of idle. With the flood's HTTP parsing in this same
Python process on two shared cores, it measured 1.5x to 5x from run to run (idle 18-65 ms); a robust check
needs the API in a process of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
from sqlalchemy import Engine

from api.app import create_app
from api.context import ApiContext
from api.main import rate_limits_from
from cli.processes import free_port
from cli.seed import DemoPartner, demand_partner_terms, ensure_demand_partner
from config.settings import Settings
from persistence.db import make_read_session_factory
from tests.e2e.conftest import TIMEOUTS, Stack, serve

REPOSITORY = Path(__file__).resolve().parents[2]
FLOOD_REQUESTS = 2000
FLOOD_CONNECTIONS = 4
STARTS = 40
START_EVERY_S = 0.15  # the other partner stays well under its own limit (10 starts/s)
# The flood is spread over the measurement (100 starts/s, 10 times the limit): the other partner's starts all meet it.
FLOOD_WINDOW_S = 20.0
FLOOD_MAX_S = 60


def new_partner(stack: Stack, role: str) -> DemoPartner:
    suffix = uuid.uuid4().hex[:8]
    partner = DemoPartner(f"dp-{role}-{suffix}", f"{role} {suffix}", "DE", "DE281045677", "EUR", f"nc_{role}_{suffix}")
    with stack.writes.begin() as db:
        ensure_demand_partner(db, partner, demand_partner_terms(partner), now=datetime.now(UTC))
    return partner


def start_body(index: int, role: str) -> dict[str, str]:
    return {"evse_id": "DE*STN*E3001", "driver_reference": f"sim-reject-{role}-{index}"}


async def start_sessions(http: httpx.AsyncClient, partner: DemoPartner, role: str) -> None:
    headers = {"Authorization": f"Bearer {partner.api_key}"}
    for index in range(STARTS):
        reply = await http.post("/v1/sessions", json=start_body(index, role), headers=headers)
        assert reply.status_code == 202, reply.text
        await asyncio.sleep(START_EVERY_S)


async def test_a_flooding_partner_meets_429_and_the_others_are_served(stack: Stack, engine: Engine) -> None:
    flooder, calm = new_partner(stack, "flood"), new_partner(stack, "calm")
    unpolled = f"flood-{uuid.uuid4()}"
    context = ApiContext(
        stack.writes, make_read_session_factory(engine), stack.temporal, unpolled, TIMEOUTS, stack.api_url
    )
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server, task = await serve(create_app(context, rate_limits=rate_limits_from(Settings())), port)
    try:
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            flooding = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "tests.e2e.flooding_partner",
                url,
                flooder.api_key,
                str(FLOOD_REQUESTS),
                str(FLOOD_WINDOW_S),
                str(FLOOD_CONNECTIONS),
                cwd=REPOSITORY,
                stdout=asyncio.subprocess.PIPE,
            )
            flood_began = time.monotonic()
            await start_sessions(http, calm, "calm")
            output, _ = await asyncio.wait_for(flooding.communicate(), FLOOD_MAX_S)
            flood_s = time.monotonic() - flood_began
    finally:
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await task

    assert flooding.returncode == 0
    flood = json.loads(output)
    statuses = [int(status) for status in flood["statuses"]]
    assert len(statuses) == FLOOD_REQUESTS
    assert set(statuses) == {202, 429}, set(statuses)
    # 50 at once, then 10 a second (one more for a token refilled during the last request).
    assert statuses.count(202) <= 50 + 10 * flood_s + 1
    assert all(int(seconds) >= 1 for seconds in flood["retry_afters"])
