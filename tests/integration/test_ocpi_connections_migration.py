"""Migration 0018 on both databases: every CPO's token moves from ``cpos`` into a REGISTERED connection, so
CPOs connected before keep authenticating; rows pointing at ``cpos`` survive SQLite's rebuild of it; the
downgrade gives registered CPOs their token back."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import column, inspect, select, table
from sqlalchemy.orm import Session

from persistence.db import make_engine
from persistence.migrate import alembic_config, upgrade
from persistence.ocpi_connections import caller_for_token
from services.ocpi.credentials import token_sha256
from tests.integration.test_error_type_migration import database_at

# The tables as revision 0017 has them.
cpos = table(
    "cpos",
    *(
        column(name)
        for name in (
            "id", "name", "legal_entity", "country_code", "party_id", "country", "payout_currency", "active",
            "inbound_token_sha256", "commands_url", "outbound_token",
        )
    ),
)  # fmt: skip
inbox = table(
    "ocpi_inbox",
    *(column(name) for name in ("received_at", "cpo_id", "kind", "object_id", "outcome", "status_code", "body")),
)
TOKEN = "seeded-token-of-stromnetz"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_at_0017(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield from database_at(request.param, tmp_path, "0017")


def test_connected_cpos_keep_their_token_through_0018_and_back(database_at_0017: str) -> None:
    url = database_at_0017
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(
            cpos.insert().values(
                id="cpo-de-stn",
                name="Stromnetz",
                legal_entity="Stromnetz GmbH",
                country_code="DE",
                party_id="STN",
                country="DE",
                payout_currency="EUR",
                active=True,
                inbound_token_sha256=token_sha256(TOKEN),
                commands_url="http://cpo/commands/",
                outbound_token="ours-to-it",
            )
        )
        connection.execute(
            inbox.insert().values(
                received_at=datetime(2026, 6, 1, tzinfo=UTC),
                cpo_id="cpo-de-stn",
                kind="CDR",
                object_id="C1",
                outcome="ACCEPTED",
                status_code=1000,
                body="{}",
            )
        )
    engine.dispose()

    upgrade(url)

    engine = make_engine(url)
    assert "inbound_token_sha256" not in {c["name"] for c in inspect(engine).get_columns("cpos")}
    with Session(engine) as db:
        caller = caller_for_token(db, token_sha256(TOKEN), now=datetime.now(UTC))
        assert caller is not None
        assert caller.cpo is not None
        assert (caller.cpo.id, caller.registering) == ("cpo-de-stn", False)
        assert caller_for_token(db, token_sha256("another"), now=datetime.now(UTC)) is None
        assert db.scalars(select(inbox.c.cpo_id)).all() == ["cpo-de-stn"]
    engine.dispose()

    command.downgrade(alembic_config(url), "0017")

    engine = make_engine(url)
    with engine.connect() as connection:
        assert connection.execute(select(cpos.c.inbound_token_sha256)).scalars().all() == [token_sha256(TOKEN)]
    engine.dispose()
