"""A database outage ridden out (issue 18: with PostgreSQL stopped for 17 s the API answered 500, the
simulator gave up after 6 attempts and its sessions stayed CHARGING). Here PostgreSQL stops for 30 s in the
middle of a run of sessions: meanwhile the API answers 503 with ``Retry-After`` and is not ready, the CPO
simulator keeps retrying its PATCHes, CDRs and command results, the worker's activities retry; once the
database is back, every session settles and the books balance.

The database is a private PostgreSQL cluster (``initdb``/``pg_ctl`` from the installed binaries, in a temp
directory, on a free port), so stopping it touches no other test and no other user of the machine."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine
from temporalio.testing import WorkflowEnvironment

from cli.processes import free_port
from domain.sessions.lifecycle import SessionStage
from messages.sessions import SessionTimeouts
from persistence.db import make_engine, make_session_factory
from persistence.ledger_check import check_ledger
from persistence.migrate import upgrade
from tests.e2e.conftest import ROAMLY, Stack, running_stack

pytestmark = pytest.mark.postgres

OUTAGE_S = 30
SESSIONS = 6
# Long enough for a CDR held back by the outage: the session waits for it rather than giving up.
TIMEOUTS = SessionTimeouts(start_confirmation_s=120, max_duration_s=600, cdr_wait_s=300)


@dataclass
class PrivatePostgres:
    data: Path
    port: int
    run_as: list[str]

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/networkcore"

    def pg_ctl(self, *args: str) -> None:
        subprocess.run([*self.run_as, "pg_ctl", "-D", str(self.data), "-w", *args], check=True, capture_output=True)

    def start(self) -> None:
        options = f"-p {self.port} -k {self.data} -c listen_addresses=127.0.0.1 -c fsync=off"
        self.pg_ctl("-o", options, "-l", str(self.data / "server.log"), "start")

    def stop(self) -> None:
        self.pg_ctl("-m", "fast", "stop")


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    if shutil.which("initdb") is None or shutil.which("pg_ctl") is None:
        pytest.fail("initdb and pg_ctl are needed for a private PostgreSQL cluster")
    home = Path(tempfile.mkdtemp(prefix="networkcore-outage-"))
    run_as: list[str] = []
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        shutil.chown(home, "postgres", "postgres")
        run_as = ["runuser", "-u", "postgres", "--"]
    server = PrivatePostgres(home / "data", free_port(), run_as)
    subprocess.run(
        [*run_as, "initdb", "-D", str(server.data), "-U", "postgres", "--auth=trust", "--no-sync"],
        check=True,
        capture_output=True,
    )
    server.start()
    try:
        subprocess.run(
            ["psql", "-h", "127.0.0.1", "-p", str(server.port), "-U", "postgres", "-c", "CREATE DATABASE networkcore"],
            check=True,
            capture_output=True,
        )
        upgrade(server.url)
        yield server
    finally:
        subprocess.run([*run_as, "pg_ctl", "-D", str(server.data), "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(home, ignore_errors=True)


async def stage_of(stack: Stack, session_id: str) -> SessionStage | None:
    """The session's stage, or None while the API answers 503 (it must never answer anything else)."""
    reply = await stack.http.get(f"/v1/sessions/{session_id}", headers=stack.headers())
    if reply.status_code == 503:
        assert int(reply.headers["Retry-After"]) >= 1
        return None
    assert reply.status_code == 200, reply.text
    return SessionStage(reply.json()["stage"])


async def test_every_session_settles_across_a_30_s_database_outage(
    dev_env: WorkflowEnvironment, private_postgres: PrivatePostgres
) -> None:
    engine: Engine = make_engine(private_postgres.url)
    writes = make_session_factory(engine)
    try:
        async with running_stack(dev_env, engine, writes, timeouts=TIMEOUTS, charge_duration_s=3.0) as stack:
            sessions = []
            for index in range(SESSIONS):
                sessions.append(await stack.start(driver=f"outage-{index}", api_key=ROAMLY.api_key))
                await asyncio.sleep(1 / 3)  # 3 sessions a second
            await asyncio.sleep(0.5)

            private_postgres.stop()
            await asyncio.sleep(2)
            partner = await stack.http.get("/v1/balance", headers=stack.headers())
            ready = await stack.http.get("/health/ready")
            cpo = await stack.http.put(
                "/ocpi/emsp/2.2.1/sessions/DE/STN/s-outage", headers={"Authorization": "Token c3Ru"}, json={}
            )
            await asyncio.sleep(OUTAGE_S - 2)
            private_postgres.start()

            assert partner.status_code == 503, partner.text
            assert partner.headers["Retry-After"] == "5"
            assert ready.status_code == 503
            assert cpo.status_code == 503
            assert cpo.json()["status_code"] == 3000

            loop = asyncio.get_running_loop()
            deadline = loop.time() + 240
            stages: dict[str, SessionStage | None] = {}
            while True:
                stages = {session: await stage_of(stack, session) for session in sessions}
                if all(stage == SessionStage.SETTLED for stage in stages.values()):
                    break
                assert loop.time() < deadline, f"not all settled after the outage: {stages}"
                await asyncio.sleep(1)
            async with httpx.AsyncClient(base_url=stack.api_url) as http:
                assert (await http.get("/health/ready")).status_code == 200
        with writes() as db:
            report = check_ledger(db)
        assert report.ok, report.problems
        assert report.settled_sessions >= SESSIONS
    finally:
        engine.dispose()
