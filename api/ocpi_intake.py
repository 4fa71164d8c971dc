"""What we make of each OCPI message a CPO sends: stored verbatim first, then applied, then (when the
workflow must know) forwarded as a signal. Only status changes are forwarded; meter updates stay here.

Every function runs in one database transaction and returns an ``IntakeResult`` saying how to answer
and which signal is owed. Nothing a CPO sends is ever dropped: refused and unmatched messages are in
``ocpi_inbox`` with the answer they got.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.corrections import correction_in_progress, correction_request, new_correction, request_correction
from domain.errors import CdrRejected
from domain.parties import Cpo
from domain.sessions.cdr_checks import CdrFacts, CdrPeriod, ExpectedSession, check_cdr
from domain.sessions.lifecycle import (
    CpoSessionStatus,
    SessionStage,
    cpo_status_advances,
    stage_for_cpo_status,
)
from domain.tariffs.model import TariffInvalid, parse_datetime, parse_tariff
from messages.corrections import CorrectionCause, CorrectionRequest
from messages.ocpi import (
    Cdr,
    CommandResult,
    CommandResultType,
    CommandType,
    OcpiStatus,
    SessionPatch,
)
from messages.ocpi import (
    Session as OcpiSession,
)
from messages.sessions import CdrArrived, CommandResultReported, CpoSessionReported
from persistence import repositories as repo
from persistence.tables import (
    CdrRow,
    OcpiInboxRow,
    OcpiSessionRow,
    SessionRow,
    SettlementCorrectionRow,
    TariffRow,
)

# The statuses the workflow acts on; PENDING and RESERVATION change nothing for it.
FORWARDED_STATUSES = frozenset({CpoSessionStatus.ACTIVE, CpoSessionStatus.COMPLETED, CpoSessionStatus.INVALID})

Signal = CpoSessionReported | CommandResultReported | CdrArrived


@dataclass
class IntakeResult:
    status: OcpiStatus
    message: str
    http_status: int = 200
    our_session_id: str | None = None
    signal: Signal | None = None
    correction: CorrectionRequest | None = None  # a settled session to correct: start its workflow
    location: str | None = None
    notes: list[str] = field(default_factory=list)


def _now() -> datetime:
    return datetime.now(UTC)


def _inbox(
    db: Session, cpo: Cpo, kind: str, object_id: str, body: bytes, result: IntakeResult, outcome: str
) -> IntakeResult:
    repo.record_inbox(
        db,
        OcpiInboxRow(
            received_at=_now(),
            cpo_id=cpo.id,
            kind=kind,
            object_id=object_id[:64],
            our_session_id=result.our_session_id,
            outcome=outcome,
            status_code=int(result.status),
            message=result.message,
            body=body.decode("utf-8", errors="replace"),
        ),
    )
    return result


def _invalid(error: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in error.errors())[:2000]


def _parse(model: type[BaseModel], body: bytes) -> tuple[Any, str | None]:
    try:
        return model.model_validate_json(body), None
    except ValidationError as error:
        return None, _invalid(error)


def _our_session(db: Session, cpo: Cpo, authorization_reference: str | None) -> SessionRow | None:
    if authorization_reference is None:
        return None
    row = repo.session_by_id(db, authorization_reference)
    return row if row is not None and row.cpo_id == cpo.id else None


# --- Sessions ---------------------------------------------------------------------------------------


def _report(stored: OcpiSessionRow) -> CpoSessionReported:
    body = stored.body
    return CpoSessionReported(
        cpo_session_id=stored.session_id,
        status=CpoSessionStatus(stored.status),
        start_date_time=body["start_date_time"],
        end_date_time=body.get("end_date_time"),
        kwh=str(body.get("kwh", "0")),
        last_updated=stored.last_updated,
    )


def _apply_to_read_model(db: Session, stored: OcpiSessionRow) -> None:
    body = OcpiSession.model_validate(stored.body)
    now = _now()
    repo.update_cpo_progress(
        db,
        stored.our_session_id,
        cpo_session_id=stored.session_id,
        cpo_status=stored.status,
        kwh=body.kwh,
        started_at=body.start_date_time if body.status != CpoSessionStatus.PENDING else None,
        ended_at=body.end_date_time,
        now=now,
    )
    row = db.get_one(SessionRow, stored.our_session_id)
    target = stage_for_cpo_status(SessionStage(row.stage), CpoSessionStatus(stored.status))
    # The read model follows the CPO into CHARGING and AWAITING_CDR; final stages are the workflow's.
    if target in (SessionStage.CHARGING, SessionStage.AWAITING_CDR):
        repo.move_session_stage(db, row.id, target, now=now)


def _owed_signal(stored: OcpiSessionRow) -> CpoSessionReported | None:
    status = CpoSessionStatus(stored.status)
    previous = None if stored.forwarded_status is None else CpoSessionStatus(stored.forwarded_status)
    if status in FORWARDED_STATUSES and cpo_status_advances(previous, status):
        return _report(stored)
    return None


def put_session(db: Session, cpo: Cpo, path: tuple[str, str, str], body: bytes) -> IntakeResult:
    country_code, party_id, session_id = path
    kind = "SESSION_PUT"
    session, problem = _parse(OcpiSession, body)
    if session is None:
        return _inbox(
            db,
            cpo,
            kind,
            session_id,
            body,
            IntakeResult(OcpiStatus.INVALID_PARAMETERS, problem or ""),
            "REJECTED",
        )
    if (session.country_code, session.party_id, session.id) != (country_code, party_id, session_id):
        result = IntakeResult(OcpiStatus.INVALID_PARAMETERS, "country_code/party_id/id in the body differ from the URL")
        return _inbox(db, cpo, kind, session_id, body, result, "REJECTED")
    if (country_code.upper(), party_id.upper()) != (cpo.country_code.upper(), cpo.party_id.upper()):
        result = IntakeResult(
            OcpiStatus.INVALID_PARAMETERS,
            f"you are {cpo.country_code}*{cpo.party_id}, not {country_code}*{party_id}",
        )
        return _inbox(db, cpo, kind, session_id, body, result, "REJECTED")
    stored = repo.ocpi_session(db, country_code, party_id, session_id)
    ours = (
        _our_session(db, cpo, session.authorization_reference)
        if stored is None
        else db.get(SessionRow, stored.our_session_id)
    )
    if ours is None:
        result = IntakeResult(
            OcpiStatus.INVALID_PARAMETERS,
            "unknown session: authorization_reference does not name a session we asked you to start",
        )
        return _inbox(db, cpo, kind, session_id, body, result, "UNKNOWN_SESSION")
    result = IntakeResult(OcpiStatus.SUCCESS, "Success", our_session_id=ours.id)
    if stored is not None and session.last_updated < stored.last_updated:
        result.message = "older than what we hold; stored, not applied"
        return _inbox(db, cpo, kind, session_id, body, result, "STALE")
    document = session.model_dump(mode="json", exclude_none=True)
    if stored is None:
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
        result.http_status = 201
    else:
        # PUT replaces the object, but a status never goes back (messages may arrive out of order).
        if (
            not cpo_status_advances(CpoSessionStatus(stored.status), session.status)
            and stored.status != session.status.value
        ):
            document["status"] = stored.status
        stored.body = document
        stored.status = document["status"]
        stored.last_updated = session.last_updated
    db.flush()
    _apply_to_read_model(db, stored)
    result.signal = _owed_signal(stored)
    return _inbox(db, cpo, kind, session_id, body, result, "APPLIED")


def patch_session(db: Session, cpo: Cpo, path: tuple[str, str, str], body: bytes) -> IntakeResult:
    country_code, party_id, session_id = path
    kind = "SESSION_PATCH"
    patch, problem = _parse(SessionPatch, body)
    if patch is None:
        return _inbox(
            db,
            cpo,
            kind,
            session_id,
            body,
            IntakeResult(OcpiStatus.INVALID_PARAMETERS, problem or ""),
            "REJECTED",
        )
    stored = repo.ocpi_session(db, country_code, party_id, session_id)
    if stored is None or (country_code.upper(), party_id.upper()) != (
        cpo.country_code.upper(),
        cpo.party_id.upper(),
    ):
        result = IntakeResult(
            OcpiStatus.INVALID_PARAMETERS, "unknown session: PUT the whole Session before patching it"
        )
        return _inbox(db, cpo, kind, session_id, body, result, "UNKNOWN_SESSION")
    result = IntakeResult(OcpiStatus.SUCCESS, "Success", our_session_id=stored.our_session_id)
    if patch.last_updated < stored.last_updated:
        result.message = "older than what we hold; stored, not applied"
        return _inbox(db, cpo, kind, session_id, body, result, "STALE")
    changes = patch.model_dump(mode="json", exclude_none=True, exclude={"charging_periods"})
    document = {**stored.body, **changes}
    # PATCH appends charging periods; only a PUT replaces them.
    document["charging_periods"] = stored.body.get("charging_periods", []) + [
        p.model_dump(mode="json", exclude_none=True) for p in patch.charging_periods or []
    ]
    if patch.status is not None and not cpo_status_advances(CpoSessionStatus(stored.status), patch.status):
        document["status"] = stored.status
    stored.body = document
    stored.status = document["status"]
    stored.last_updated = patch.last_updated
    db.flush()
    _apply_to_read_model(db, stored)
    result.signal = _owed_signal(stored)
    return _inbox(db, cpo, kind, session_id, body, result, "APPLIED")


def mark_forwarded(db: Session, path: tuple[str, str, str], status: CpoSessionStatus) -> None:
    stored = repo.ocpi_session(db, *path)
    assert stored is not None
    assert stored.our_session_id is not None
    previous = None if stored.forwarded_status is None else CpoSessionStatus(stored.forwarded_status)
    if cpo_status_advances(previous, status):
        stored.forwarded_status = status.value


# --- CDRs -------------------------------------------------------------------------------------------


def _cdr_facts(cdr: Cdr) -> CdrFacts:
    return CdrFacts(
        cdr_id=cdr.id,
        country_code=cdr.country_code,
        party_id=cdr.party_id,
        session_id=cdr.session_id,
        authorization_reference=cdr.authorization_reference,
        evse_uid=cdr.cdr_location.evse_uid,
        currency=cdr.currency,
        start=cdr.start_date_time,
        end=cdr.end_date_time,
        total_energy_kwh=cdr.total_energy,
        total_time_h=cdr.total_time,
        total_parking_time_h=cdr.total_parking_time,
        periods=tuple(
            CdrPeriod(p.start_date_time, tuple((d.type, d.volume) for d in p.dimensions)) for p in cdr.charging_periods
        ),
    )


def _expected(session: SessionRow, cpo: Cpo) -> ExpectedSession:
    return ExpectedSession(
        session_id=session.id,
        cpo_country_code=cpo.country_code,
        cpo_party_id=cpo.party_id,
        evse_uid=session.evse_uid or "",
        currency=session.currency or "",
        requested_at=session.created_at,
        cpo_session_id=session.cpo_session_id,
    )


def cdr_location(public_base_url: str, key: int) -> str:
    return f"{public_base_url}/ocpi/emsp/2.2.1/cdrs/{key}"


def post_cdr(db: Session, cpo: Cpo, body: bytes, public_base_url: str) -> IntakeResult:
    kind = "CDR"
    cdr, problem = _parse(Cdr, body)
    if cdr is None:
        return _inbox(db, cpo, kind, "?", body, IntakeResult(OcpiStatus.INVALID_PARAMETERS, problem or ""), "REJECTED")
    if (cdr.country_code.upper(), cdr.party_id.upper()) != (cpo.country_code.upper(), cpo.party_id.upper()):
        result = IntakeResult(
            OcpiStatus.INVALID_PARAMETERS,
            f"you are {cpo.country_code}*{cpo.party_id}, not {cdr.country_code}*{cdr.party_id}",
        )
        return _inbox(db, cpo, kind, cdr.id, body, result, "REJECTED")
    digest = hashlib.sha256(body).hexdigest()
    existing = repo.cdr_by_id(db, cdr.country_code, cdr.party_id, cdr.id)
    if existing is not None:
        if existing.body_sha256 != digest and Cdr.model_validate_json(existing.body) != cdr:
            result = IntakeResult(
                OcpiStatus.INVALID_PARAMETERS,
                f"CDR {cdr.id} was already received with other content; CDRs are immutable, send a credit CDR",
                our_session_id=existing.our_session_id,
            )
            return _inbox(db, cpo, kind, cdr.id, body, result, "REJECTED")
        # A repeat of a CDR we hold: same answer, and the signal (or the correction) again in case the first
        # one was lost.
        result = IntakeResult(
            OcpiStatus.SUCCESS,
            "Success (already received)",
            our_session_id=existing.our_session_id,
            location=cdr_location(public_base_url, existing.key),
        )
        result.correction = _correction_of_cdr(db, existing.key)
        if result.correction is None:
            result.signal = CdrArrived(cdr_key=existing.key, cdr_id=existing.cdr_id)
        return _inbox(db, cpo, kind, cdr.id, body, result, "DUPLICATE")
    if cdr.credit:
        return _credit_cdr(db, cpo, cdr, body, digest, public_base_url)
    ours = _our_session(db, cpo, cdr.authorization_reference)
    if ours is None and cdr.session_id is not None:
        stored = repo.ocpi_session(db, cdr.country_code, cdr.party_id, cdr.session_id)
        ours = None if stored is None else db.get(SessionRow, stored.our_session_id)
    if ours is None:
        result = IntakeResult(
            OcpiStatus.INVALID_PARAMETERS,
            "unknown session: neither authorization_reference nor session_id names a session of ours",
        )
        return _inbox(db, cpo, kind, cdr.id, body, result, "UNKNOWN_SESSION")
    held = repo.cdrs_for_session(db, ours.id)
    uncredited = _uncredited(held)
    if uncredited is not None:
        result = IntakeResult(
            OcpiStatus.INVALID_PARAMETERS,
            f"session already has CDR {uncredited.cdr_id}; correct it with a credit CDR",
            our_session_id=ours.id,
        )
        return _inbox(db, cpo, kind, cdr.id, body, result, "REJECTED")
    try:
        check_cdr(_cdr_facts(cdr), _expected(ours, cpo))
    except CdrRejected as rejected:
        result = IntakeResult(
            OcpiStatus.INVALID_PARAMETERS,
            f"CDR does not fit session {ours.id}: {rejected}",
            our_session_id=ours.id,
        )
        return _inbox(db, cpo, kind, cdr.id, body, result, "REJECTED")
    row = _store_cdr(db, cdr, ours.id, body, digest, credit_reference_key=None)
    if held:
        # Every CDR before it was credited: this one settles the session again, as a correction.
        correction = request_correction(
            db,
            new_correction(
                ours, CorrectionCause.REISSUED_CDR, cdr_key=row.key, settles_generation=ours.settlement_generation + 1
            ),
        )
        result = IntakeResult(
            OcpiStatus.SUCCESS,
            f"Success (re-issued: settles session {ours.id} again)",
            http_status=201,
            our_session_id=ours.id,
            location=cdr_location(public_base_url, row.key),
            correction=correction,
        )
        return _inbox(db, cpo, kind, cdr.id, body, result, "ACCEPTED")
    ours.kwh = cdr.total_energy
    ours.ended_at = ours.ended_at or cdr.end_date_time
    ours.started_at = ours.started_at or cdr.start_date_time
    result = IntakeResult(
        OcpiStatus.SUCCESS,
        "Success",
        http_status=201,
        our_session_id=ours.id,
        location=cdr_location(public_base_url, row.key),
    )
    result.signal = CdrArrived(cdr_key=row.key, cdr_id=row.cdr_id)
    return _inbox(db, cpo, kind, cdr.id, body, result, "ACCEPTED")


def _store_cdr(
    db: Session, cdr: Cdr, session_id: str, body: bytes, digest: str, *, credit_reference_key: int | None
) -> CdrRow:
    row = CdrRow(
        country_code=cdr.country_code,
        party_id=cdr.party_id,
        cdr_id=cdr.id,
        our_session_id=session_id,
        currency=cdr.currency,
        total_energy_kwh=cdr.total_energy,
        body_sha256=digest,
        body=body.decode(),
        received_at=_now(),
        credit_reference_key=credit_reference_key,
    )
    db.add(row)
    db.flush()
    return row


def _uncredited(held: Sequence[CdrRow]) -> CdrRow | None:
    """The session's CDR that no credit CDR has cancelled, if there is one."""
    credited = {row.credit_reference_key for row in held if row.credit_reference_key is not None}
    return next((row for row in held if row.credit_reference_key is None and row.key not in credited), None)


def _correction_of_cdr(db: Session, cdr_key: int) -> CorrectionRequest | None:
    row = db.scalar(select(SettlementCorrectionRow).where(SettlementCorrectionRow.cdr_key == cdr_key))
    return None if row is None else correction_request(db.get_one(SessionRow, row.session_id), row)


def _credit_cdr(db: Session, cpo: Cpo, cdr: Cdr, body: bytes, digest: str, public_base_url: str) -> IntakeResult:
    """A credit CDR cancels a settled CDR in full: its settlement is reversed and credit notes issued."""
    kind = "CDR"

    def refuse(message: str, session_id: str | None = None) -> IntakeResult:
        result = IntakeResult(OcpiStatus.INVALID_PARAMETERS, message, our_session_id=session_id)
        return _inbox(db, cpo, kind, cdr.id, body, result, "REJECTED")

    if not cdr.credit_reference_id:
        return refuse("a credit CDR names the CDR it cancels in credit_reference_id")
    original = repo.cdr_by_id(db, cdr.country_code, cdr.party_id, cdr.credit_reference_id)
    if original is None:
        return refuse(f"credit_reference_id {cdr.credit_reference_id} names no CDR of yours that we hold")
    session_id = original.our_session_id
    if original.credit_reference_key is not None:
        return refuse(f"CDR {original.cdr_id} is itself a credit CDR", session_id)
    earlier = next(
        (row for row in repo.cdrs_for_session(db, session_id) if row.credit_reference_key == original.key), None
    )
    if earlier is not None:
        return refuse(f"CDR {original.cdr_id} was already credited by {earlier.cdr_id}", session_id)
    claimed = Cdr.model_validate_json(original.body).total_cost.excl_vat
    if cdr.currency != original.currency or cdr.total_cost.excl_vat != -claimed:
        return refuse(
            f"a credit CDR cancels the whole CDR: total_cost.excl_vat must be {-claimed} {original.currency} "
            "(partial credits are not supported: credit in full, then send the corrected CDR)",
            session_id,
        )
    session = db.get_one(SessionRow, session_id, with_for_update=True)
    in_force = repo.clearing_of(db, session_id, session.settlement_generation)
    if session.stage != SessionStage.SETTLED.value or session.credited or in_force is None:
        return refuse(
            f"session {session_id} is {session.stage}, not settled: only a settled CDR can be credited", session_id
        )
    if in_force.cdr_key != original.key:
        return refuse(f"CDR {original.cdr_id} is not the one session {session_id} is settled on", session_id)
    pending = correction_in_progress(db, session_id)
    if pending is not None:
        return refuse(
            f"session {session_id} is being corrected ({pending.workflow_id}); send this again later", session_id
        )
    row = _store_cdr(db, cdr, session_id, body, digest, credit_reference_key=original.key)
    correction = request_correction(
        db,
        new_correction(
            session, CorrectionCause.CREDIT_CDR, cdr_key=row.key, reverses_generation=session.settlement_generation
        ),
    )
    result = IntakeResult(
        OcpiStatus.SUCCESS,
        f"Success (credit: session {session_id}'s settlement is reversed)",
        http_status=201,
        our_session_id=session_id,
        location=cdr_location(public_base_url, row.key),
        correction=correction,
    )
    return _inbox(db, cpo, kind, cdr.id, body, result, "ACCEPTED")


# --- Commands ---------------------------------------------------------------------------------------


def post_command_result(db: Session, cpo: Cpo, command: str, session_id: str, body: bytes) -> IntakeResult:
    kind = "COMMAND_RESULT"
    object_id = f"{command}/{session_id}"
    parsed, problem = _parse(CommandResult, body)
    if parsed is None:
        return _inbox(
            db,
            cpo,
            kind,
            object_id,
            body,
            IntakeResult(OcpiStatus.INVALID_PARAMETERS, problem or ""),
            "REJECTED",
        )
    try:
        command_type = CommandType(command)
    except ValueError:
        result = IntakeResult(OcpiStatus.INVALID_PARAMETERS, f"unknown command {command}")
        return _inbox(db, cpo, kind, object_id, body, result, "REJECTED")
    ours = _our_session(db, cpo, session_id)
    if ours is None:
        result = IntakeResult(OcpiStatus.INVALID_PARAMETERS, "unknown session: this is not a response_url we gave you")
        return _inbox(db, cpo, kind, object_id, body, result, "UNKNOWN_SESSION")
    result = IntakeResult(OcpiStatus.SUCCESS, "Success", our_session_id=ours.id)
    if command_type == CommandType.START_SESSION and parsed.result != CommandResultType.ACCEPTED:
        text = "; ".join(m.get("text", "") for m in parsed.message or []) or None
        result.signal = CommandResultReported(command=command_type, result=parsed.result, message=text)
    return _inbox(db, cpo, kind, object_id, body, result, "APPLIED")


def flag_closed_session(db: Session, session_id: str, what: str) -> None:
    """A CPO message arrived for a session whose workflow has ended: keep it in front of ops."""
    row = db.get_one(SessionRow, session_id)
    if row.stage == SessionStage.CDR_RECEIVED.value and what.startswith("Session"):
        return  # late status reports after the CDR change nothing
    repo.move_session_stage(
        db,
        session_id,
        SessionStage(row.stage),
        now=_now(),
        needs_attention=True,
        reason=f"{what} arrived after the session closed as {row.stage}; review it",
    )


# --- Tariffs ----------------------------------------------------------------------------------------


def put_tariff(db: Session, cpo: Cpo, path: tuple[str, str, str], body: bytes) -> IntakeResult:
    """A new version of a CPO tariff. A bad one is refused naming the field; the version in force stays."""
    country_code, party_id, tariff_id = path
    kind = "TARIFF_PUT"
    refuse = IntakeResult(OcpiStatus.INVALID_PARAMETERS, "")
    try:
        document = json.loads(body, parse_float=Decimal)
        if not isinstance(document, dict):
            raise TariffInvalid("tariff", "must be an object")
        tariff = parse_tariff(document)
        if (document.get("country_code"), document.get("party_id"), document.get("id")) != path:
            raise TariffInvalid("tariff.id", "country_code/party_id/id in the body differ from the URL")
        if (country_code.upper(), party_id.upper()) != (cpo.country_code.upper(), cpo.party_id.upper()):
            raise TariffInvalid("tariff.party_id", f"you are {cpo.country_code}*{cpo.party_id}")
        if "last_updated" not in document:
            raise TariffInvalid("tariff.last_updated", "is required")
        last_updated = parse_datetime(document["last_updated"], "tariff.last_updated")
    except TariffInvalid as invalid:
        refuse.message = str(invalid)
        return _inbox(db, cpo, kind, tariff_id, body, refuse, "REJECTED")
    except ValueError as error:
        refuse.message = f"tariff: {error}"
        return _inbox(db, cpo, kind, tariff_id, body, refuse, "REJECTED")
    existing = repo.tariff_by_version(db, cpo.id, tariff_id, last_updated)
    if existing is not None:
        if json.loads(existing.body, parse_float=Decimal) != document:
            refuse.message = "this last_updated already names another version: send a new last_updated"
            return _inbox(db, cpo, kind, tariff_id, body, refuse, "REJECTED")
        return _inbox(
            db, cpo, kind, tariff_id, body, IntakeResult(OcpiStatus.SUCCESS, "Success (already held)"), "DUPLICATE"
        )
    latest = repo.latest_tariff(db, cpo.id, tariff_id)
    if latest is not None and last_updated < latest.last_updated:
        refuse.message = "older than the version we hold; stored, not applied"
        return _inbox(db, cpo, kind, tariff_id, body, IntakeResult(OcpiStatus.SUCCESS, refuse.message), "STALE")
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
    return _inbox(
        db, cpo, kind, tariff_id, body, IntakeResult(OcpiStatus.SUCCESS, "Success", http_status=201), "APPLIED"
    )


def delete_tariff(db: Session, cpo: Cpo, path: tuple[str, str, str], now: datetime) -> IntakeResult:
    """The tariff is no longer offered from now on; sessions that started under it keep their version."""
    country_code, party_id, tariff_id = path
    latest = repo.latest_tariff(db, cpo.id, tariff_id)
    if latest is None or (country_code.upper(), party_id.upper()) != (cpo.country_code.upper(), cpo.party_id.upper()):
        result = IntakeResult(OcpiStatus.INVALID_PARAMETERS, "unknown tariff")
        return _inbox(db, cpo, "TARIFF_DELETE", tariff_id, b"", result, "UNKNOWN_TARIFF")
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
    return _inbox(db, cpo, "TARIFF_DELETE", tariff_id, b"", IntakeResult(OcpiStatus.SUCCESS, "Success"), "APPLIED")
