"""OCPI Tariffs (PUT, DELETE, and GET of our copy): the CPO's official public prices, versioned by
``last_updated``. A session is rated against the version in force when it started, so versions are only
ever added."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal

from sqlalchemy.orm import Session

from domain.parties import Cpo
from domain.tariffs.model import TariffInvalid, parse_datetime, parse_tariff
from persistence import repositories as repo
from persistence.tables import TariffRow
from services.context import WriteAndStart
from services.ocpi.forwarding import receive
from services.ocpi.inbox import CpoMessage, Inbox, IntakeResult, Kind, Outcome, same_ids

TariffPath = tuple[str, str, str]  # country_code, party_id, tariff_id


async def receive_put(context: WriteAndStart, cpo: Cpo, path: TariffPath, body: bytes) -> IntakeResult:
    message = CpoMessage(cpo, Kind.TARIFF_PUT, path[2], body)
    return await receive(context, "Tariff", message, lambda db: put_tariff(db, cpo, path, body))


async def receive_delete(context: WriteAndStart, cpo: Cpo, path: TariffPath, now: datetime) -> IntakeResult:
    message = CpoMessage(cpo, Kind.TARIFF_DELETE, path[2], b"")
    return await receive(context, "Tariff", message, lambda db: delete_tariff(db, cpo, path, now))


def put_tariff(db: Session, cpo: Cpo, path: TariffPath, body: bytes) -> IntakeResult:
    """A new version of a CPO tariff. A bad one is refused naming the field; the version in force stays."""
    country_code, party_id, tariff_id = path
    inbox = Inbox(db, cpo, Kind.TARIFF_PUT, tariff_id, body)
    if not cpo.is_party(country_code, party_id):
        return inbox.not_its_party(country_code, party_id)
    try:
        document = json.loads(body, parse_float=Decimal)
        if not isinstance(document, dict):
            raise TariffInvalid("tariff", "must be an object")
        tariff = parse_tariff(document)
        named = [document.get(field) for field in ("country_code", "party_id", "id")]
        if not same_ids([part for part in named if isinstance(part, str)], path):
            raise TariffInvalid("tariff.id", "country_code/party_id/id in the body differ from the URL")
        if "last_updated" not in document:
            raise TariffInvalid("tariff.last_updated", "is required")
        last_updated = parse_datetime(document["last_updated"], "tariff.last_updated")
    except TariffInvalid as invalid:
        return inbox.reject(str(invalid))
    except ValueError as error:
        return inbox.reject(f"tariff: {error}")
    existing = repo.tariff_by_version(db, cpo.id, tariff_id, last_updated)
    if existing is not None:
        if json.loads(existing.body, parse_float=Decimal) != document:
            return inbox.reject("this last_updated already names another version: send a new last_updated")
        return inbox.accept(Outcome.DUPLICATE, "Success (already held)")
    latest = repo.latest_tariff(db, cpo.id, tariff_id)
    if latest is not None and last_updated < latest.last_updated:
        return inbox.accept(Outcome.STALE, "older than the version we hold; stored, not applied")
    db.add(
        TariffRow(
            cpo_id=cpo.id,
            tariff_id=tariff_id,
            currency=tariff.currency,
            last_updated=last_updated,
            start_date_time=tariff.start_date_time,
            end_date_time=tariff.end_date_time,
            body=body.decode(),
            deleted=False,
        )
    )
    return inbox.accept(Outcome.APPLIED, http_status=201)


def delete_tariff(db: Session, cpo: Cpo, path: TariffPath, now: datetime) -> IntakeResult:
    """The tariff is no longer offered from now on; sessions that started under it keep their version."""
    country_code, party_id, tariff_id = path
    inbox = Inbox(db, cpo, Kind.TARIFF_DELETE, tariff_id, b"")
    if not cpo.is_party(country_code, party_id):
        return inbox.not_its_party(country_code, party_id)
    latest = repo.latest_tariff(db, cpo.id, tariff_id)
    if latest is None:
        return inbox.reject("unknown tariff", outcome=Outcome.UNKNOWN_TARIFF)
    if not latest.deleted:
        db.add(
            TariffRow(
                cpo_id=cpo.id,
                tariff_id=tariff_id,
                currency=latest.currency,
                last_updated=max(now, latest.last_updated),
                start_date_time=None,
                end_date_time=None,
                body=latest.body,
                deleted=True,
            )
        )
    return inbox.accept(Outcome.APPLIED)


def held_tariff(db: Session, cpo: Cpo, path: TariffPath) -> str | None:
    """The newest version we hold of the CPO's Tariff, as the CPO sent it (JSON text: its prices are never
    read as floats); None when we hold none, it was deleted, or the key is another party's."""
    country_code, party_id, tariff_id = path
    if not cpo.is_party(country_code, party_id):
        return None
    latest = repo.latest_tariff(db, cpo.id, tariff_id)
    return None if latest is None or latest.deleted else latest.body
