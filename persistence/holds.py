"""Credit holds: placed at authorisation against the partner's credit limit, then posted, voided or
expired exactly once. The limit check and the new hold share one transaction with the partner's row
locked, so two sessions authorised at once can never both take the last of the credit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, bindparam, func, select
from sqlalchemy.orm import Session

from domain.ledger import accounts
from domain.ledger.accounts import AccountKind
from domain.ledger.holds import HoldState, check_credit, posted_amount, resolve
from persistence.db import execute_built
from persistence.ledger import account_balance, account_key
from persistence.tables import DemandPartnerRow, LedgerHoldResolutionRow, LedgerHoldRow, LedgerPendingHoldRow

# Built once, and only a lock: the partner's row is loaded already (every authorisation took it through the ORM
# again, bypassing the unit of work's copy).
_LOCK_PARTNER = select(DemandPartnerRow.id).where(DemandPartnerRow.id == bindparam("partner")).with_for_update()


# Built once: every authorisation runs them (building and keying a statement cost more than running it).
_HELD = select(func.coalesce(func.sum(LedgerPendingHoldRow.amount_minor), 0)).where(
    LedgerPendingHoldRow.account_key == bindparam("account")
)
_HOLD_OF_SESSION = select(LedgerHoldRow).where(LedgerHoldRow.session_id == bindparam("session"))


def hold_key(session_id: str) -> str:
    return f"session-{session_id}:hold"


@dataclass(frozen=True, slots=True)
class HoldRequest:
    session_id: str
    demand_partner_id: str
    currency: str
    amount_minor: int
    limit_minor: int
    expires_at: datetime


def place_hold(db: Session, request: HoldRequest, *, now: datetime) -> LedgerHoldRow:
    """Reserve credit for a session, or refuse with CREDIT_LIMIT_EXCEEDED. Idempotent per session."""
    existing = hold_for_session(db, request.session_id)
    if existing is not None:
        return existing
    execute_built(db, _LOCK_PARTNER, {"partner": request.demand_partner_id}).one()
    hold_account = account_key(
        db, accounts.demand_partner(request.demand_partner_id, AccountKind.CREDIT_HOLD), request.currency
    )
    expire_holds(db, now=now, account=hold_account)
    check_credit(
        limit_minor=request.limit_minor,
        owed_minor=account_balance(
            db, accounts.demand_partner(request.demand_partner_id, AccountKind.RECEIVABLE), request.currency
        ),
        held_minor=held_minor(db, hold_account),
        cap_minor=request.amount_minor,
        currency=request.currency,
    )
    hold = LedgerHoldRow(
        idempotency_key=hold_key(request.session_id),
        session_id=request.session_id,
        account_key=hold_account,
        currency=request.currency,
        amount_minor=request.amount_minor,
        created_at=now,
        expires_at=request.expires_at,
    )
    db.add(hold)
    db.flush()
    return hold


def pending_holds() -> Select[LedgerHoldRow]:
    """Holds not yet posted, voided or expired, read from the pending ones alone (``LedgerPendingHoldRow``:
    filter on its columns, which are indexed by account and expiry)."""
    return select(LedgerHoldRow).join(LedgerPendingHoldRow, LedgerPendingHoldRow.hold_key == LedgerHoldRow.key)


# Built once: an authorisation releases its partner's expired holds first.
_EXPIRED_OF_ACCOUNT = pending_holds().where(
    LedgerPendingHoldRow.expires_at <= bindparam("now"), LedgerPendingHoldRow.account_key == bindparam("account")
)


def held_minor(db: Session, account: int) -> int:
    """What the account's pending holds reserve."""
    return int(db.scalar(_HELD, {"account": account}) or 0)


def expire_holds(db: Session, *, now: datetime, account: int | None = None) -> int:
    """Release pending holds past their expiry (of one account, or all); returns how many."""
    if account is None:
        expired = db.scalars(pending_holds().where(LedgerPendingHoldRow.expires_at <= now)).all()
    else:
        expired = db.scalars(_EXPIRED_OF_ACCOUNT, {"now": now, "account": account}).all()
    db.add_all(
        LedgerHoldResolutionRow(hold_key=h.key, state=HoldState.EXPIRED.value, posted_minor=0, resolved_at=now)
        for h in expired
    )
    db.flush()
    return len(expired)


def pending_hold_problems(db: Session) -> list[str]:
    """Holds listed as pending that are resolved or listed wrong, and unresolved holds not listed: none, if the
    triggers held. Reads every hold: for ``ledger check``, never on a hot path."""
    resolved = select(LedgerHoldResolutionRow.hold_key).where(LedgerHoldResolutionRow.hold_key == LedgerHoldRow.key)
    unresolved = {
        key: (session_id, (account, amount, expires_at))
        for key, session_id, account, amount, expires_at in db.execute(
            select(
                LedgerHoldRow.key,
                LedgerHoldRow.session_id,
                LedgerHoldRow.account_key,
                LedgerHoldRow.amount_minor,
                LedgerHoldRow.expires_at,
            ).where(~resolved.exists())
        )
    }
    listed = {
        key: (account, amount, expires_at)
        for key, account, amount, expires_at in db.execute(
            select(
                LedgerPendingHoldRow.hold_key,
                LedgerPendingHoldRow.account_key,
                LedgerPendingHoldRow.amount_minor,
                LedgerPendingHoldRow.expires_at,
            )
        )
    }
    problems = []
    for key in sorted(unresolved.keys() | listed.keys()):
        if key not in listed:
            problems.append(f"hold {key} of session {unresolved[key][0]} is pending but not listed as pending")
        elif key not in unresolved:
            problems.append(f"hold {key} is listed as pending but is resolved")
        elif listed[key] != unresolved[key][1]:
            problems.append(f"hold {key} of session {unresolved[key][0]} is listed as pending with other amounts")
    return problems


def hold_state(db: Session, hold: LedgerHoldRow) -> HoldState:
    resolution = db.get(LedgerHoldResolutionRow, hold.key)
    return HoldState.PENDING if resolution is None else HoldState(resolution.state)


def hold_for_session(db: Session, session_id: str) -> LedgerHoldRow | None:
    return db.scalar(_HOLD_OF_SESSION, {"session": session_id})


def _resolve(
    db: Session, session_id: str, target: HoldState, *, now: datetime, captured_minor: int = 0, entry: int | None = None
) -> HoldState | None:
    hold = hold_for_session(db, session_id)
    if hold is None:
        return None
    current = hold_state(db, hold)
    if current == HoldState.EXPIRED and target == HoldState.POSTED:
        # Captured after it expired: the partner owes the session all the same; the hold stays expired.
        return current
    if resolve(current, target) == current:
        return current
    posted = posted_amount(hold.amount_minor, captured_minor) if target == HoldState.POSTED else 0
    db.add(
        LedgerHoldResolutionRow(
            hold_key=hold.key, state=target.value, posted_minor=posted, entry_key=entry, resolved_at=now
        )
    )
    db.flush()
    return target


def capture_hold(
    db: Session, session_id: str, *, captured_minor: int, entry: int | None, now: datetime
) -> HoldState | None:
    """Post the session's hold for what it cost (at most what was held), linked to the entry that booked it."""
    return _resolve(db, session_id, HoldState.POSTED, now=now, captured_minor=captured_minor, entry=entry)


def void_hold(db: Session, session_id: str, *, now: datetime) -> HoldState | None:
    """Release the session's hold: it never started, or will never be billed."""
    return _resolve(db, session_id, HoldState.VOIDED, now=now)
