"""Every OCPI message a CPO sends is stored verbatim in ``ocpi_inbox`` with the answer it got, whatever
that answer is: nothing a CPO sends is ever dropped. ``Inbox`` is one message on its way in; each of its
answers stores the message."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session

from domain.parties import Cpo
from messages.corrections import CorrectionRequest
from messages.ocpi import OcpiStatus
from messages.sessions import CdrArrived, ChargingSessionInput, CommandResultReported, CpoSessionReported
from persistence import repositories as repo
from persistence.tables import SessionRow

# A message that came too early is asked again this soon: what it waits for is a worker's next step.
RETRY_EARLY_AFTER_S = 1
Signal = CpoSessionReported | CommandResultReported | CdrArrived
Message = TypeVar("Message", bound=BaseModel)


class Kind(StrEnum):
    SESSION_PUT = "SESSION_PUT"
    SESSION_PATCH = "SESSION_PATCH"
    CDR = "CDR"
    COMMAND_RESULT = "COMMAND_RESULT"
    TARIFF_PUT = "TARIFF_PUT"
    TARIFF_DELETE = "TARIFF_DELETE"
    CREDENTIALS = "CREDENTIALS"  # object id: the method (POST, PUT, DELETE)
    LOCATION_PUT = "LOCATION_PUT"
    LOCATION_PATCH = "LOCATION_PATCH"


class Outcome(StrEnum):
    APPLIED = "APPLIED"
    ACCEPTED = "ACCEPTED"  # a CDR: held for settlement
    DUPLICATE = "DUPLICATE"
    STALE = "STALE"  # older than what we hold: stored, not applied
    REJECTED = "REJECTED"
    UNREADABLE = "UNREADABLE"  # not JSON we read: not UTF-8, not JSON, nested too deep
    TOO_LARGE = "TOO_LARGE"  # over the route's limit: stored as far as it was read
    FAILED = "FAILED"  # we failed on it (a bug, the database): stored, the CPO asked to retry
    EARLY = "EARLY"  # came before what it needs of ours (a CDR before its session's authorisation): asked to retry
    UNKNOWN_SESSION = "UNKNOWN_SESSION"
    UNKNOWN_TARIFF = "UNKNOWN_TARIFF"
    UNKNOWN_LOCATION = "UNKNOWN_LOCATION"  # names a Location or EVSE the CPO never told us of


@dataclass(frozen=True, slots=True)
class SessionStart:
    """A session's workflow to start (``services/workflow_starts.py``), with its charger's CPO and country."""

    session: ChargingSessionInput
    cpo_id: str
    country: str


@dataclass(frozen=True, slots=True)
class IntakeResult:
    """How to answer the CPO, and what is owed once the answer is committed."""

    status: OcpiStatus
    message: str
    http_status: int = 200
    our_session_id: str | None = None
    signal: Signal | None = None  # for the session's workflow
    correction: CorrectionRequest | None = None  # a settled session to correct: start its workflow
    session_start: SessionStart | None = None  # a session the CPO started on our authorisation: start its workflow
    location: str | None = None
    repeat: bool = False  # a message we hold already: forwarded again in case it was lost, never news
    data: Any = None  # the answer's OCPI data (never stored: our credentials carry a token)
    retry_after_s: int | None = None  # a 503's Retry-After
    # Whether the session's cost may have reached its max_amount: False only where the intake saw that it has no
    # max_amount or is not charging, so the check after the answer need not read the session again.
    may_reach_max_amount: bool = True


@dataclass(frozen=True, slots=True)
class CpoMessage:
    """A CPO's message as it arrived, before anything is made of it."""

    cpo: Cpo
    kind: Kind
    object_id: str
    body: bytes

    def inbox(self, db: Session) -> Inbox:
        return Inbox(db, self.cpo, self.kind, self.object_id, self.body)


class Inbox:
    def __init__(self, db: Session, cpo: Cpo, kind: Kind, object_id: str, body: bytes) -> None:
        self._db = db
        self._cpo = cpo
        self._kind = kind
        self._object_id = object_id
        self._body = body

    def answer(self, outcome: Outcome, result: IntakeResult) -> IntakeResult:
        repo.record_inbox(
            self._db,
            received_at=datetime.now(UTC),
            cpo_id=self._cpo.id,
            kind=self._kind.value,
            object_id=self._object_id[:64],
            our_session_id=result.our_session_id,
            outcome=outcome.value,
            status_code=int(result.status),
            message=result.message,
            body=readable(self._body),
            raw_body=self._body,
        )
        return result

    def accept(
        self,
        outcome: Outcome,
        message: str = "Success",
        *,
        http_status: int = 200,
        our_session_id: str | None = None,
        signal: Signal | None = None,
        correction: CorrectionRequest | None = None,
        session_start: SessionStart | None = None,
        location: str | None = None,
        may_reach_max_amount: bool = True,
    ) -> IntakeResult:
        """A success (OCPI 1000), whether the message changed anything or not."""
        result = IntakeResult(
            OcpiStatus.SUCCESS,
            message,
            http_status,
            our_session_id,
            signal,
            correction,
            session_start,
            location,
            repeat=outcome is Outcome.DUPLICATE,
            may_reach_max_amount=may_reach_max_amount,
        )
        return self.answer(outcome, result)

    def reject(
        self, message: str, *, outcome: Outcome = Outcome.REJECTED, our_session_id: str | None = None
    ) -> IntakeResult:
        """A refusal (OCPI 2001), saying why."""
        return self.answer(outcome, IntakeResult(OcpiStatus.INVALID_PARAMETERS, message, our_session_id=our_session_id))

    def too_early(self, message: str, *, our_session_id: str) -> IntakeResult:
        """A message that arrived before we can read it against what it names (OCPI 3000, HTTP 503): stored,
        and the CPO asked to send it again after ``Retry-After``."""
        result = IntakeResult(
            OcpiStatus.SERVER_ERROR, message, 503, our_session_id=our_session_id, retry_after_s=RETRY_EARLY_AFTER_S
        )
        return self.answer(Outcome.EARLY, result)

    def not_its_party(self, country_code: str, party_id: str) -> IntakeResult:
        """A push under a party that is not the sender's (ocpi-connect.md §3.5): 404, as an object it cannot
        see, stored with that answer."""
        cpo = self._cpo
        message = f"you are {cpo.country_code}*{cpo.party_id}, not {country_code}*{party_id}"
        return self.answer(Outcome.REJECTED, IntakeResult(OcpiStatus.CLIENT_ERROR, message, 404))

    def unknown_location(self, message: str, *, http_status: int = 200) -> IntakeResult:
        """A message about a Location or EVSE we do not know (OCPI 2003)."""
        return self.answer(Outcome.UNKNOWN_LOCATION, IntakeResult(OcpiStatus.UNKNOWN_LOCATION, message, http_status))

    def refuse_unread(self, outcome: Outcome, message: str, http_status: int) -> IntakeResult:
        """A body refused before it was parsed (OCPI 2000 with an HTTP error): too large, or not JSON."""
        return self.answer(outcome, IntakeResult(OcpiStatus.CLIENT_ERROR, message, http_status))


def readable(body: bytes) -> str:
    """The body as text for people (and PostgreSQL, whose text holds no NUL): what is not UTF-8 replaced."""
    return body.decode("utf-8", errors="replace").replace("\x00", "\ufffd")


def parse(model: type[Message], body: bytes) -> Message | str:
    """The message, or what is wrong with it (every field, for the CPO's developers)."""
    try:
        return model.model_validate_json(body)
    except ValidationError as error:
        return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in error.errors())[:2000]


def same_ids(named: Sequence[str], expected: Sequence[str]) -> bool:
    """Whether two OCPI keys (country code, party id, object id) are the same: CiStrings ignore case."""
    return [part.upper() for part in named] == [part.upper() for part in expected]


def our_session(db: Session, cpo: Cpo, session_id: str | None) -> SessionRow | None:
    """The session of ours a CPO's message names (its ``authorization_reference``), if it is with this CPO.
    Our session ids are lower-case UUIDs; the CPO may send them in any case (a CiString)."""
    if session_id is None:
        return None
    row = repo.session_by_id(db, session_id.lower())
    return row if row is not None and row.cpo_id == cpo.id else None
