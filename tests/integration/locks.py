"""Waiting, in a test, until another transaction waits for a lock the test's transaction holds (PostgreSQL)."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import Engine, text

_WAITING = text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()")


def wait_until_a_transaction_waits_for_a_lock(engine: Engine, failure: str) -> None:
    """Returns once some transaction on the database waits for a lock; fails the test with ``failure`` if none
    does within 4 s."""
    for _ in range(200):
        with engine.connect() as connection:
            if connection.scalar(_WAITING):
                return
        time.sleep(0.02)
    pytest.fail(failure)
