"""Drivers' tokens (``tokens``), in the caller's transaction: a partner's own (registered, listed, changed)
and every partner's, for the CPOs' pull and their real-time authorisations. Values, not rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from domain.tokens import TokenType, WhitelistType
from persistence.repositories import same_ci_string
from persistence.tables import TokenAuthorisationRow, TokenRow


class TokenTaken(Exception):
    """uid + type is already registered (by this partner or another)."""


@dataclass(frozen=True, slots=True)
class TokenFields:
    """What a partner says about a token."""

    uid: str
    type: TokenType
    contract_id: str
    normalised_contract_id: str
    visual_number: str | None
    issuer: str
    whitelist: WhitelistType
    valid: bool
    valid_until: datetime | None
    language: str | None


@dataclass(frozen=True, slots=True)
class StoredToken:
    key: int
    demand_partner_id: str
    fields: TokenFields
    created_at: datetime
    last_updated: datetime


def _stored(row: TokenRow) -> StoredToken:
    return StoredToken(
        key=row.key,
        demand_partner_id=row.demand_partner_id,
        fields=TokenFields(
            uid=row.uid,
            type=TokenType(row.type),
            contract_id=row.contract_id,
            normalised_contract_id=row.normalised_contract_id,
            visual_number=row.visual_number,
            issuer=row.issuer,
            whitelist=WhitelistType(row.whitelist),
            valid=row.valid,
            valid_until=row.valid_until,
            language=row.language,
        ),
        created_at=row.created_at,
        last_updated=row.last_updated,
    )


def _is_token(uid: str, token_type: TokenType) -> ColumnElement[bool]:
    return (TokenRow.type == token_type.value) & same_ci_string(TokenRow.uid, uid)


def add_token(db: Session, demand_partner_id: str, fields: TokenFields, *, now: datetime) -> StoredToken:
    """Register the token, or refuse with ``TokenTaken`` (the unique index decides, also between two
    partners registering one uid at once)."""
    row = TokenRow(
        demand_partner_id=demand_partner_id,
        uid=fields.uid,
        type=fields.type.value,
        contract_id=fields.contract_id,
        normalised_contract_id=fields.normalised_contract_id,
        visual_number=fields.visual_number,
        issuer=fields.issuer,
        whitelist=fields.whitelist.value,
        valid=fields.valid,
        valid_until=fields.valid_until,
        language=fields.language,
        created_at=now,
        last_updated=now,
    )
    try:
        with db.begin_nested():
            db.add(row)
    except IntegrityError as taken:
        raise TokenTaken(f"a {fields.type.value} token with uid {fields.uid} is already registered") from taken
    return _stored(row)


def _partner_token_row(db: Session, demand_partner_id: str, uid: str, token_type: TokenType) -> TokenRow | None:
    return db.scalar(
        select(TokenRow).where(TokenRow.demand_partner_id == demand_partner_id, _is_token(uid, token_type))
    )


def partner_token(db: Session, demand_partner_id: str, uid: str, token_type: TokenType) -> StoredToken | None:
    """One of the partner's tokens; None if it has none such (another partner's is none of its)."""
    row = _partner_token_row(db, demand_partner_id, uid, token_type)
    return None if row is None else _stored(row)


def partner_tokens(db: Session, demand_partner_id: str, *, limit: int, after_key: int | None) -> list[StoredToken]:
    """Up to ``limit`` of the partner's tokens after the key ``after_key``, oldest first."""
    query = select(TokenRow).where(TokenRow.demand_partner_id == demand_partner_id)
    if after_key is not None:
        query = query.where(TokenRow.key > after_key)
    return [_stored(row) for row in db.scalars(query.order_by(TokenRow.key).limit(limit))]


@dataclass(frozen=True, slots=True)
class TokenChanges:
    """What a PATCH may change; None leaves a field as it is (``valid_until`` is cleared explicitly)."""

    valid: bool | None = None
    whitelist: WhitelistType | None = None
    valid_until: datetime | None = None
    clear_valid_until: bool = False


def change_token(
    db: Session, demand_partner_id: str, uid: str, token_type: TokenType, changes: TokenChanges, *, now: datetime
) -> StoredToken | None:
    """Apply the changes to one of the partner's tokens (its ``last_updated`` moves, so the CPOs' next pull
    brings it); None if the partner has no such token."""
    row = _partner_token_row(db, demand_partner_id, uid, token_type)
    if row is None:
        return None
    if changes.valid is not None:
        row.valid = changes.valid
    if changes.whitelist is not None:
        row.whitelist = changes.whitelist.value
    if changes.valid_until is not None or changes.clear_valid_until:
        row.valid_until = changes.valid_until
    row.last_updated = now
    db.flush()
    return _stored(row)


def token_by_uid(db: Session, uid: str, token_type: TokenType) -> StoredToken | None:
    """Any partner's token: what a CPO authorises."""
    row = db.scalar(select(TokenRow).where(_is_token(uid, token_type)))
    return None if row is None else _stored(row)


def token_by_contract_id(db: Session, normalised_contract_ids: list[str]) -> StoredToken | None:
    """Any partner's token under one of these normalised contract ids (a Plug & Charge car's eMA-ID): a
    valid one before a blocked one, then the first registered, so blocking one card of a contract does not
    stop its car."""
    row = db.scalar(
        select(TokenRow)
        .where(TokenRow.normalised_contract_id.in_(normalised_contract_ids))
        .order_by(TokenRow.valid.desc(), TokenRow.key)
        .limit(1)
    )
    return None if row is None else _stored(row)


def tokens_page(
    db: Session, *, date_from: datetime | None, date_to: datetime | None, offset: int, limit: int
) -> tuple[list[StoredToken], int]:
    """Every partner's tokens last updated in [date_from, date_to), oldest first: one page and how many
    match in all (the CPOs' pull)."""
    where: list[ColumnElement[bool]] = []
    if date_from is not None:
        where.append(TokenRow.last_updated >= date_from)
    if date_to is not None:
        where.append(TokenRow.last_updated < date_to)
    total = db.scalar(select(func.count()).select_from(TokenRow).where(*where)) or 0
    rows = db.scalars(
        select(TokenRow).where(*where).order_by(TokenRow.last_updated, TokenRow.key).offset(offset).limit(limit)
    )
    return [_stored(row) for row in rows], int(total)


@dataclass(frozen=True, slots=True)
class AuthorisationRecord:
    """A CPO's real-time authorisation of a token and our answer."""

    token_key: int
    demand_partner_id: str
    cpo_id: str
    location_id: str | None
    evse_uids: list[str]
    allowed: str
    reason: str | None
    authorization_reference: str | None
    hold_key: int | None
    requested_at: datetime


def record_authorisation(db: Session, record: AuthorisationRecord) -> None:
    db.add(
        TokenAuthorisationRow(
            token_key=record.token_key,
            demand_partner_id=record.demand_partner_id,
            cpo_id=record.cpo_id,
            location_id=record.location_id,
            evse_uids=record.evse_uids,
            allowed=record.allowed,
            reason=record.reason,
            authorization_reference=record.authorization_reference,
            hold_key=record.hold_key,
            requested_at=record.requested_at,
        )
    )
    db.flush()


@dataclass(frozen=True, slots=True)
class AllowedAuthorisation:
    """An ALLOWED real-time authorisation: whose token, and when."""

    reference: str
    demand_partner_id: str
    token_uid: str
    requested_at: datetime


def allowed_authorisation(db: Session, cpo_id: str, reference: str) -> AllowedAuthorisation | None:
    """The ALLOWED authorisation this CPO was given under ``reference`` (ours are lower-case UUIDs; the CPO
    may send them in any case)."""
    found = db.execute(
        select(TokenAuthorisationRow, TokenRow.uid)
        .join(TokenRow, TokenRow.key == TokenAuthorisationRow.token_key)
        .where(
            TokenAuthorisationRow.cpo_id == cpo_id,
            TokenAuthorisationRow.authorization_reference == reference.lower(),
        )
    ).first()
    if found is None:
        return None
    row, uid = found
    return AllowedAuthorisation(row.authorization_reference or reference, row.demand_partner_id, uid, row.requested_at)
