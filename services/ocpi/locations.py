"""OCPI Locations, our Receiver (PUT, PATCH and GET at the Location, EVSE and Connector depth): the CPO's
chargers as it pushes them. Stored as received with the columns we query (``persistence/locations.py``);
authorisation reads an EVSE's status and its connectors' ``tariff_ids`` from there, rating its Location's
``time_zone``.

Answers (ocpi-connect.md §4.5): a new object 201, a changed one 200, both 1000; an update older than ours
1000 too, stored and not applied (an older message never overwrites a newer one); a field wrong, ids that
differ from the URL or a PATCH without ``last_updated`` 2001 naming it; an object under an unknown parent, or
a PATCH of an unknown object, 404 with 2003 (the CPO then PUTs it whole); a country/party not the CPO's 404.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from domain.parties import Cpo
from messages.ocpi_locations import Connector, Evse, EvseFields, Location, ObjectPatch
from persistence import locations as stored
from persistence.tables import LocationRow
from services.context import WriteAndStart
from services.ocpi.forwarding import receive
from services.ocpi.inbox import CpoMessage, Inbox, IntakeResult, Kind, Outcome, parse, same_ids

# country_code, party_id, location_id, then evse_uid and connector_id as deep as the URL goes.
LocationPath = tuple[str, ...]
Document = dict[str, Any]


async def receive_put(context: WriteAndStart, cpo: Cpo, path: LocationPath, body: bytes) -> IntakeResult:
    message = CpoMessage(cpo, Kind.LOCATION_PUT, object_id(path), body)
    return await receive(context, "Location", message, lambda db: put(db, cpo, path, body))


async def receive_patch(context: WriteAndStart, cpo: Cpo, path: LocationPath, body: bytes) -> IntakeResult:
    message = CpoMessage(cpo, Kind.LOCATION_PATCH, object_id(path), body)
    return await receive(context, "Location", message, lambda db: patch(db, cpo, path, body))


def object_id(path: LocationPath) -> str:
    """How the inbox names the object: location id, EVSE uid and connector id as deep as the URL goes."""
    return "/".join(path[2:])


def put(db: Session, cpo: Cpo, path: LocationPath, body: bytes) -> IntakeResult:
    """The object at the URL's depth, whole: created, or replaced unless ours is newer."""
    inbox = Inbox(db, cpo, Kind.LOCATION_PUT, object_id(path), body)
    if not cpo.is_party(path[0], path[1]):
        return inbox.not_its_party(path[0], path[1])
    stored.lock_cpo_locations(db, cpo.id)
    now = datetime.now(UTC)
    if len(path) == 3:
        return _put_location(db, inbox, cpo, path, body, now)
    location = stored.location_row(db, cpo.id, path[2])
    if location is None:
        return inbox.unknown_location(f"unknown location {path[2]}: PUT the Location first", http_status=404)
    if len(path) == 4:
        return _put_evse(db, inbox, location, path[3], body, now)
    evse = stored.evse_row(db, location, path[3])
    if evse is None:
        return inbox.unknown_location(f"unknown EVSE {path[3]} at {path[2]}: PUT the EVSE first", http_status=404)
    connector = parse(Connector, body)
    if isinstance(connector, str):
        return inbox.reject(connector)
    if not same_ids([connector.id], path[4:]):
        return inbox.reject("connector.id differs from the URL")
    held = stored.connector_row(db, evse, connector.id)
    if held is not None and connector.last_updated < held.last_updated:
        return _stale(inbox)
    _, created = stored.store_connector(db, location, evse, connector, json.loads(body))
    return _applied(inbox, created)


def _put_location(db: Session, inbox: Inbox, cpo: Cpo, path: LocationPath, body: bytes, now: datetime) -> IntakeResult:
    location = parse(Location, body)
    if isinstance(location, str):
        return inbox.reject(location)
    return _store_location(db, inbox, cpo, path, location, json.loads(body), now)


def _store_location(
    db: Session, inbox: Inbox, cpo: Cpo, path: LocationPath, location: Location, document: Document, now: datetime
) -> IntakeResult:
    if not same_ids((location.country_code, location.party_id, location.id), path):
        return inbox.reject("country_code/party_id/id in the body differ from the URL")
    held = stored.location_row(db, cpo.id, location.id)
    if held is not None and location.last_updated < held.last_updated:
        return _stale(inbox)
    taken = _evse_ids_taken(db, held, location.evses)
    if taken is not None:
        return inbox.reject(taken)
    _, created = stored.store_location(db, cpo.id, location, document, now=now)
    return _applied(inbox, created)


def _put_evse(
    db: Session, inbox: Inbox, location: LocationRow, evse_uid: str, body: bytes, now: datetime
) -> IntakeResult:
    evse = parse(Evse, body)
    if isinstance(evse, str):
        return inbox.reject(evse)
    return _store_evse(db, inbox, location, evse_uid, evse, json.loads(body), now)


def _store_evse(
    db: Session,
    inbox: Inbox,
    location: LocationRow,
    evse_uid: str,
    evse: EvseFields,
    document: Document,
    now: datetime,
) -> IntakeResult:
    if not same_ids([evse.uid], [evse_uid]):
        return inbox.reject("evse.uid differs from the URL")
    held = stored.evse_row(db, location, evse.uid)
    if held is not None and evse.last_updated < held.last_updated:
        return _stale(inbox)
    taken = _evse_ids_taken(db, location, [evse])
    if taken is not None:
        return inbox.reject(taken)
    _, created = stored.store_evse(db, location, evse, document, now=now)
    return _applied(inbox, created)


def patch(db: Session, cpo: Cpo, path: LocationPath, body: bytes) -> IntakeResult:
    """What changed in the object at the URL's depth, which must exist; lists it carries (a Location's
    ``evses``, an EVSE's ``connectors``) are whole objects, each stored as a PUT of it would be."""
    inbox = Inbox(db, cpo, Kind.LOCATION_PATCH, object_id(path), body)
    if not cpo.is_party(path[0], path[1]):
        return inbox.not_its_party(path[0], path[1])
    stored.lock_cpo_locations(db, cpo.id)
    changes = parse(ObjectPatch, body)
    if isinstance(changes, str):
        return inbox.reject(changes)
    changed: Document = json.loads(body)
    now = datetime.now(UTC)
    location = stored.location_row(db, cpo.id, path[2])
    if location is None:
        return inbox.unknown_location(f"unknown location {path[2]}: PUT it whole", http_status=404)
    if len(path) == 3:
        if changes.last_updated < location.last_updated:
            return _stale(inbox)
        merged = parse(Location, _as_body({**location.body, **changed}))
        if isinstance(merged, str):
            return inbox.reject(merged)
        return _store_location(db, inbox, cpo, path, merged, {**location.body, **changed}, now)
    evse = stored.evse_row(db, location, path[3])
    if evse is None:
        return inbox.unknown_location(f"unknown EVSE {path[3]} at {path[2]}: PUT it whole", http_status=404)
    if len(path) == 4:
        if changes.last_updated < evse.last_updated:
            return _stale(inbox)
        document = {**evse.body, **changed}
        # An EVSE PATCH that leaves the connectors alone (a status change) changes the EVSE's own fields only.
        model: type[EvseFields] = Evse if "connectors" in changed else EvseFields
        merged_evse = parse(model, _as_body(document))
        if isinstance(merged_evse, str):
            return inbox.reject(merged_evse)
        return _store_evse(db, inbox, location, path[3], merged_evse, document, now)
    connector = stored.connector_row(db, evse, path[4])
    if connector is None:
        return inbox.unknown_location(f"unknown connector {path[4]} of EVSE {path[3]}: PUT it whole", http_status=404)
    if changes.last_updated < connector.last_updated:
        return _stale(inbox)
    document = {**connector.body, **changed}
    merged_connector = parse(Connector, _as_body(document))
    if isinstance(merged_connector, str):
        return inbox.reject(merged_connector)
    if not same_ids([merged_connector.id], path[4:]):
        return inbox.reject("connector.id differs from the URL")
    stored.store_connector(db, location, evse, merged_connector, document)
    return _applied(inbox, created=False)


def object_at(db: Session, cpo: Cpo, path: LocationPath) -> Document | None:
    """GET: the object at the URL's depth as we hold it (children included), or None when it is not one of
    this CPO's that we know."""
    if not cpo.is_party(path[0], path[1]):
        return None
    location = stored.location_row(db, cpo.id, path[2])
    if location is None:
        return None
    if len(path) == 3:
        return stored.location_document(db, location)
    evse = stored.evse_row(db, location, path[3])
    if evse is None:
        return None
    if len(path) == 4:
        return stored.evse_document(db, evse)
    connector = stored.connector_row(db, evse, path[4])
    return None if connector is None else connector.body


def _evse_ids_taken(db: Session, location: LocationRow | None, evses: Iterable[EvseFields]) -> str | None:
    """Partners start sessions by ``evse_id``: one already another EVSE's is refused."""
    for evse in evses:
        if evse.evse_id is not None and stored.evse_id_elsewhere(db, evse.evse_id, location, evse.uid):
            return f"evse_id {evse.evse_id} is already another EVSE's"
    return None


def _as_body(document: Document) -> bytes:
    return json.dumps(document).encode()


def _applied(inbox: Inbox, created: bool) -> IntakeResult:
    return inbox.accept(Outcome.APPLIED, http_status=201 if created else 200)


def _stale(inbox: Inbox) -> IntakeResult:
    return inbox.accept(Outcome.STALE, "older than what we hold; stored, not applied")
