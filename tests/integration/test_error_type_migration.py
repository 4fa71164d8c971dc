"""Migration 0011 on both databases: sessions and corrections stopped before it get the ErrorType their
reason names; other reasons get none; the downgrade drops the columns again."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, Engine, column, inspect, select, table

from persistence.db import make_engine
from persistence.migrate import alembic_config, upgrade
from persistence.tables import Base
from tests.conftest import _fresh_postgres

NOW = datetime(2026, 6, 1, tzinfo=UTC)
SESSION_REASONS = {
    "parked": ("settlement stopped (FxRateMissing): no EUR/QAR rate on 2026-06-01", "FxRateMissing"),
    "failed": ("clearing failed (TariffInvalid): tariff.elements: must be a non-empty list", "TariffInvalid"),
    "untyped": ("clearing failed: the tariff is broken", None),  # recorded before ErrorType existed
    "discrepancy": ("price discrepancy: CPO claims 1.00 (ours 0.90)", None),
    "settled": (None, None),
}
CORRECTION_REASONS = {
    "stopped": ("correction stopped (VatRateMissing): no VAT rate for DE on 2026-06-01", "VatRateMissing"),
    "done": (None, None),
}

demand_partners = table(
    "demand_partners",
    *(column(name) for name in ("id", "name", "legal_entity", "country", "billing_currency", "active", "created_at")),
)
sessions = table(
    "sessions",
    *(
        column(name)
        for name in (
            "id",
            "demand_partner_id",
            "request_fingerprint",
            "evse_id",
            "driver_reference",
            "stage",
            "reason",
            "needs_attention",
            "kwh",
            "created_at",
            "updated_at",
            "error_type",
        )
    ),
)
corrections = table(
    "settlement_corrections",
    *(column(name) for name in ("workflow_id", "session_id", "cause", "state", "reason", "requested_at", "error_type")),
)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_at_0010(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh database at the revision before error types, per backend."""
    yield from database_at(request.param, tmp_path, "0010")


def database_at(backend: str, tmp_path: Path, revision: str) -> Iterator[str]:
    """A fresh database of ``backend`` (sqlite or postgres) migrated to ``revision``."""
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'networkcore.db'}"
        upgrade(url, revision)
        yield url
        return
    for url in _fresh_postgres():
        upgrade(url, revision)
        yield url


def schema_differences(engine: Engine) -> list[str]:
    """How the migrated database differs from the ORM's tables (``Base.metadata``), one line per difference.
    Expression-based indexes cannot be reflected on SQLite: warned about, not compared."""
    with engine.connect() as connection, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return [str(d) for d in compare_metadata(MigrationContext.configure(connection), Base.metadata)]


def insert_partner(db: Connection) -> None:
    """The demand partner ``dp-1`` the sessions inserted below belong to."""
    db.execute(
        demand_partners.insert().values(
            id="dp-1", name="P", legal_entity="P", country="DE", billing_currency="EUR", active=True, created_at=NOW
        )
    )


def session_values(session_id: str, **columns: object) -> dict[str, object]:
    """A session of ``dp-1`` as the migration tests insert it; ``columns`` replace the defaults."""
    defaults: dict[str, object] = {
        "id": session_id,
        "demand_partner_id": "dp-1",
        "request_fingerprint": "f",
        "evse_id": "DE*STN*E1",
        "driver_reference": "d",
        "stage": "SETTLED",
        "reason": None,
        "needs_attention": False,
        "kwh": 0,
        "created_at": NOW,
        "updated_at": NOW,
    }
    return defaults | columns


def _stopped_before_the_deploy(url: str) -> None:
    engine = make_engine(url)
    with engine.begin() as db:
        insert_partner(db)
        for session_id, (reason, _) in SESSION_REASONS.items():
            db.execute(
                sessions.insert().values(
                    **session_values(session_id, stage="CLEARED", reason=reason, needs_attention=reason is not None)
                )
            )
        for workflow_id, (reason, _) in CORRECTION_REASONS.items():
            db.execute(
                corrections.insert().values(
                    workflow_id=workflow_id,
                    session_id="settled",
                    cause="DISPUTE",
                    state="STOPPED" if reason else "DONE",
                    reason=reason,
                    requested_at=NOW,
                )
            )
    engine.dispose()


def test_rows_stopped_before_the_migration_get_the_error_type_their_reason_names(database_at_0010: str) -> None:
    _stopped_before_the_deploy(database_at_0010)

    upgrade(database_at_0010)

    engine = make_engine(database_at_0010)
    with engine.connect() as db:
        assert {row.id: row.error_type for row in db.execute(select(sessions.c.id, sessions.c.error_type))} == {
            session_id: error_type for session_id, (_, error_type) in SESSION_REASONS.items()
        }
        assert {
            row.workflow_id: row.error_type
            for row in db.execute(select(corrections.c.workflow_id, corrections.c.error_type))
        } == {workflow_id: error_type for workflow_id, (_, error_type) in CORRECTION_REASONS.items()}
    engine.dispose()

    command.downgrade(alembic_config(database_at_0010), "0010")

    engine = make_engine(database_at_0010)
    for name in ("sessions", "settlement_corrections"):
        assert "error_type" not in {c["name"] for c in inspect(engine).get_columns(name)}
    with engine.connect() as db:
        assert len(db.execute(select(sessions.c.id)).all()) == len(SESSION_REASONS)  # the rows stay
    engine.dispose()
