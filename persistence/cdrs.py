"""CDRs as received: stored verbatim (they are immutable; a credit CDR cancels one), and what we expected
of the session a CDR claims to settle."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from domain.parties import Cpo
from domain.sessions.cdr_checks import ExpectedSession
from messages.ocpi import Cdr
from persistence import repositories
from persistence.tables import CdrRow, SessionRow


def expected_session(session: SessionRow, cpo: Cpo) -> ExpectedSession:
    return ExpectedSession(
        session_id=session.id,
        cpo_country_code=cpo.country_code,
        cpo_party_id=cpo.party_id,
        evse_uid=session.evse_uid or "",
        currency=session.currency or "",
        requested_at=session.created_at,
        cpo_session_id=session.cpo_session_id,
    )


def store_cdr(
    db: Session,
    cdr: Cdr,
    session_id: str,
    body: bytes,
    digest: str,
    *,
    credit_reference_key: int | None,
    now: datetime,
) -> int:
    """Store the CDR as received; returns its key."""
    row = CdrRow(
        country_code=cdr.country_code,
        party_id=cdr.party_id,
        cdr_id=cdr.id,
        our_session_id=session_id,
        currency=cdr.currency,
        total_energy_kwh=cdr.total_energy,
        body_sha256=digest,
        body=body.decode(),
        received_at=now,
        credit_reference_key=credit_reference_key,
    )
    db.add(row)
    db.flush()
    return row.key


def cdr_body(db: Session, key: int, country_code: str, party_id: str) -> str | None:
    """The CDR as received, if it is the named party's (stored as the CPO spelt it: OCPI ids ignore case)."""
    row = db.get(CdrRow, key)
    named = (row.country_code.upper(), row.party_id.upper()) if row is not None else None
    return row.body if row is not None and named == (country_code.upper(), party_id.upper()) else None


def first_cdr(db: Session, session_id: str) -> tuple[str, str]:
    """The CPO of a session that received a CDR, and the first CDR it received, as received."""
    session = db.get_one(SessionRow, session_id)
    if session.cpo_id is None:
        raise LookupError(f"session {session_id} has no CPO")
    [first, *_] = repositories.cdrs_for_session(db, session_id)
    return session.cpo_id, first.body
