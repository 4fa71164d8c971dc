"""Demand partners and their API keys (only each key's SHA-256 is kept), in the caller's transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from domain.parties import DemandPartner
from domain.partners import NewDemandPartner
from persistence.parties import set_postal_address
from persistence.tables import ApiKeyRow, DemandPartnerRow


@dataclass(frozen=True, slots=True)
class KeyHolder:
    """Who an API key authenticates, and until when (None: until revoked)."""

    partner: DemandPartner
    expires_at: datetime | None


@dataclass(frozen=True, slots=True)
class StoredKey:
    id: int
    demand_partner_id: str
    prefix: str
    sha256: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None


def add_partner(db: Session, partner: NewDemandPartner, *, now: datetime) -> None:
    row = DemandPartnerRow(
        id=partner.id,
        name=partner.legal_entity,
        legal_entity=partner.legal_entity,
        country=partner.country,
        vat_id=partner.vat_id,
        billing_currency=partner.billing_currency,
        iban=partner.iban,
        bic=partner.bic,
        active=partner.active,
        created_at=now,
    )
    set_postal_address(row, partner.address)
    db.add(row)
    db.flush()


def partner_exists(db: Session, partner_id: str) -> bool:
    return db.get(DemandPartnerRow, partner_id) is not None


def is_active(db: Session, partner_id: str) -> bool | None:
    """None: no such partner."""
    row = db.get(DemandPartnerRow, partner_id)
    return None if row is None else row.active


def deactivate(db: Session, partner_id: str) -> list[str]:
    """The partner is refused from now on; the digests of its keys, for the callers' credential caches."""
    db.get_one(DemandPartnerRow, partner_id).active = False
    return list(db.scalars(select(ApiKeyRow.key_sha256).where(ApiKeyRow.demand_partner_id == partner_id)))


def _valid(now: datetime) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    """A key authenticates while it is neither revoked nor expired."""
    return ApiKeyRow.revoked_at.is_(None), or_(ApiKeyRow.expires_at.is_(None), ApiKeyRow.expires_at > now)


def valid_key_count(db: Session, partner_id: str, *, now: datetime) -> int:
    return (
        db.scalar(
            select(func.count()).select_from(ApiKeyRow).where(ApiKeyRow.demand_partner_id == partner_id, *_valid(now))
        )
        or 0
    )


def add_key(db: Session, partner_id: str, key: str, sha256: str, *, now: datetime, expires_at: datetime | None) -> int:
    """Store the key's digest and the prefix that names it to people; its id."""
    row = ApiKeyRow(
        demand_partner_id=partner_id,
        key_sha256=sha256,
        key_prefix=key[:12],
        created_at=now,
        revoked_at=None,
        expires_at=expires_at,
    )
    db.add(row)
    db.flush()
    return row.key


def revoke_key(db: Session, partner_id: str, key_id: int, *, now: datetime) -> str | None:
    """The revoked key's digest; None if the partner has no such key. Revoking twice keeps the first time."""
    row = db.get(ApiKeyRow, key_id)
    if row is None or row.demand_partner_id != partner_id:
        return None
    row.revoked_at = row.revoked_at or now
    return row.key_sha256


def keys_of(db: Session, partner_id: str) -> list[StoredKey]:
    rows = db.scalars(select(ApiKeyRow).where(ApiKeyRow.demand_partner_id == partner_id).order_by(ApiKeyRow.key))
    return [
        StoredKey(r.key, r.demand_partner_id, r.key_prefix, r.key_sha256, r.created_at, r.expires_at, r.revoked_at)
        for r in rows
    ]


def key_holder(db: Session, sha256: str, *, now: datetime) -> KeyHolder | None:
    """The active partner a valid key (not revoked, not expired) belongs to; None for anything else."""
    found = db.execute(
        select(DemandPartnerRow, ApiKeyRow.expires_at)
        .join(ApiKeyRow, ApiKeyRow.demand_partner_id == DemandPartnerRow.id)
        .where(ApiKeyRow.key_sha256 == sha256, DemandPartnerRow.active.is_(True), *_valid(now))
    ).first()
    if found is None:
        return None
    row, expires_at = found
    return KeyHolder(DemandPartner(id=row.id, billing_currency=row.billing_currency), expires_at)
