"""Backpressure on session starts (``api/backpressure.py``): with more workflow tasks waiting for a worker
than the policy allows, or no Temporal server, ``POST /v1/sessions`` gets 503 with ``Retry-After`` at once
instead of a slow answer; everything else is served."""

from __future__ import annotations

import asyncio
import uuid

import httpx
from sqlalchemy import Engine
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from api.backpressure import BackpressurePolicy
from api.context import ApiContext
from persistence.db import make_read_session_factory, make_session_factory
from tests.conftest import server_binary
from tests.e2e.conftest import TIMEOUTS

POLICY = BackpressurePolicy(max_waiting_tasks=3, retry_after_s=7, every_s=0.1)
START = {"evse_id": "DE*STN*E3001", "driver_reference": "driver-1"}


async def start_answers(engine: Engine, temporal: Client, task_queue: str, *, expect: int) -> list[httpx.Response]:
    """Session starts (until the first answers ``expect``, as the watcher's readings catch up with the
    server's backlog count) and a liveness probe."""
    context = ApiContext(
        make_session_factory(engine), make_read_session_factory(engine), temporal, task_queue, TIMEOUTS, "http://api"
    )
    app = create_app(context, backpressure=POLICY)
    loop = asyncio.get_running_loop()
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as http,
    ):
        deadline = loop.time() + 30
        while (first := await http.post("/v1/sessions", json=START)).status_code != expect:
            assert loop.time() < deadline, f"still {first.status_code}: {first.text}"
            await asyncio.sleep(0.2)
        started = loop.time()
        again = await http.post("/v1/sessions", json=START)
        assert loop.time() - started < 1.0, "an answer at once"
        return [first, again, await http.get("/health")]


async def test_starts_get_503_while_the_backlog_is_deep(dev_env: WorkflowEnvironment, engine: Engine) -> None:
    task_queue = f"no-worker-{uuid.uuid4()}"
    # Through to the route (which asks for a key) while nothing waits.
    assert [r.status_code for r in await start_answers(engine, dev_env.client, task_queue, expect=401)] == [
        401,
        401,
        200,
    ]

    for index in range(POLICY.max_waiting_tasks + 2):  # started, never picked up: nobody polls this queue
        await dev_env.client.start_workflow("Waiting", id=f"{task_queue}-{index}", task_queue=task_queue)
    refused, again, alive = await start_answers(engine, dev_env.client, task_queue, expect=503)
    assert refused.status_code == again.status_code == 503
    assert refused.headers["Retry-After"] == "7"
    assert refused.json() == {"detail": "too many sessions waiting to start (5); retry later"}
    assert alive.status_code == 200


async def test_starts_get_503_while_temporal_is_unreachable(engine: Engine) -> None:
    gone = await WorkflowEnvironment.start_local(
        dev_server_existing_path=server_binary("temporal"), dev_server_extra_args=["--log-level", "error"]
    )
    await gone.shutdown()
    refused, _, alive = await start_answers(engine, gone.client, "sessions", expect=503)
    assert refused.headers["Retry-After"] == "7"
    assert refused.json() == {"detail": "sessions cannot be started now (workflow service unavailable); retry later"}
    assert alive.status_code == 200
