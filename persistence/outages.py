"""What a database outage looks like from here: the errors that mean "not reachable now, try again later"
(refused or dropped connections, an exhausted pool, SQLite busy), and a cheap round trip to check."""

from __future__ import annotations

from typing import Final

from sqlalchemy import exc, text
from sqlalchemy.orm import Session

DATABASE_UNAVAILABLE: Final[tuple[type[Exception], ...]] = (
    exc.OperationalError,
    exc.InterfaceError,
    exc.DisconnectionError,
    exc.TimeoutError,
)


def ping(db: Session) -> None:
    db.execute(text("SELECT 1"))
