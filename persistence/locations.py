"""The CPOs' Locations, EVSEs and connectors as they push them (OCPI 2.2.1 Locations, our Receiver).

Each level keeps the object as we hold it (``body``, without its children, which have rows of their own) and
the columns we query. An object is only ever replaced by one at least as recent (``last_updated``), a change
below bumps the ``last_updated`` of the levels above (mod_locations: the Receiver SHALL), and every status an
EVSE takes is kept. Nothing is deleted: an EVSE leaves with ``status: REMOVED``, as sessions and CDRs refer to
it."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Numeric, bindparam, cast, func, select
from sqlalchemy.orm import Session

from messages.ocpi import format_ocpi_datetime
from messages.ocpi_locations import Connector, Evse, EvseFields, Location
from persistence.repositories import same_ci_parameter, same_ci_string
from persistence.tables import ConnectorRow, CpoRow, EvseRow, EvseStatusRow, LocationRow, TariffRow

Document = dict[str, Any]


def published_counts(db: Session, cpo_id: str) -> tuple[int, int, int]:
    """How many locations, EVSEs and tariffs (each id once, whatever its versions) we hold of the CPO."""
    locations = db.scalar(select(func.count()).where(LocationRow.cpo_id == cpo_id)) or 0
    evses = (
        db.scalar(select(func.count()).select_from(EvseRow).join(LocationRow).where(LocationRow.cpo_id == cpo_id)) or 0
    )
    tariffs = db.scalar(select(func.count(func.distinct(TariffRow.tariff_id))).where(TariffRow.cpo_id == cpo_id)) or 0
    return locations, evses, tariffs


def lock_cpo_locations(db: Session, cpo_id: str) -> None:
    """Take the CPO's row lock for a write to its Locations: our pull and its push of the same new Location
    would otherwise both create it, or check its EVSE ids against half of what the other wrote (under
    PostgreSQL's read committed, each statement sees what committed since the last)."""
    db.get_one(CpoRow, cpo_id, with_for_update=True)


def location_row(db: Session, cpo_id: str, location_id: str) -> LocationRow | None:
    return db.scalars(
        select(LocationRow)
        .where(LocationRow.cpo_id == cpo_id, same_ci_string(LocationRow.location_id, location_id))
        .with_for_update()
    ).first()


def evse_row(db: Session, location: LocationRow, evse_uid: str) -> EvseRow | None:
    return db.scalars(
        select(EvseRow)
        .where(EvseRow.location_key == location.key, same_ci_string(EvseRow.evse_uid, evse_uid))
        .with_for_update()
    ).first()


def connector_row(db: Session, evse: EvseRow, connector_id: str) -> ConnectorRow | None:
    return db.scalars(
        select(ConnectorRow)
        .where(ConnectorRow.evse_key == evse.key, same_ci_string(ConnectorRow.connector_id, connector_id))
        .with_for_update()
    ).first()


# Built once: every Session PUT and CDR asks them. The Location is locked, as for a change of it: a Session
# or CDR arriving while the CPO's PUT or PATCH of that Location is being stored waits for it, then sees the
# EVSE it adds (the EVSE is looked for in a statement of its own, after the wait). Keys only: no bodies.
_LOCATION_KEY = (
    select(LocationRow.key)
    .where(LocationRow.cpo_id == bindparam("cpo_id"), same_ci_parameter(LocationRow.location_id, "location_id"))
    .with_for_update()
)
_EVSE_KEY = select(EvseRow.key).where(
    EvseRow.location_key == bindparam("location_key"), same_ci_parameter(EvseRow.evse_uid, "evse_uid")
)


def known_evse(db: Session, cpo_id: str, location_id: str, evse_uid: str) -> bool:
    """Whether this CPO told us of this EVSE at this Location (whatever its status now)."""
    location_key = db.scalar(_LOCATION_KEY, {"cpo_id": cpo_id, "location_id": location_id.upper()})
    if location_key is None:
        return False
    return db.scalar(_EVSE_KEY, {"location_key": location_key, "evse_uid": evse_uid.upper()}) is not None


def evse_id_elsewhere(db: Session, evse_id: str, location: LocationRow | None, evse_uid: str) -> bool:
    """Whether another EVSE than this one already goes by ``evse_id`` (the id partners start sessions on)."""
    holder = db.execute(
        select(EvseRow.location_key, EvseRow.evse_uid).where(same_ci_string(EvseRow.evse_id, evse_id))
    ).first()
    if holder is None:
        return False
    return location is None or holder.location_key != location.key or holder.evse_uid.upper() != evse_uid.upper()


def status_history(db: Session, evse: EvseRow) -> Sequence[EvseStatusRow]:
    return db.scalars(select(EvseStatusRow).where(EvseStatusRow.evse_key == evse.key).order_by(EvseStatusRow.key)).all()


def location_evses(db: Session, location: LocationRow) -> Sequence[EvseRow]:
    """The Location's EVSEs, in the order the CPO first sent them."""
    return db.scalars(select(EvseRow).where(EvseRow.location_key == location.key).order_by(EvseRow.key)).all()


def location_document(db: Session, location: LocationRow) -> Document:
    return {**location.body, "evses": [evse_document(db, evse) for evse in location_evses(db, location)]}


def evse_document(db: Session, evse: EvseRow) -> Document:
    connectors = db.scalars(
        select(ConnectorRow).where(ConnectorRow.evse_key == evse.key).order_by(ConnectorRow.key)
    ).all()
    return {**evse.body, "connectors": [connector.body for connector in connectors]}


def store_location(
    db: Session, cpo_id: str, location: Location, document: Document, *, now: datetime
) -> tuple[LocationRow, bool]:
    """The Location (and the EVSEs it carries) as received; whether it is new. EVSEs it no longer carries
    stay as they are: a CPO retires one with ``REMOVED``, never by leaving it out."""
    row = location_row(db, cpo_id, location.id)
    created = row is None
    if row is None:
        row = LocationRow(cpo_id=cpo_id, location_id=location.id)
        db.add(row)
    row.country_code = location.country_code
    row.party_id = location.party_id
    row.name = location.name
    row.address = location.address
    row.city = location.city
    row.postal_code = location.postal_code
    row.country = location.country_alpha2
    row.latitude = location.coordinates.latitude
    row.longitude = location.coordinates.longitude
    row.time_zone = location.time_zone
    row.publish = location.publish
    row.last_updated = location.last_updated
    row.body = {field: value for field, value in document.items() if field != "evses"}
    db.flush()
    for evse, evse_document_received in zip(location.evses, document.get("evses", []), strict=True):
        store_evse(db, row, evse, evse_document_received, now=now)
    return row, created


def store_evse(
    db: Session, location: LocationRow, evse: EvseFields, document: Document, *, now: datetime
) -> tuple[EvseRow, bool]:
    """The EVSE (and its connectors, when it carries them) unless ours is newer; whether it is new. Its status,
    when it changed, goes into the history, and the Location's ``last_updated`` follows."""
    row = evse_row(db, location, evse.uid)
    if row is not None and evse.last_updated < row.last_updated:
        return row, False
    created = row is None
    if row is None:
        row = EvseRow(location_key=location.key, evse_uid=evse.uid)
        db.add(row)
    status_changed = created or row.status != evse.status.value
    row.evse_id = evse.evse_id
    row.status = evse.status.value
    row.last_updated = evse.last_updated
    row.body = {field: value for field, value in document.items() if field != "connectors"}
    db.flush()
    if status_changed:
        db.add(EvseStatusRow(evse_key=row.key, status=row.status, changed_at=evse.last_updated, received_at=now))
    if isinstance(evse, Evse):
        for connector, connector_document_received in zip(evse.connectors, document["connectors"], strict=True):
            store_connector(db, location, row, connector, connector_document_received)
    _bump(location, evse.last_updated)
    return row, created


def store_connector(
    db: Session, location: LocationRow, evse: EvseRow, connector: Connector, document: Document
) -> tuple[ConnectorRow, bool]:
    """The connector unless ours is newer; whether it is new. Its EVSE's and Location's ``last_updated``
    follow."""
    row = connector_row(db, evse, connector.id)
    if row is not None and connector.last_updated < row.last_updated:
        return row, False
    created = row is None
    if row is None:
        row = ConnectorRow(evse_key=evse.key, connector_id=connector.id)
        db.add(row)
    row.standard = connector.standard
    row.format = connector.format
    row.power_type = connector.power_type
    row.max_voltage = connector.max_voltage
    row.max_amperage = connector.max_amperage
    row.max_electric_power = connector.max_electric_power
    row.tariff_ids = list(connector.tariff_ids)
    row.last_updated = connector.last_updated
    row.body = document
    _bump(evse, connector.last_updated)
    _bump(location, connector.last_updated)
    return row, created


def _bump(parent: LocationRow | EvseRow, moment: datetime) -> None:
    """A child changed at ``moment``: its parent was last updated then too (unless later already)."""
    if moment > parent.last_updated:
        parent.last_updated = moment
        parent.body = {**parent.body, "last_updated": format_ocpi_datetime(moment)}


@dataclass(frozen=True, slots=True)
class LocationFilter:
    """What a demand partner narrows the published network to (each None: any)."""

    country: str | None = None  # ISO 3166-1 alpha-2
    cpo_id: str | None = None
    evse_id: str | None = None
    available: bool | None = None  # True: with an EVSE AVAILABLE now
    box: tuple[Decimal, Decimal, Decimal, Decimal] | None = None  # south, north, west, east (degrees)


@dataclass(frozen=True, slots=True)
class ListedLocation:
    location: LocationRow
    evses: list[tuple[EvseRow, list[ConnectorRow]]]  # REMOVED ones left out


def published_locations(db: Session, where: LocationFilter, *, after_key: int | None) -> Iterator[ListedLocation]:
    """Published Locations of active CPOs in ``where``, by key from after ``after_key``, with their EVSEs
    (only ``where.evse_id`` when given) and connectors. A generator: the caller stops when it has enough."""
    query = (
        select(LocationRow)
        .join(CpoRow, CpoRow.id == LocationRow.cpo_id)
        .where(LocationRow.publish.is_(True), CpoRow.active.is_(True))
        .order_by(LocationRow.key)
    )
    if after_key is not None:
        query = query.where(LocationRow.key > after_key)
    if where.country is not None:
        query = query.where(LocationRow.country == where.country.upper())
    if where.cpo_id is not None:
        query = query.where(LocationRow.cpo_id == where.cpo_id)
    evses = select(EvseRow.location_key).where(EvseRow.status != "REMOVED")
    if where.evse_id is not None:
        evses = evses.where(same_ci_string(EvseRow.evse_id, where.evse_id))
    if where.available:
        evses = evses.where(EvseRow.status == "AVAILABLE")
    query = query.where(LocationRow.key.in_(evses))
    if where.box is not None:
        south, north, west, east = where.box
        latitude, longitude = cast(LocationRow.latitude, Numeric(10, 7)), cast(LocationRow.longitude, Numeric(10, 7))
        query = query.where(latitude.between(south, north), longitude.between(west, east))
    for location in db.scalars(query).yield_per(100):
        yield ListedLocation(location, _listed_evses(db, location, where.evse_id))


def _listed_evses(db: Session, location: LocationRow, evse_id: str | None) -> list[tuple[EvseRow, list[ConnectorRow]]]:
    query = select(EvseRow).where(EvseRow.location_key == location.key, EvseRow.status != "REMOVED")
    if evse_id is not None:
        query = query.where(same_ci_string(EvseRow.evse_id, evse_id))
    listed = []
    for evse in db.scalars(query.order_by(EvseRow.key)).all():
        connectors = select(ConnectorRow).where(ConnectorRow.evse_key == evse.key).order_by(ConnectorRow.key)
        listed.append((evse, list(db.scalars(connectors).all())))
    return listed
