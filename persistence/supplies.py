"""A session's supply of electricity as its invoice lines describe it, mapped from its rows: when (the
CDR's end) and where (the EVSE and its location)."""

from __future__ import annotations

import json
from datetime import UTC, date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.invoicing.chain import SessionSupply
from domain.tariffs.model import parse_datetime
from persistence.tables import CdrRow, LocationRow, SessionRow


def supply_date(cdr: CdrRow) -> date:
    """The day the charging ended (UTC): the chargeable event, whose rate VAT rules ask for."""
    body = json.loads(cdr.body, parse_float=Decimal)
    return parse_datetime(body["end_date_time"], "cdr.end_date_time").astimezone(UTC).date()


def session_supply(db: Session, session: SessionRow, cdr: CdrRow) -> SessionSupply:
    assert session.country, "an authorised session knows its charger's country"
    return SessionSupply(
        session.id, cdr.total_energy_kwh, supply_date(cdr), session.country, _location(db, session), session.quote_id
    )


def _location(db: Session, session: SessionRow) -> str:
    location = db.scalar(
        select(LocationRow).where(LocationRow.cpo_id == session.cpo_id, LocationRow.location_id == session.location_id)
    )
    where = f"EVSE {session.evse_id}"
    return where if location is None else f"{where}, {location.address}, {location.city} ({location.country})"
