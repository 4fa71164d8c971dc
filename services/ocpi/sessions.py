"""OCPI Sessions (PUT and PATCH): the CPO's view of a charging session. Stored, applied to our read model,
and forwarded to the session's workflow only when its status is news: meter updates stay here. A Session
carrying the ``authorization_reference`` of a real-time authorisation we gave this CPO is a session the
driver started at the charger: the first PUT registers it under that reference and starts its workflow
(no START_SESSION), charged to the token's partner. So does a Session without one for a token whose
whitelist let the CPO start it on its own: that Session is the authorisation request, decided as it arrives
(refused: the Session is refused, with why, and kept for ops)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from domain.parties import Cpo
from domain.sessions.lifecycle import (
    CpoSessionStatus,
    SessionStage,
    cpo_status_advances,
    stage_for_cpo_status,
)
from messages.ocpi import LocationReferences, OcpiStatus, SessionPatch
from messages.ocpi import Session as OcpiSession
from messages.sessions import ChargingSessionInput, CpoSessionReported
from persistence import locations as stored_locations
from persistence import repositories as repo
from persistence import tokens
from persistence.locations import known_evse
from persistence.tables import OcpiSessionRow, SessionRow
from services.ocpi.forwarding import receive
from services.ocpi.inbox import (
    CpoMessage,
    Inbox,
    IntakeResult,
    Kind,
    Outcome,
    SessionStart,
    Signal,
    our_session,
    parse,
    same_ids,
)
from services.ocpi.spending_caps import CappedSessionContext, may_reach_max_amount, stop_at_max_amount
from services.ocpi.tokens import authorise_whitelisted

# The statuses the workflow acts on; PENDING and RESERVATION change nothing for it.
FORWARDED_STATUSES = frozenset({CpoSessionStatus.ACTIVE, CpoSessionStatus.COMPLETED, CpoSessionStatus.INVALID})

SessionPath = tuple[str, str, str]  # country_code, party_id, session_id: the CPO's key of its Session


async def receive_put(context: CappedSessionContext, cpo: Cpo, path: SessionPath, body: bytes) -> IntakeResult:
    return await _receive(context, put_session, CpoMessage(cpo, Kind.SESSION_PUT, path[2], body), path)


async def receive_patch(context: CappedSessionContext, cpo: Cpo, path: SessionPath, body: bytes) -> IntakeResult:
    return await _receive(context, patch_session, CpoMessage(cpo, Kind.SESSION_PATCH, path[2], body), path)


async def _receive(
    context: CappedSessionContext,
    intake: Callable[[Session, Cpo, SessionPath, bytes], IntakeResult],
    message: CpoMessage,
    path: SessionPath,
) -> IntakeResult:
    result = await receive(
        context,
        "Session",
        message,
        lambda db: intake(db, message.cpo, path, message.body),
        forwarded=lambda db, signal: _mark_forwarded(db, path, signal),
    )
    if result.status == OcpiStatus.SUCCESS and result.our_session_id is not None and result.may_reach_max_amount:
        # Every applied report is checked, a repeated one too: a stop lost on its way is asked again.
        await stop_at_max_amount(context, result.our_session_id)
    return result


def put_session(db: Session, cpo: Cpo, path: SessionPath, body: bytes) -> IntakeResult:
    country_code, party_id, session_id = path
    inbox = Inbox(db, cpo, Kind.SESSION_PUT, session_id, body)
    if not cpo.is_party(country_code, party_id):
        return inbox.not_its_party(country_code, party_id)
    session = parse(OcpiSession, body)
    if isinstance(session, str):
        return inbox.reject(session)
    if not same_ids((session.country_code, session.party_id, session.id), path):
        return inbox.reject("country_code/party_id/id in the body differ from the URL")
    if not known_evse(db, cpo.id, session.location_id, session.evse_uid):
        return inbox.unknown_location(f"unknown location {session.location_id} or EVSE {session.evse_uid}: PUT it")
    stored = repo.ocpi_session(db, country_code, party_id, session_id)
    ours = (
        our_session(db, cpo, session.authorization_reference)
        if stored is None
        else db.get(SessionRow, stored.our_session_id)
    )
    if ours is None and stored is None:
        ours = _session_from_authorisation(db, cpo, session, session.authorization_reference)
    if ours is None and stored is None:
        whitelisted = authorise_whitelisted(
            db,
            cpo,
            session.cdr_token.uid,
            session.cdr_token.type,
            LocationReferences(location_id=session.location_id, evse_uids=[session.evse_uid]),
            at=session.start_date_time,
        )
        if whitelisted is not None and whitelisted.reference is None:
            return inbox.reject(
                f"token {session.cdr_token.uid} may not charge here: {whitelisted.refusal}",
                outcome=Outcome.UNKNOWN_SESSION,
            )
        if whitelisted is not None:
            ours = _session_from_authorisation(db, cpo, session, whitelisted.reference)
    if ours is None:
        return inbox.reject(
            "unknown session: authorization_reference names neither a session we asked you to start nor a "
            "token authorisation we gave you, and the token is not one you may start on your whitelist",
            outcome=Outcome.UNKNOWN_SESSION,
        )
    start = _start_owed(db, cpo, ours)
    if stored is not None and session.last_updated < stored.last_updated:
        return _stale(inbox, ours.id)
    document = session.model_dump(mode="json", exclude_none=True)
    if stored is not None:
        _replace(stored, document, session.last_updated)
        return _apply(db, inbox, stored, http_status=200, session_start=start)
    stored = OcpiSessionRow(
        country_code=country_code,
        party_id=party_id,
        session_id=session_id,
        our_session_id=ours.id,
        status=session.status.value,
        forwarded_status=None,
        last_updated=session.last_updated,
        body=document,
    )
    db.add(stored)
    return _apply(db, inbox, stored, http_status=201, session_start=start)


def _session_from_authorisation(
    db: Session, cpo: Cpo, session: OcpiSession, reference: str | None
) -> SessionRow | None:
    """The session a driver started at the charger with a token we authorised for this CPO
    (``services/ocpi/tokens.py``; in real time, or as its whitelisted Session arrived): ours under the
    authorisation's reference, as its credit hold is, charged to the token's partner at the EVSE the
    Session names."""
    allowed = None if reference is None else tokens.allowed_authorisation(db, cpo.id, reference)
    location = stored_locations.location_row(db, cpo.id, session.location_id)
    evse = None if location is None else stored_locations.evse_row(db, location, session.evse_uid)
    if allowed is None or location is None or evse is None or evse.evse_id is None:
        return None
    row = SessionRow(
        id=allowed.reference,
        demand_partner_id=allowed.demand_partner_id,
        idempotency_key=None,
        request_fingerprint=hashlib.sha256(allowed.reference.encode()).hexdigest(),
        evse_id=evse.evse_id,
        driver_reference=allowed.token_uid,
        stage=SessionStage.STARTING.value,
        needs_attention=False,
        cpo_id=cpo.id,
        country=location.country,
        kwh=0,
        created_at=allowed.requested_at,
        updated_at=datetime.now(UTC),
    )
    db.add(row)
    db.flush()
    return row


def _start_owed(db: Session, cpo: Cpo, ours: SessionRow) -> SessionStart | None:
    """The workflow of a session the CPO started on our authorisation, until it runs (starting it again
    finds it: the CPO's retry after a failed start starts it)."""
    if ours.stage != SessionStage.STARTING.value:
        return None
    allowed = tokens.allowed_authorisation(db, cpo.id, ours.id)
    if allowed is None or ours.country is None:
        return None
    session = ChargingSessionInput(
        session_id=ours.id,
        demand_partner_id=ours.demand_partner_id,
        evse_id=ours.evse_id,
        driver_reference=ours.driver_reference,
        requested_at=allowed.requested_at,
        clearing=True,
        settlement=True,
        settles_in_one_step=True,
        patched_from_start=True,
        started_by_cpo=True,
    )
    return SessionStart(session, cpo.id, ours.country)


def patch_session(db: Session, cpo: Cpo, path: SessionPath, body: bytes) -> IntakeResult:
    country_code, party_id, session_id = path
    inbox = Inbox(db, cpo, Kind.SESSION_PATCH, session_id, body)
    if not cpo.is_party(country_code, party_id):
        return inbox.not_its_party(country_code, party_id)
    patch = parse(SessionPatch, body)
    if isinstance(patch, str):
        return inbox.reject(patch)
    stored = repo.ocpi_session(db, country_code, party_id, session_id)
    if stored is None:
        return inbox.reject(
            "unknown session: PUT the whole Session before patching it", outcome=Outcome.UNKNOWN_SESSION
        )
    if patch.last_updated < stored.last_updated:
        return _stale(inbox, stored.our_session_id)
    changes = patch.model_dump(mode="json", exclude_none=True, exclude={"charging_periods"})
    document = {**stored.body, **changes}
    # PATCH appends charging periods; only a PUT replaces them.
    document["charging_periods"] = stored.body.get("charging_periods", []) + [
        p.model_dump(mode="json", exclude_none=True) for p in patch.charging_periods or []
    ]
    _replace(stored, document, patch.last_updated)
    return _apply(db, inbox, stored, http_status=200)


def _stale(inbox: Inbox, our_session_id: str) -> IntakeResult:
    return inbox.accept(Outcome.STALE, "older than what we hold; stored, not applied", our_session_id=our_session_id)


def _replace(stored: OcpiSessionRow, document: dict[str, Any], last_updated: datetime) -> None:
    """The stored Session becomes ``document``, but its status never goes back (messages arrive out of order)."""
    if not cpo_status_advances(CpoSessionStatus(stored.status), CpoSessionStatus(document["status"])):
        document["status"] = stored.status
    stored.body = document
    stored.status = document["status"]
    stored.last_updated = last_updated


def _apply(
    db: Session, inbox: Inbox, stored: OcpiSessionRow, *, http_status: int, session_start: SessionStart | None = None
) -> IntakeResult:
    db.flush()
    session = _apply_to_read_model(db, stored)
    return inbox.accept(
        Outcome.APPLIED,
        http_status=http_status,
        our_session_id=stored.our_session_id,
        signal=_owed_signal(stored),
        session_start=session_start,
        may_reach_max_amount=may_reach_max_amount(session),
    )


def _apply_to_read_model(db: Session, stored: OcpiSessionRow) -> SessionRow:
    body = OcpiSession.model_validate(stored.body)
    now = datetime.now(UTC)
    row = repo.update_cpo_progress(
        db,
        stored.our_session_id,
        cpo_session_id=stored.session_id,
        cpo_status=stored.status,
        kwh=body.kwh,
        started_at=body.start_date_time if body.status != CpoSessionStatus.PENDING else None,
        ended_at=body.end_date_time,
        now=now,
    )
    current = SessionStage(row.stage)
    target = stage_for_cpo_status(current, CpoSessionStatus(stored.status))
    # The read model follows the CPO into CHARGING and AWAITING_CDR; final stages are the workflow's. Most
    # reports come while charging and move nothing: the progress update above has already stamped the row.
    if target != current and target in (SessionStage.CHARGING, SessionStage.AWAITING_CDR):
        repo.move_session_stage(db, row.id, target, now=now)
    return row


def _owed_signal(stored: OcpiSessionRow) -> CpoSessionReported | None:
    status = CpoSessionStatus(stored.status)
    previous = None if stored.forwarded_status is None else CpoSessionStatus(stored.forwarded_status)
    if status not in FORWARDED_STATUSES or not cpo_status_advances(previous, status):
        return None
    body = stored.body
    return CpoSessionReported(
        cpo_session_id=stored.session_id,
        status=status,
        start_date_time=body["start_date_time"],
        end_date_time=body.get("end_date_time"),
        kwh=str(body.get("kwh", "0")),
        last_updated=stored.last_updated,
    )


def _mark_forwarded(db: Session, path: SessionPath, signal: Signal) -> None:
    assert isinstance(signal, CpoSessionReported)
    repo.record_forwarded_status(db, *path, signal.status)


def held_session(db: Session, cpo: Cpo, path: SessionPath) -> str | None:
    """Our copy of the CPO's Session as JSON (its last PUT with the PATCHes applied since), which the CPO
    reads when a PATCH failed to decide whether to PUT it whole; None when we hold none under this key for
    this CPO (another party's Session is not its to read). Read through the model: the stored body keeps
    its numbers as the strings pydantic's JSON dump made of them, the answer has them as JSON numbers."""
    country_code, party_id, _ = path
    if not cpo.is_party(country_code, party_id):
        return None
    stored = repo.ocpi_session(db, *path, for_update=False)
    return None if stored is None else OcpiSession.model_validate(stored.body).ocpi_json()
