"""All SQL lives here. Functions take the caller's SQLAlchemy session and never commit:
the caller owns the transaction (one unit of work per activity or request)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, String, Update, and_, bindparam, case, func, insert, or_, select, update
from sqlalchemy.orm import InstrumentedAttribute, Mapped, Session, defer

from domain.sessions.authorisation import EffectiveVersion
from domain.sessions.lifecycle import CpoSessionStatus, SessionStage, can_move, cpo_status_advances
from persistence.db import execute_built
from persistence.tables import (
    CdrRow,
    ClearingRow,
    ConnectorRow,
    ContractRow,
    CpoRow,
    EvseRow,
    FxConversionRow,
    LocationRow,
    OcpiInboxRow,
    OcpiSessionRow,
    OperatorKeyRow,
    SessionRow,
    TariffRow,
)

# --- parties -------------------------------------------------------------------------------------


def operator_for_key(db: Session, key_sha256: str) -> str | None:
    return db.scalar(
        select(OperatorKeyRow.name).where(OperatorKeyRow.key_sha256 == key_sha256, OperatorKeyRow.revoked_at.is_(None))
    )


# Built once, columns only: every authorisation reads both parties' versions and one version's terms (the
# ORM's objects were dropped as soon as read, so each later read of the same contract loaded it again).
_CONTRACT_VERSIONS = select(
    ContractRow.key, ContractRow.version, ContractRow.effective_from, ContractRow.effective_to
).where(ContractRow.party_kind == bindparam("party_kind"), ContractRow.party_id == bindparam("party_id"))
_CONTRACT_TERMS = select(ContractRow.terms).where(ContractRow.key == bindparam("contract"))


def contract_versions(db: Session, party_kind: str, party_id: str) -> list[EffectiveVersion]:
    rows = db.execute(_CONTRACT_VERSIONS, {"party_kind": party_kind, "party_id": party_id})
    return [
        EffectiveVersion(key, version, effective_from, effective_to)
        for key, version, effective_from, effective_to in rows
    ]


def contract_terms(db: Session, contract_key: int) -> dict[str, Any]:
    """The stored terms of one contract version."""
    terms: dict[str, Any] = db.execute(_CONTRACT_TERMS, {"contract": contract_key}).scalar_one()
    return terms


def same_ci_string(column: Mapped[str] | Mapped[str | None], value: str) -> ColumnElement[bool]:
    """OCPI CiStrings (country codes, party ids, object ids) ignore case: stored as received, compared upper
    case, which the functional indexes on ``upper(...)`` serve (``persistence/tables.py``)."""
    return func.upper(column) == value.upper()


def same_ci_parameter(column: Mapped[str] | Mapped[str | None], name: str) -> ColumnElement[bool]:
    """``same_ci_string`` in a statement built once: the value is bound as ``name``, passed upper-cased."""
    return func.upper(column) == bindparam(name, type_=String())


# --- network -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Charger:
    evse: EvseRow
    location: LocationRow
    cpo: CpoRow
    connectors: Sequence[ConnectorRow]  # in the order the CPO first sent them


# Built once: each start, authorisation and price asks it. The OCPI objects' bodies are not read from a
# Charger (the columns hold what deciding needs), so they are not loaded (an attempt raises).
_CHARGER = (
    select(EvseRow, LocationRow, CpoRow)
    .join(LocationRow, LocationRow.key == EvseRow.location_key)
    .join(CpoRow, CpoRow.id == LocationRow.cpo_id)
    .where(same_ci_parameter(EvseRow.evse_id, "evse_id"))
    .options(defer(EvseRow.body, raiseload=True), defer(LocationRow.body, raiseload=True))
)
_CONNECTORS = (
    select(ConnectorRow)
    .where(ConnectorRow.evse_key == bindparam("evse_key"))
    .order_by(ConnectorRow.key)
    .options(defer(ConnectorRow.body, raiseload=True))
)


def charger_by_evse_id(db: Session, evse_id: str) -> Charger | None:
    """The charger partners start sessions on by ``evse_id`` (a CiString)."""
    row = db.execute(_CHARGER, {"evse_id": evse_id.upper()}).first()
    if row is None:
        return None
    evse, location, cpo = row
    connectors = db.scalars(_CONNECTORS, {"evse_key": evse.key}).all()
    return Charger(evse, location, cpo, connectors)


# Built once: every authorisation reads the versions of its connector's tariffs.
_TARIFF_VERSIONS = (
    select(TariffRow)
    .where(TariffRow.cpo_id == bindparam("cpo"), same_ci_parameter(TariffRow.tariff_id, "tariff_id"))
    .order_by(TariffRow.last_updated)
)


def tariff_versions(db: Session, cpo_id: str, tariff_id: str) -> list[EffectiveVersion]:
    """Each version is in force from its ``last_updated`` (or later start) until its own end or until
    the next version takes over; a deleted version is never in force (see ``in_force``)."""
    rows = db.scalars(_TARIFF_VERSIONS, {"cpo": cpo_id, "tariff_id": tariff_id.upper()}).all()

    def begins(r: TariffRow) -> datetime:
        return r.last_updated if r.deleted else max(r.last_updated, r.start_date_time or r.last_updated)

    versions = []
    for index, r in enumerate(rows, start=1):
        if r.deleted:
            continue
        ends = [e for e in (r.end_date_time, begins(rows[index]) if index < len(rows) else None) if e is not None]
        versions.append(EffectiveVersion(r.key, index, begins(r), min(ends) if ends else None))
    return versions


def tariff_by_version(db: Session, cpo_id: str, tariff_id: str, last_updated: datetime) -> TariffRow | None:
    return db.scalars(
        select(TariffRow).where(
            TariffRow.cpo_id == cpo_id,
            same_ci_string(TariffRow.tariff_id, tariff_id),
            TariffRow.last_updated == last_updated,
        )
    ).first()


def latest_tariff(db: Session, cpo_id: str, tariff_id: str) -> TariffRow | None:
    return db.scalars(
        select(TariffRow)
        .where(TariffRow.cpo_id == cpo_id, same_ci_string(TariffRow.tariff_id, tariff_id))
        .order_by(TariffRow.last_updated.desc())
    ).first()


def tariff_version(db: Session, key: int) -> TariffRow:
    return db.get_one(TariffRow, key)


# --- sessions (read model) -----------------------------------------------------------------------


def session_by_id(db: Session, session_id: str) -> SessionRow | None:
    return db.get(SessionRow, session_id)


def session_for_demand_partner(db: Session, demand_partner_id: str, session_id: str) -> SessionRow | None:
    return db.scalars(
        select(SessionRow).where(SessionRow.id == session_id, SessionRow.demand_partner_id == demand_partner_id)
    ).first()


def session_by_idempotency_key(db: Session, demand_partner_id: str, key: str) -> SessionRow | None:
    return db.scalars(
        select(SessionRow).where(SessionRow.demand_partner_id == demand_partner_id, SessionRow.idempotency_key == key)
    ).first()


@dataclass(frozen=True, slots=True)
class SessionFilter:
    demand_partner_id: str
    stage: str | None = None
    evse_id: str | None = None
    needs_attention: bool | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None


def list_sessions(
    db: Session, where: SessionFilter, *, limit: int, after: tuple[datetime, str] | None
) -> Sequence[SessionRow]:
    """Newest first, keyset-paginated on (created_at, id) so pages stay stable while sessions arrive."""
    query = select(SessionRow).where(SessionRow.demand_partner_id == where.demand_partner_id)
    if where.stage is not None:
        query = query.where(SessionRow.stage == where.stage)
    if where.evse_id is not None:
        query = query.where(SessionRow.evse_id == where.evse_id)
    if where.needs_attention is not None:
        query = query.where(SessionRow.needs_attention == where.needs_attention)
    if where.created_from is not None:
        query = query.where(SessionRow.created_at >= where.created_from)
    if where.created_to is not None:
        query = query.where(SessionRow.created_at < where.created_to)
    if after is not None:
        created_at, session_id = after
        query = query.where(
            or_(
                SessionRow.created_at < created_at,
                and_(SessionRow.created_at == created_at, SessionRow.id < session_id),
            )
        )
    return db.scalars(query.order_by(SessionRow.created_at.desc(), SessionRow.id.desc()).limit(limit)).all()


# Built once: every Session report and stage change locks its session's row (``Session.get_one`` built and keyed
# the statement anew each time, a quarter of the read's cost). The locked read refreshes a row the unit of work
# holds already (``populate_existing``): one read before the lock may be stale by the time the lock is granted
# (a settlement committed meanwhile), and a stage decided on it moved a SETTLED session back.
_SESSION_LOCKED = (
    select(SessionRow)
    .where(SessionRow.id == bindparam("session"))
    .with_for_update()
    .execution_options(populate_existing=True)
)


def locked_session(db: Session, session_id: str) -> SessionRow:
    """The session's row, locked until the transaction ends and as it is now (what the unit of work holds
    unflushed is flushed first); ``NoResultFound`` when there is none."""
    return db.scalars(_SESSION_LOCKED, {"session": session_id}).one()


def move_session_stage(
    db: Session,
    session_id: str,
    stage: SessionStage,
    *,
    now: datetime,
    reason: str | None = None,
    needs_attention: bool | None = None,
) -> bool:
    """Move the read model forward (never back); returns whether the stage moved."""
    return move_locked_session_stage(
        locked_session(db, session_id), stage, now=now, reason=reason, needs_attention=needs_attention
    )


def move_locked_session_stage(
    row: SessionRow,
    stage: SessionStage,
    *,
    now: datetime,
    reason: str | None = None,
    needs_attention: bool | None = None,
) -> bool:
    """``move_session_stage`` for a row the caller has locked (``locked_session``)."""
    moved = can_move(SessionStage(row.stage), stage)
    if moved:
        row.stage = stage.value
        row.reason = reason  # the reason belongs to the stage: a new stage drops the old one's
    if needs_attention is not None:
        row.needs_attention = needs_attention
        if needs_attention and reason is not None:
            row.reason = reason
    row.updated_at = now
    return moved


_CPO_PROGRESS_COLUMNS = ("cpo_session_id", "cpo_status", "kwh", "started_at", "ended_at", "updated_at")


def _cpo_progress_update() -> Update:
    # Once the session's CDR is here its figures are the session's: a Session report processed after it (sent
    # again, or overtaken by the CDR) moves the CPO's status on, never the energy and times back.
    has_cdr = select(CdrRow.key).where(CdrRow.our_session_id == bindparam("session")).exists()

    def unless_cdr(column: InstrumentedAttribute[Any]) -> ColumnElement[Any]:
        return case((has_cdr, column), else_=bindparam(f"reported_{column.key}", type_=column.type))

    return (
        update(SessionRow)
        .where(SessionRow.id == bindparam("session"))
        .values(
            cpo_session_id=bindparam("reported_cpo_session_id"),
            cpo_status=bindparam("reported_cpo_status"),
            kwh=unless_cdr(SessionRow.kwh),
            started_at=unless_cdr(SessionRow.started_at),
            ended_at=unless_cdr(SessionRow.ended_at),
            updated_at=bindparam("now"),
        )
    )


# Built once and run by ``execute_built`` (every Session report runs it); the row it changes is expired after it.
_CPO_PROGRESS = _cpo_progress_update()


def update_cpo_progress(
    db: Session,
    session_id: str,
    *,
    cpo_session_id: str,
    cpo_status: str,
    kwh: Decimal,
    started_at: datetime | None,
    ended_at: datetime | None,
    now: datetime,
) -> SessionRow:
    """The session's row, locked and showing the report."""
    # Locked by a statement of its own first: on PostgreSQL an UPDATE that waits for a row lock re-reads the row
    # but not its CDR lookup, so a report that waited for the CDR's transaction wrote its energy over the CDR's.
    row = locked_session(db, session_id)
    execute_built(
        db,
        _CPO_PROGRESS,
        {
            "session": session_id,
            "reported_cpo_session_id": cpo_session_id,
            "reported_cpo_status": cpo_status,
            "reported_kwh": kwh,
            "reported_started_at": started_at,
            "reported_ended_at": ended_at,
            "now": now,
        },
    )
    db.expire(row, _CPO_PROGRESS_COLUMNS)
    return row


# --- OCPI intake ---------------------------------------------------------------------------------


# Built once: every Session message and every CDR reads its Session, and a statement made per call cost
# more CPU (made, then keyed for SQLAlchemy's statement cache) than the query itself.
_OCPI_SESSION = select(OcpiSessionRow).where(
    same_ci_parameter(OcpiSessionRow.country_code, "country_code"),
    same_ci_parameter(OcpiSessionRow.party_id, "party_id"),
    same_ci_parameter(OcpiSessionRow.session_id, "session_id"),
)
_OCPI_SESSION_LOCKED = _OCPI_SESSION.with_for_update()


def ocpi_session(
    db: Session, country_code: str, party_id: str, session_id: str, *, for_update: bool = True
) -> OcpiSessionRow | None:
    """The CPO's Session we hold; locked for the message that changes it unless only read."""
    ids = {"country_code": country_code.upper(), "party_id": party_id.upper(), "session_id": session_id.upper()}
    return db.scalars(_OCPI_SESSION_LOCKED if for_update else _OCPI_SESSION, ids).first()


# Built once: the statuses the workflow has been told (two a session) are recorded by one statement.
_FORWARDED = (
    update(OcpiSessionRow)
    .where(
        same_ci_parameter(OcpiSessionRow.country_code, "cpo_country_code"),
        same_ci_parameter(OcpiSessionRow.party_id, "cpo_party_id"),
        same_ci_parameter(OcpiSessionRow.session_id, "cpo_session_id"),
        or_(
            OcpiSessionRow.forwarded_status.is_(None),
            OcpiSessionRow.forwarded_status.in_(bindparam("older", expanding=True)),
        ),
    )
    .values(forwarded_status=bindparam("told"))
)


def record_forwarded_status(
    db: Session, country_code: str, party_id: str, session_id: str, status: CpoSessionStatus
) -> None:
    """The workflow has been told ``status``: the same status again, or an older one, is no news for it."""
    older = [known.value for known in CpoSessionStatus if cpo_status_advances(known, status)]
    ids = {
        "cpo_country_code": country_code.upper(),
        "cpo_party_id": party_id.upper(),
        "cpo_session_id": session_id.upper(),
    }
    execute_built(db, _FORWARDED, {**ids, "told": status.value, "older": older})


# Built once: every message a CPO sends is stored, by ``execute_built`` rather than added to the unit of
# work (nothing reads the row back in the transaction that stores it; the unit of work's bookkeeping cost
# five times the insert: 139 against 26 us).
_STORE_INBOX = insert(OcpiInboxRow)


def record_inbox(
    db: Session,
    *,
    received_at: datetime,
    cpo_id: str,
    kind: str,
    object_id: str,
    our_session_id: str | None,
    outcome: str,
    status_code: int,
    message: str,
    body: str,
    raw_body: bytes,
) -> None:
    execute_built(
        db,
        _STORE_INBOX,
        {
            "received_at": received_at,
            "cpo_id": cpo_id,
            "kind": kind,
            "object_id": object_id,
            "our_session_id": our_session_id,
            "outcome": outcome,
            "status_code": status_code,
            "message": message,
            "body": body,
            "raw_body": raw_body,
        },
    )


def cdr_by_id(db: Session, country_code: str, party_id: str, cdr_id: str) -> CdrRow | None:
    return db.scalars(
        select(CdrRow).where(
            same_ci_string(CdrRow.country_code, country_code),
            same_ci_string(CdrRow.party_id, party_id),
            same_ci_string(CdrRow.cdr_id, cdr_id),
        )
    ).first()


def cdrs_for_session(db: Session, session_id: str) -> Sequence[CdrRow]:
    return db.scalars(select(CdrRow).where(CdrRow.our_session_id == session_id).order_by(CdrRow.key)).all()


def clearing_for_session(db: Session, session_id: str) -> ClearingRow | None:
    """The session's latest clearing (a correction's, after one)."""
    return db.scalars(
        select(ClearingRow).where(ClearingRow.session_id == session_id).order_by(ClearingRow.generation.desc())
    ).first()


def conversion_for_session(db: Session, session_id: str) -> FxConversionRow | None:
    """The session's latest conversion (a correction's, after one)."""
    return db.scalars(
        select(FxConversionRow)
        .where(FxConversionRow.session_id == session_id)
        .order_by(FxConversionRow.generation.desc())
    ).first()


def clearing_of(db: Session, session_id: str, generation: int) -> ClearingRow | None:
    return db.scalar(
        select(ClearingRow).where(ClearingRow.session_id == session_id, ClearingRow.generation == generation)
    )


# Built once: asked by every settlement.
_CONVERSION = select(FxConversionRow).where(
    FxConversionRow.session_id == bindparam("session_id"), FxConversionRow.generation == bindparam("generation")
)


def conversion_of(db: Session, session_id: str, generation: int) -> FxConversionRow | None:
    return db.scalar(_CONVERSION, {"session_id": session_id, "generation": generation})
