"""Migration 0020 on both databases: the tokens we present to CPOs, stored in clear before, are sealed with
the configured key (and opened again by the downgrade); without a key the migration refuses and changes
nothing; the connections get the columns of the PUT grace."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import column, inspect, select, table, text

from adapters.token_cipher import SEALED_PREFIX, TokenCipher, new_token_key
from persistence.db import make_engine
from persistence.migrate import OCPI_TOKEN_KEY, alembic_config, upgrade
from tests.integration.test_error_type_migration import database_at

# The table as revision 0019 has it.
cpos = table(
    "cpos",
    *(
        column(name)
        for name in (
            "id", "name", "legal_entity", "country_code", "party_id", "country", "payout_currency", "active",
            "commands_url", "outbound_token",
        )
    ),
)  # fmt: skip
GRACE_COLUMNS = {"grace_token_sha256", "grace_put_sha256", "grace_reply_token", "grace_until"}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_at_0019(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database at 0019 with two CPOs: one with a token in clear, one without (not registered yet)."""
    for url in database_at(request.param, tmp_path, "0019"):
        insert_cpos(url)
        yield url


def insert_cpos(url: str) -> None:
    engine = make_engine(url)
    with engine.begin() as connection:
        for cpo_id, party_id, token in (("cpo-de-stn", "STN", "ours-to-it"), ("cpo-de-new", "NEW", "")):
            connection.execute(
                cpos.insert().values(
                    id=cpo_id,
                    name=party_id,
                    legal_entity=party_id,
                    country_code="DE",
                    party_id=party_id,
                    country="DE",
                    payout_currency="EUR",
                    active=bool(token),
                    commands_url="http://cpo/commands/",
                    outbound_token=token,
                )
            )
    engine.dispose()


def stored_tokens(url: str) -> dict[str, str]:
    engine = make_engine(url)
    with engine.connect() as connection:
        found = {row.id: row.outbound_token for row in connection.execute(select(cpos.c.id, cpos.c.outbound_token))}
    engine.dispose()
    return found


def revision(url: str) -> str:
    engine = make_engine(url)
    with engine.connect() as connection:
        found = str(connection.execute(text("SELECT version_num FROM alembic_version")).scalar_one())
    engine.dispose()
    return found


def test_clear_tokens_are_sealed_with_the_key_given_and_opened_again_by_the_downgrade(database_at_0019: str) -> None:
    url, key = database_at_0019, new_token_key()
    upgrade(url, ocpi_token_key=key)

    tokens = stored_tokens(url)
    assert tokens["cpo-de-stn"].startswith(SEALED_PREFIX)
    assert TokenCipher(key).reveal(tokens["cpo-de-stn"]) == "ours-to-it"
    assert tokens["cpo-de-new"] == "", "no token stays no token"
    engine = make_engine(url)
    assert {c["name"] for c in inspect(engine).get_columns("ocpi_connections")} >= GRACE_COLUMNS
    engine.dispose()

    config = alembic_config(url)
    config.attributes[OCPI_TOKEN_KEY] = key
    command.downgrade(config, "0019")
    assert stored_tokens(url) == {"cpo-de-stn": "ours-to-it", "cpo-de-new": ""}


def test_without_a_key_clear_tokens_stop_the_migration_and_nothing_changes(
    database_at_0019: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NETWORKCORE_OCPI_TOKEN_KEY", raising=False)
    with pytest.raises(RuntimeError, match="NETWORKCORE_OCPI_TOKEN_KEY"):
        upgrade(database_at_0019)
    assert stored_tokens(database_at_0019)["cpo-de-stn"] == "ours-to-it"
    assert revision(database_at_0019) == "0019"
