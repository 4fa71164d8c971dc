"""The database ``networkcore bench --database-url`` runs on: a scratch database on the server the URL names, however
the URL is written, gone after the run; and the URL helpers it is made with."""

from __future__ import annotations

import psycopg
import pytest

from cli.bench_ledger import scratch_postgres
from persistence.db import backend_name, database_url_named, libpq_url
from tests.conftest import IN_CI, POSTGRES_ADMIN_URL, postgres_available


def test_the_backend_is_named_whichever_way_the_url_is_written() -> None:
    assert backend_name("postgresql+psycopg://postgres@127.0.0.1:5432/postgres") == "postgresql"
    assert backend_name("postgres://postgres@db/networkcore") == "postgresql"
    assert backend_name("sqlite:///.data/networkcore.db") == "sqlite"


def test_libpq_reads_a_url_without_sqlalchemys_driver_and_keeps_the_password() -> None:
    assert (
        libpq_url("postgresql+psycopg://app:s3cret@db:5433/networkcore")
        == "postgresql://app:s3cret@db:5433/networkcore"
    )
    assert libpq_url("postgres://app@db/networkcore") == "postgresql://app@db/networkcore"


def test_another_database_on_the_same_server_is_written_as_the_url_was() -> None:
    named = database_url_named("postgresql+psycopg://app:s3cret@db:5433/postgres?sslmode=require", "nc_bench_1")

    assert named == "postgresql+psycopg://app:s3cret@db:5433/nc_bench_1?sslmode=require"


@pytest.mark.postgres
def test_a_scratch_database_on_a_server_given_in_sqlalchemys_form_is_dropped_afterwards() -> None:
    if not postgres_available():
        if IN_CI:
            pytest.fail(f"CI=true but PostgreSQL is not reachable at {POSTGRES_ADMIN_URL}")
        pytest.skip("PostgreSQL is not reachable (this test always runs under CI=true)")
    server = POSTGRES_ADMIN_URL.replace("postgresql://", "postgresql+psycopg://", 1)

    with scratch_postgres(server) as url:
        assert url is not None
        assert url.startswith("postgresql+psycopg://")
        with psycopg.connect(libpq_url(url)) as scratch:
            name = scratch.execute("SELECT current_database()").fetchone()
        assert name is not None
        assert name[0].startswith("nc_bench_")

    with psycopg.connect(POSTGRES_ADMIN_URL) as admin:
        left = admin.execute("SELECT count(*) FROM pg_database WHERE datname = %s", (name[0],)).fetchone()
    assert left == (0,)
