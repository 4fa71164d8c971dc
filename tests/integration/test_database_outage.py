"""A database outage is a fault to ride out: while the database does not answer, partners and CPOs get 503
with ``Retry-After`` (CPOs in the OCPI envelope, status 3000), never a 500, and ``/health/ready`` fails;
it passes again once the database answers."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import cast

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import Engine
from temporalio.client import Client

from api.app import create_app
from api.context import ApiContext
from cli.processes import free_port
from cli.seed import PARTNERS
from messages.sessions import SessionTimeouts
from persistence.db import database_identity, make_engine, make_read_session_factory, make_session_factory

ROAMLY_KEY = PARTNERS[0].api_key


def app_on(engine: Engine) -> FastAPI:
    """The API on ``engine``; nothing here reaches Temporal."""
    context = ApiContext(
        make_session_factory(engine),
        make_read_session_factory(engine),
        cast(Client, None),
        "unused",
        SessionTimeouts(start_confirmation_s=4, max_duration_s=300, cdr_wait_s=3),
        "http://api",
        database=database_identity(str(engine.url), "test-key"),
    )
    app = create_app(context)
    app.state.context = context  # ASGITransport runs no lifespan
    return app


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def unreachable_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """PostgreSQL: nothing listens on the port. SQLite: the database's directory is gone."""
    if request.param == "postgres":
        engine = make_engine(f"postgresql://postgres@127.0.0.1:{free_port()}/networkcore")
    else:
        engine = make_engine(f"sqlite:///{tmp_path / 'gone' / 'networkcore.db'}")
        shutil.rmtree(tmp_path / "gone")
    yield engine
    engine.dispose()


async def test_partners_and_cpos_get_503_with_retry_after_while_the_database_is_away(
    unreachable_database: Engine,
) -> None:
    app = app_on(unreachable_database)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as http:
        partner = await http.get("/v1/balance", headers={"Authorization": f"Bearer {ROAMLY_KEY}"})
        cpo = await http.put(
            "/ocpi/emsp/2.2.1/sessions/DE/STN/s-1", headers={"Authorization": "Token c2ltLXRva2Vu"}, json={}
        )
        ready = await http.get("/health/ready")
        alive = await http.get("/health")

    assert partner.status_code == 503, partner.text
    assert partner.headers["Retry-After"] == "5"
    assert partner.json() == {"detail": "database unavailable; please retry"}

    assert cpo.status_code == 503, cpo.text
    assert cpo.headers["Retry-After"] == "5"
    envelope = cpo.json()
    assert envelope["status_code"] == 3000
    assert envelope["status_message"] == "database unavailable; please retry"

    assert ready.status_code == 503
    assert ready.headers["Retry-After"] == "5"
    assert alive.status_code == 200  # alive, just not ready: no restart needed


async def test_ready_when_the_database_answers(engine: Engine) -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app_on(engine)), base_url="http://api") as http:
        ready = await http.get("/health/ready")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "database": database_identity(str(engine.url), "test-key")}
