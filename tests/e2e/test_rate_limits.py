"""One partner's flood of session starts meets 429 with ``Retry-After`` while another partner's starts, made
during the flood, are all served (issue 18: a flood of 2,000 starts slowed every other partner 5x). How
fast they are served is logged here (p95 under the flood against p95 just before, as many starts at the
same pace) but not asserted: a latency bound is a benchmark's (``networkcore bench``), and as a test it
failed whenever the machine was busy with something else.

Three processes, so that the flood costs the API and not whoever measures it: the API (``networkcore
api``, production rate limits) on the stack's database and Temporal server, the flooding partner, and
this test as the calm partner. What is measured is the API: its sessions go to a task queue no worker
polls (in production the workers are processes of their own), so they stay STARTING.

The calm partner is timed from the flood's first 429 on. The flooder's first 50 starts are its contract's
burst, served like anyone's: 50 starts at once on four connections slow the others while they last
(about half a second; the calm partner's starts then took 40-95 ms against 15-20 ms idle), as any
partner's allowed burst would. That is also why the flooder's start-up (Python importing httpx) is not
in the measurement.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import statistics
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx

from cli.processes import free_port, http_ok, python_module, spawn, stop, wait_until
from cli.seed import DemoPartner, demand_partner_terms, ensure_demand_partner
from tests.e2e.conftest import Stack
from tests.e2e.flooding_partner import REFUSED

log = logging.getLogger(__name__)

REPOSITORY = Path(__file__).resolve().parents[2]
FLOOD_REQUESTS = 2000
FLOOD_CONNECTIONS = 4
STARTS = 80  # timed, idle and then under the flood
WARM_UP_STARTS = 3  # the first starts pay for connections and first-use imports, not for anyone's flood
START_EVERY_S = 0.15  # the calm partner stays well under its own limit (10 starts/s)
# The flood is spread over the measurement (100 starts/s, 10 times the limit): the calm partner's starts all meet it.
FLOOD_WINDOW_S = 20.0
FLOOD_MAX_S = 60
API_READY_S = 60


def new_partner(stack: Stack, role: str) -> DemoPartner:
    suffix = uuid.uuid4().hex[:8]
    partner = DemoPartner(f"dp-{role}-{suffix}", f"{role} {suffix}", "DE", "DE281045677", "EUR", f"nc_{role}_{suffix}")
    with stack.writes.begin() as db:
        ensure_demand_partner(db, partner, demand_partner_terms(partner), now=datetime.now(UTC))
    return partner


@contextlib.contextmanager
def api_process(stack: Stack, database_url: str, log_file: Path) -> Iterator[str]:
    """``networkcore api`` with the production rate limits on the stack's database and Temporal server,
    starting sessions on a task queue no worker polls; yields its URL once it is ready, stops it after."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        "DATABASE_URL": database_url,
        "NETWORKCORE_TEMPORAL_ADDRESS": stack.temporal.service_client.config.target_host,
        "NETWORKCORE_TASK_QUEUE": f"flood-{uuid.uuid4()}",
        "NETWORKCORE_API_PORT": str(port),
        "NETWORKCORE_PUBLIC_BASE_URL": url,
        # Only the flood may slow the API: no ledger check, and no backpressure from the backlog the
        # unpolled task queue builds up or from slow starts (test_backpressure's and
        # test_adaptive_start_limit's subjects).
        "NETWORKCORE_LEDGER_CHECK_INTERVAL_S": "0",
        "NETWORKCORE_MAX_SESSION_BACKLOG": str(10 * (FLOOD_REQUESTS + 2 * STARTS)),
        "NETWORKCORE_SESSION_START_LATENCY_TARGET_MS": "0",
    }
    process = spawn(python_module("cli.main", "api"), log_file=log_file, env=env)
    try:
        # Blocks the event loop while the API starts; nothing of this test runs meanwhile.
        wait_until(lambda: http_ok(f"{url}/health/ready"), "the API", timeout_s=API_READY_S, process=process)
        yield url
    finally:
        stop([process])


def start_body(index: int, role: str) -> dict[str, str]:
    return {"evse_id": "DE*STN*E3001", "driver_reference": f"sim-reject-{role}-{index}"}


async def timed_starts(http: httpx.AsyncClient, partner: DemoPartner, role: str, count: int) -> list[float]:
    """Start ``count`` sessions at the calm partner's pace; the seconds each took."""
    headers = {"Authorization": f"Bearer {partner.api_key}"}
    latencies = []
    for index in range(count):
        began = time.perf_counter()
        reply = await http.post("/v1/sessions", json=start_body(index, role), headers=headers)
        latencies.append(time.perf_counter() - began)
        assert reply.status_code == 202, reply.text
        await asyncio.sleep(START_EVERY_S)
    return latencies


def p95(latencies: list[float]) -> float:
    return statistics.quantiles(latencies, n=20)[-1]


async def test_a_flooding_partner_meets_429_and_the_others_are_served_meanwhile(
    stack: Stack, database_url: str, tmp_path: Path
) -> None:
    flooder, calm = new_partner(stack, "flood"), new_partner(stack, "calm")
    with api_process(stack, database_url, tmp_path / "api.log") as url:
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            await timed_starts(http, calm, "warm-up", WARM_UP_STARTS)
            idle = await timed_starts(http, calm, "idle", STARTS)
            flooding = await asyncio.create_subprocess_exec(
                *python_module(
                    "tests.e2e.flooding_partner",
                    url,
                    flooder.api_key,
                    str(FLOOD_REQUESTS),
                    str(FLOOD_WINDOW_S),
                    str(FLOOD_CONNECTIONS),
                ),
                cwd=REPOSITORY,
                stdout=asyncio.subprocess.PIPE,
            )
            assert flooding.stdout is not None
            try:
                flood_began = time.monotonic()
                first_line = await asyncio.wait_for(flooding.stdout.readline(), FLOOD_MAX_S)
                assert first_line.decode().strip() == REFUSED
                flooded = await timed_starts(http, calm, "calm", STARTS)
                output, _ = await asyncio.wait_for(flooding.communicate(), FLOOD_MAX_S)
                flood_s = time.monotonic() - flood_began
            finally:
                if flooding.returncode is None:
                    flooding.kill()
                    await flooding.wait()

    assert flooding.returncode == 0
    flood = json.loads(output)
    statuses = [int(status) for status in flood["statuses"]]
    assert len(statuses) == FLOOD_REQUESTS
    assert set(statuses) == {202, 429}, set(statuses)
    # 50 at once, then 10 a second (one more for a token refilled during the last request).
    assert statuses.count(202) <= 50 + 10 * flood_s + 1
    assert all(int(seconds) >= 1 for seconds in flood["retry_afters"])

    idle_p95, flooded_p95 = p95(idle), p95(flooded)
    measured = f"the calm partner's p95: idle {idle_p95 * 1000:.1f} ms, under the flood {flooded_p95 * 1000:.1f} ms"
    log.info("%s (%.2fx)", measured, flooded_p95 / idle_p95)
    assert len(flooded) == STARTS  # every calm start was accepted (202) while the flood was refused
