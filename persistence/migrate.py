"""Bring a database to the newest schema (``networkcore migrate``, tests, the demo)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from persistence.db import make_engine, normalise_url

MIGRATIONS = Path(__file__).parent / "migrations"
OCPI_TOKEN_KEY = "ocpi_token_key"  # the attribute migration 0020 reads its key from


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", normalise_url(url).replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head", *, ocpi_token_key: str | None = None) -> None:
    """``ocpi_token_key``: the key 0020 encrypts the tokens we present to CPOs with (without it, the
    environment's ``NETWORKCORE_OCPI_TOKEN_KEY``; needed only when such tokens are stored in clear)."""
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            config = alembic_config(url)
            config.attributes["connection"] = connection
            config.attributes[OCPI_TOKEN_KEY] = ocpi_token_key
            command.upgrade(config, revision)
    finally:
        # Also when a migration refuses (0020 without its key): no connection is left open.
        engine.dispose()
