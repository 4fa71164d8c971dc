"""OCPI CDRs (POST, and GET of one we accepted): the CPO's bill for a session. A CDR is stored verbatim and
never changed; a CDR that fits its session is forwarded to the session's workflow, which settles it. A
credit CDR cancels a settled one (its rules are on ``_credit_cdr``), and the CDR that follows it settles
the session again; both are corrections, run by their own workflow."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from domain.errors import CdrRejected
from domain.parties import Cpo
from domain.sessions.cdr_bounds import check_cdr_bounds
from domain.sessions.cdr_checks import check_cdr
from domain.sessions.lifecycle import FINAL_STAGES, SessionStage
from domain.settlement.corrections import CorrectionBlock
from messages.corrections import CorrectionCause
from messages.ocpi import Cdr
from messages.sessions import CdrArrived
from persistence import repositories as repo
from persistence.cdrs import cdr_body, expected_session, first_cdr, store_cdr
from persistence.correction_requests import correction_of_cdr
from persistence.locations import known_evse
from persistence.tables import CdrRow, SessionRow
from services.context import WriteAndStart
from services.corrections import check_correction, request_correction
from services.ocpi.forwarding import receive
from services.ocpi.inbox import CpoMessage, Inbox, IntakeResult, Kind, Outcome, our_session, parse


async def receive_cdr(context: WriteAndStart, cpo: Cpo, body: bytes, public_base_url: str) -> IntakeResult:
    message = CpoMessage(cpo, Kind.CDR, "?", body)
    return await receive(context, "CDR", message, lambda db: post_cdr(db, cpo, body, public_base_url))


def cdr_as_received(db: Session, cpo: Cpo, key: int) -> str | None:
    """The body of a CDR we accepted from this CPO (its ``Location``), as it was sent."""
    return cdr_body(db, key, cpo.country_code, cpo.party_id)


def settled_cdr(db: Session, session_id: str) -> tuple[str, dict[str, Any]]:
    """The CPO of a settled session and the CDR it settled on: what that CPO would credit or re-issue."""
    cpo_id, body = first_cdr(db, session_id)
    cdr: dict[str, Any] = json.loads(body)
    return cpo_id, cdr


def post_cdr(db: Session, cpo: Cpo, body: bytes, public_base_url: str) -> IntakeResult:
    cdr = parse(Cdr, body)
    if isinstance(cdr, str):
        return Inbox(db, cpo, Kind.CDR, "?", body).reject(cdr)
    inbox = Inbox(db, cpo, Kind.CDR, cdr.id, body)
    if not cpo.is_party(cdr.country_code, cdr.party_id):
        return inbox.reject(f"you are {cpo.country_code}*{cpo.party_id}, not {cdr.country_code}*{cdr.party_id}")
    try:
        check_cdr_bounds(cdr.figures(), received_at=datetime.now(UTC))
    except CdrRejected as rejected:
        return inbox.reject(f"CDR {cdr.id} is implausible: {rejected}")
    where = cdr.cdr_location
    if not known_evse(db, cpo.id, where.id, where.evse_uid):
        return inbox.unknown_location(f"unknown location {where.id} or EVSE {where.evse_uid}: PUT it")
    received = _Received(cdr, body, hashlib.sha256(body).hexdigest(), public_base_url)
    existing = repo.cdr_by_id(db, cdr.country_code, cdr.party_id, cdr.id)
    if existing is not None:
        return _repeated_cdr(db, inbox, received, existing)
    if cdr.credit:
        return _credit_cdr(db, inbox, received)
    return _settling_cdr(db, inbox, cpo, received)


@dataclass(frozen=True, slots=True)
class _Received:
    cdr: Cdr
    body: bytes
    digest: str  # of the body, as received
    public_base_url: str

    def store(self, db: Session, session_id: str, *, credit_reference_key: int | None) -> int:
        return store_cdr(
            db,
            self.cdr,
            session_id,
            self.body,
            self.digest,
            credit_reference_key=credit_reference_key,
            now=datetime.now(UTC),
        )

    def location(self, key: int) -> str:
        return f"{self.public_base_url}/ocpi/emsp/2.2.1/cdrs/{key}"


def _repeated_cdr(db: Session, inbox: Inbox, received: _Received, existing: CdrRow) -> IntakeResult:
    cdr = received.cdr
    if existing.body_sha256 != received.digest and Cdr.model_validate_json(existing.body) != cdr:
        return inbox.reject(
            f"CDR {cdr.id} was already received with other content; CDRs are immutable, send a credit CDR",
            our_session_id=existing.our_session_id,
        )
    # A repeat of a CDR we hold: same answer, and the signal (or the correction) again in case the first one
    # was lost.
    correction = correction_of_cdr(db, existing.key)
    return inbox.accept(
        Outcome.DUPLICATE,
        "Success (already received)",
        our_session_id=existing.our_session_id,
        signal=CdrArrived(cdr_key=existing.key, cdr_id=existing.cdr_id) if correction is None else None,
        correction=correction,
        location=received.location(existing.key),
    )


def _settling_cdr(db: Session, inbox: Inbox, cpo: Cpo, received: _Received) -> IntakeResult:
    """The CDR of a session: the first settles it; one after a credit CDR settles it again."""
    cdr = received.cdr
    ours = our_session(db, cpo, cdr.authorization_reference)
    if ours is None and cdr.session_id is not None:
        stored = repo.ocpi_session(db, cdr.country_code, cdr.party_id, cdr.session_id)
        ours = None if stored is None else db.get(SessionRow, stored.our_session_id)
    if ours is None:
        return inbox.reject(
            "unknown session: neither authorization_reference nor session_id names a session of ours",
            outcome=Outcome.UNKNOWN_SESSION,
        )
    if ours.evse_uid is None:
        # A session a driver started at the charger learns its EVSE and tariff when its workflow authorises
        # it, which may be after the CPO's Session PATCHes and CDR (a busy worker): that CDR is asked again, not
        # refused, unless the session ended without an authorisation.
        if SessionStage(ours.stage) not in FINAL_STAGES:
            return inbox.too_early(
                f"session {ours.id} is still being authorised; send the CDR again", our_session_id=ours.id
            )
        return inbox.reject(
            f"session {ours.id} was never authorised ({ours.stage}): no CDR settles it", our_session_id=ours.id
        )
    held = repo.cdrs_for_session(db, ours.id)
    uncredited = _uncredited(held)
    if uncredited is not None:
        return inbox.reject(
            f"session already has CDR {uncredited.cdr_id}; correct it with a credit CDR", our_session_id=ours.id
        )
    try:
        check_cdr(cdr.facts(), expected_session(ours, cpo))
    except CdrRejected as rejected:
        return inbox.reject(f"CDR does not fit session {ours.id}: {rejected}", our_session_id=ours.id)
    key = received.store(db, ours.id, credit_reference_key=None)
    if held:
        # Every CDR before it was credited: this one settles the session again, as a correction.
        correction = request_correction(
            db, ours, CorrectionCause.REISSUED_CDR, cdr_key=key, settles_generation=ours.settlement_generation + 1
        )
        return inbox.accept(
            Outcome.ACCEPTED,
            f"Success (re-issued: settles session {ours.id} again)",
            http_status=201,
            our_session_id=ours.id,
            correction=correction,
            location=received.location(key),
        )
    ours.kwh = cdr.total_energy
    ours.ended_at = ours.ended_at or cdr.end_date_time
    ours.started_at = ours.started_at or cdr.start_date_time
    return inbox.accept(
        Outcome.ACCEPTED,
        http_status=201,
        our_session_id=ours.id,
        signal=CdrArrived(cdr_key=key, cdr_id=cdr.id),
        location=received.location(key),
    )


def _uncredited(held: Sequence[CdrRow]) -> CdrRow | None:
    """The session's CDR that no credit CDR has cancelled, if there is one."""
    credited = {row.credit_reference_key for row in held if row.credit_reference_key is not None}
    return next((row for row in held if row.credit_reference_key is None and row.key not in credited), None)


def _credit_cdr(db: Session, inbox: Inbox, received: _Received) -> IntakeResult:
    """A credit CDR cancels a settled CDR in full: its settlement is reversed and credit notes issued.

    It is refused, in this order, unless:

    * it names the CDR it cancels in ``credit_reference_id``, a CDR of this CPO's that we hold;
    * that CDR is not itself a credit CDR, and no credit CDR has cancelled it already;
    * it cancels the whole CDR: the same currency, and ``total_cost.excl_vat`` the negated claim (partial
      credits are not supported: credit in full, then send the corrected CDR);
    * the session is settled and not credited (``domain.settlement.corrections``), on that very CDR;
    * no other correction of the session is running (the CPO sends it again later).
    """
    cdr = received.cdr
    if not cdr.credit_reference_id:
        return inbox.reject("a credit CDR names the CDR it cancels in credit_reference_id")
    original = repo.cdr_by_id(db, cdr.country_code, cdr.party_id, cdr.credit_reference_id)
    if original is None:
        return inbox.reject(f"credit_reference_id {cdr.credit_reference_id} names no CDR of yours that we hold")
    session_id = original.our_session_id

    def refuse(message: str) -> IntakeResult:
        return inbox.reject(message, our_session_id=session_id)

    if original.credit_reference_key is not None:
        return refuse(f"CDR {original.cdr_id} is itself a credit CDR")
    earlier = next(
        (row for row in repo.cdrs_for_session(db, session_id) if row.credit_reference_key == original.key), None
    )
    if earlier is not None:
        return refuse(f"CDR {original.cdr_id} was already credited by {earlier.cdr_id}")
    claimed = Cdr.model_validate_json(original.body).total_cost.excl_vat
    if cdr.currency != original.currency or cdr.total_cost.excl_vat != -claimed:
        return refuse(
            f"a credit CDR cancels the whole CDR: total_cost.excl_vat must be {-claimed} {original.currency} "
            "(partial credits are not supported: credit in full, then send the corrected CDR)"
        )
    session = repo.locked_session(db, session_id)
    check = check_correction(db, session)
    if check.block is CorrectionBlock.NOT_SETTLED:
        return refuse(f"session {session_id} is {session.stage}, not settled: only a settled CDR can be credited")
    assert check.clearing is not None  # a settlement in force has its clearing
    if check.clearing.cdr_key != original.key:
        return refuse(f"CDR {original.cdr_id} is not the one session {session_id} is settled on")
    if check.block is CorrectionBlock.IN_PROGRESS:
        return refuse(f"session {session_id} is being corrected ({check.running}); send this again later")
    key = received.store(db, session_id, credit_reference_key=original.key)
    correction = request_correction(
        db, session, CorrectionCause.CREDIT_CDR, cdr_key=key, reverses_generation=session.settlement_generation
    )
    return inbox.accept(
        Outcome.ACCEPTED,
        f"Success (credit: session {session_id}'s settlement is reversed)",
        http_status=201,
        our_session_id=session_id,
        correction=correction,
        location=received.location(key),
    )
