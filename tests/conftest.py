"""Shared fixtures: real Temporal servers from the pip wheels (never a download), and fresh databases on
SQLite and PostgreSQL. Under CI=true PostgreSQL must be reachable: its tests run, they never skip."""

from __future__ import annotations

import itertools
import os
import random
import shutil
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import psycopg
import pytest
import pytest_asyncio
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from temporalio.testing import WorkflowEnvironment

from adapters.temporal_client import DATA_CONVERTER
from adapters.token_cipher import TokenCipher
from persistence.db import make_engine, make_session_factory
from persistence.migrate import upgrade
from services.ocpi.credentials import PeerAccess
from workflows.search_attributes import ALL

# Every test's stack and worker read these, as the dev stack's children do: a fixed key the tokens we
# present to CPOs are sealed with, and CPOs (fakes, the simulator) on http://127.0.0.1.
TEST_TOKEN_KEY = "dGVzdC1rZXktb2YtdGhlLXRlc3Qtc3VpdGUtMzJieXQ="
os.environ.setdefault("NETWORKCORE_OCPI_TOKEN_KEY", TEST_TOKEN_KEY)
os.environ.setdefault("NETWORKCORE_OCPI_ALLOW_INSECURE_PEERS", "true")
TEST_PEERS = PeerAccess(TokenCipher(TEST_TOKEN_KEY), allow_insecure=True)

# Party ids of the CPOs tests invite: three hex digits, never the same twice in one run (a random draw
# from 4,096 repeated itself in CI, and the e2e stack's database outlives a module).
_party_ids = (f"{n:03X}" for n in itertools.count(random.randrange(2048)))


def fresh_party_id() -> str:
    return next(_party_ids)


POSTGRES_ADMIN_URL = os.environ.get("NETWORKCORE_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")
IN_CI = os.environ.get("CI", "").lower() == "true"


def server_binary(name: str) -> str:
    candidate = Path(sys.executable).parent / name
    found = str(candidate) if candidate.exists() else shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is missing: install the pinned dev requirements (make install)")
    return found


@pytest_asyncio.fixture(scope="session")
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    """The real Temporal dev server (in memory), with our search attributes registered."""
    async with await WorkflowEnvironment.start_local(
        dev_server_existing_path=server_binary("temporal"),
        data_converter=DATA_CONVERTER,
        search_attributes=list(ALL),
        dev_server_extra_args=["--log-level", "error"],
    ) as env:
        yield env


def postgres_available() -> bool:
    try:
        with psycopg.connect(POSTGRES_ADMIN_URL, connect_timeout=2):
            return True
    except psycopg.OperationalError:
        return False


def _fresh_postgres() -> Iterator[str]:
    if not postgres_available():
        if IN_CI:
            pytest.fail(f"CI=true but PostgreSQL is not reachable at {POSTGRES_ADMIN_URL}")
        pytest.skip("PostgreSQL is not reachable (these tests always run under CI=true)")
    name = f"nc_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        yield url
    finally:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A fresh, migrated database per backend for the whole run."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'networkcore.db'}"
        upgrade(url)
        yield url
        return
    for url in _fresh_postgres():
        upgrade(url)
        yield url


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def writes(engine: Engine) -> sessionmaker[Session]:
    return make_session_factory(engine)
