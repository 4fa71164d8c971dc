"""The whole stack for real, in this process: Temporal dev server, the worker, the API and the CPO
simulator served by uvicorn on loopback ports, and a real database (SQLite and PostgreSQL). The demo CPOs
register over OCPI as any CPO does: invited (``services/cpo_onboarding.py``), then registered by the
simulator with their token A, which publishes their tariffs and locations."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest_asyncio
import uvicorn
from fastapi import FastAPI
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.sessions import OcpiIdentity
from adapters.cpo import OcpiCpoAdapter
from adapters.einvoice.issue import validated_xml
from adapters.token_cipher import TokenCipher
from api.app import create_app
from api.context import ApiContext
from cli.devstack import demo_cpo_onboarding
from cli.processes import free_port
from cli.seed import PARTNERS, seed_database
from config.settings import Settings, platform_bank_accounts, platform_einvoice_details, platform_party
from domain.einvoice.issuing import EInvoiceIssuing
from domain.sessions.lifecycle import SessionStage, is_final
from messages.sessions import ChargingSessionResult, SessionTimeouts
from messages.workflow_ids import session_workflow_id
from persistence.db import make_read_session_factory
from services import cpo_onboarding
from services.ocpi.credentials import VERSIONS_PATH
from services.prices import PriceSetup
from simulator.app import create_app as create_simulator_app
from simulator.bank import SimulatedBank
from simulator.catalogue import CPOS, simulator_config
from simulator.config import SimulatorConfig
from simulator.connections import ConnectionStore
from tests.conftest import TEST_TOKEN_KEY
from workers.main import ACTIVITY_THREADS, build_worker
from workflows.sessions import ChargingSessionWorkflow

TIMEOUTS = SessionTimeouts(start_confirmation_s=4, max_duration_s=300, cdr_wait_s=3)
_BY_ID = {partner.id: partner for partner in PARTNERS}
ROAMLY, MOTORBRIT, DORMANT = _BY_ID["dp-roamly"], _BY_ID["dp-motorbrit"], _BY_ID["dp-dormant"]
FAHRWERK, VOYAGEO, ALPENFLOTTE = _BY_ID["dp-fahrwerk"], _BY_ID["dp-voyageo"], _BY_ID["dp-alpenflotte"]
DEMO_CPOS = {cpo.id: cpo for cpo in CPOS}
STROMNETZ, VOLTASWISS, BORNEO = DEMO_CPOS["cpo-de-stn"], DEMO_CPOS["cpo-ch-vsw"], DEMO_CPOS["cpo-fr-brn"]
# The simulated CPOs' OCPI credentials per database: a second stack on a database finds them registered.
_SIMULATOR_CONNECTIONS: dict[str, ConnectionStore] = {}


async def serve(app: FastAPI, port: int) -> tuple[uvicorn.Server, asyncio.Task[None]]:
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            log_level="warning",
            lifespan="on",
            timeout_graceful_shutdown=2,
            timeout_keep_alive=Settings().http_keep_alive_s,  # as `networkcore api` keeps them
        )
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.02)
    return server, task


@dataclass
class Stack:
    api_url: str
    temporal: Client
    writes: sessionmaker[Session]
    task_queue: str
    http: httpx.AsyncClient
    make_worker: Any
    bank: SimulatedBank
    simulator_url: str
    simulator_connections: ConnectionStore
    worker: Worker | None = None
    running: list[asyncio.Task[None]] = field(default_factory=list)

    async def restart_worker(self) -> None:
        await self.stop_worker()
        await self.start_worker()

    async def start_worker(self) -> None:
        self.worker = self.make_worker()
        assert self.worker is not None
        self.running.append(asyncio.create_task(self.worker.run()))

    async def stop_worker(self) -> None:
        if self.worker is not None:
            await self.worker.shutdown()
            self.worker = None

    def cpo_token(self, cpo_id: str) -> str:
        """The token C the demo CPO calls us with (it changes when a stack updates its credentials)."""
        token = self.simulator_connections.registered(DEMO_CPOS[cpo_id].party).token_c
        assert token is not None
        return token

    def headers(self, api_key: str = ROAMLY.api_key, **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {api_key}", **extra}

    async def start(
        self,
        evse_id: str = "DE*STN*E3001",
        driver: str = "driver-1",
        *,
        api_key: str = ROAMLY.api_key,
        key: str | None = None,
        max_amount: str | None = None,
    ) -> str:
        headers = self.headers(api_key, **({"Idempotency-Key": key} if key else {}))
        body = {"evse_id": evse_id, "driver_reference": driver} | ({"max_amount": max_amount} if max_amount else {})
        reply = await self.http.post("/v1/sessions", json=body, headers=headers)
        assert reply.status_code == 202, reply.text
        session_id: str = reply.json()["id"]
        return session_id

    async def get(self, session_id: str, api_key: str = ROAMLY.api_key) -> dict[str, Any]:
        reply = await self.http.get(f"/v1/sessions/{session_id}", headers=self.headers(api_key))
        assert reply.status_code == 200, reply.text
        body: dict[str, Any] = reply.json()
        return body

    async def wait_for(
        self, session_id: str, *stages: SessionStage, api_key: str = ROAMLY.api_key, timeout_s: float = 30
    ) -> dict[str, Any]:
        """Poll the API until the session is in one of ``stages`` (or any final stage, which then fails)."""
        deadline = asyncio.get_running_loop().time() + timeout_s
        while True:
            session = await self.get(session_id, api_key)
            stage = SessionStage(session["stage"])
            if stage in stages:
                return session
            assert not is_final(stage), f"session ended {stage}: {session.get('reason')}"
            assert asyncio.get_running_loop().time() < deadline, f"still {stage} after {timeout_s} s"
            await asyncio.sleep(0.1)

    def handle(self, session_id: str) -> WorkflowHandle[ChargingSessionWorkflow, ChargingSessionResult]:
        # get_workflow_handle_for's overloads are resolved differently from one mypy run to the next.
        return self.temporal.get_workflow_handle(session_workflow_id(session_id), result_type=ChargingSessionResult)

    async def result(self, session_id: str) -> ChargingSessionResult:
        return await self.handle(session_id).result()


@contextlib.asynccontextmanager
async def running_stack(
    dev_env: WorkflowEnvironment,
    engine: Engine,
    writes: sessionmaker[Session],
    *,
    timeouts: SessionTimeouts = TIMEOUTS,
    charge_duration_s: float = 0.3,
) -> AsyncIterator[Stack]:
    """API, simulator and worker on ``engine``'s database, on a task queue of their own."""
    api_port, simulator_port = free_port(), free_port()
    api_url, simulator_url = f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{simulator_port}"
    token_cipher = TokenCipher(TEST_TOKEN_KEY)
    seed_database(writes)
    task_queue = f"sessions-{uuid.uuid4()}"
    # Prices are read today; the embedded ECB history ends when its package was built.
    prices = PriceSetup(platform_party(Settings()), fx_max_age=timedelta(days=3650))
    context = ApiContext(
        writes, make_read_session_factory(engine), dev_env.client, task_queue, timeouts, api_url, prices=prices
    )
    simulator = SimulatorConfig.model_validate(
        simulator_config(simulator_url, charge_duration_s=charge_duration_s, patch_interval_s=0.1)
    )
    connections = _SIMULATOR_CONNECTIONS.setdefault(engine.url.render_as_string(), ConnectionStore())
    servers = [
        await serve(create_app(context), api_port),
        await serve(create_simulator_app(simulator, connections), simulator_port),
    ]
    executor = ThreadPoolExecutor(ACTIVITY_THREADS)
    identity = OcpiIdentity("CH", "NWC", api_url)
    async with httpx.AsyncClient(timeout=10) as outbound, httpx.AsyncClient(base_url=api_url, timeout=10) as http:
        adapter = OcpiCpoAdapter(outbound, from_country_code="CH", from_party_id="NWC")

        def make_worker() -> Worker:
            return build_worker(
                dev_env.client,
                task_queue=task_queue,
                writes=writes,
                cpo_adapter=adapter,
                http=outbound,
                identity=identity,
                executor=executor,
                # Sessions are dated today; the embedded ECB history ends when its package was built.
                fx_max_age=timedelta(days=3650),
                platform=platform_party(settings),
                rail=bank,
                debtor_accounts=platform_bank_accounts(settings),
                token_cipher=token_cipher,
                einvoicing=EInvoiceIssuing(platform_einvoice_details(settings), validated_xml),
            )

        settings = Settings()
        bank = SimulatedBank(writes)
        stack = Stack(api_url, dev_env.client, writes, task_queue, http, make_worker, bank, simulator_url, connections)
        await stack.start_worker()
        try:
            await connect_demo_cpos(stack)
            yield stack
        finally:
            # A session stuck retrying must not hang the run: give shutdown a bound.
            await asyncio.wait_for(stack.stop_worker(), timeout=30)
            for server, task in servers:
                server.should_exit = True
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            executor.shutdown(wait=False, cancel_futures=True)


async def connect_demo_cpos(stack: Stack) -> None:
    """Each demo CPO registered over OCPI: invited and registered by the simulator with its token A the first
    time on a database; later its credentials are updated (PUT), as both the API and the simulator moved."""
    versions_url = stack.api_url + VERSIONS_PATH
    async with httpx.AsyncClient(base_url=stack.simulator_url, timeout=60) as simulator:
        for cpo in CPOS:
            connection = stack.simulator_connections.get(cpo.party)
            if connection is not None and connection.token_c is not None:
                reply = await simulator.post(f"/admin/cpos/{cpo.party}/update", json={"versions_url": versions_url})
            else:
                with stack.writes.begin() as db:
                    invitation = cpo_onboarding.invite_cpo(
                        db, cpo.country_code, cpo.party_id, cpo.name, *demo_cpo_onboarding(cpo), now=datetime.now(UTC)
                    )
                reply = await simulator.post(
                    f"/admin/cpos/{cpo.party}/register", json={"versions_url": versions_url, "token": invitation.token}
                )
            assert reply.status_code == 200, reply.text


@pytest_asyncio.fixture(scope="session")
async def stack(dev_env: WorkflowEnvironment, engine: Engine, writes: sessionmaker[Session]) -> AsyncIterator[Stack]:
    async with running_stack(dev_env, engine, writes) as running:
        yield running
