"""Demand partners: onboarding (the partner and its contract), API keys (issued with an expiry, at most two
valid at once so a key can be rotated without downtime, revoked at any time), deactivation, and who a key
authenticates. A key is shown once; only its SHA-256 is kept."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from domain.partners import DemandPartnerTerms, NewDemandPartner, PostalAddress, checked_terms, new_demand_partner
from persistence import contracts
from persistence import partners as stored
from persistence.db import SessionFactory, UnitOfWork
from persistence.partners import KeyHolder, StoredKey

# Two keys at once: the old one and its replacement, while the partner switches over.
MAX_VALID_KEYS = 2
DEFAULT_KEY_LIFETIME = timedelta(days=365)
MAX_KEY_LIFETIME = timedelta(days=2 * 365)


class PartnerExists(Exception):
    pass


class PartnerNotFound(Exception):
    pass


class KeyNotFound(Exception):
    pass


class KeyRefused(Exception):
    """The partner may not get another key now; the message says why."""


@dataclass(frozen=True, slots=True)
class Application:
    """A demand partner to onboard, as an operator typed it."""

    partner_id: str
    legal_entity: str
    address: PostalAddress
    country: str
    vat_id: str
    billing_currency: str
    terms: DemandPartnerTerms
    iban: str | None = None
    bic: str | None = None


@dataclass(frozen=True, slots=True)
class IssuedKey:
    id: int
    key: str  # shown once, never stored
    expires_at: datetime | None


def key_digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def add_demand_partner(db: UnitOfWork, partner: NewDemandPartner, terms: dict[str, Any], *, now: datetime) -> None:
    """Store a new partner and version 1 of its contract, in force from ``now``."""
    if stored.partner_exists(db, partner.id):
        raise PartnerExists(f"demand partner {partner.id} exists already")
    stored.add_partner(db, partner, now=now)
    contracts.ensure_contract(db, "DEMAND_PARTNER", partner.id, terms, now=now, first_from=now)


def onboard_demand_partner(db: UnitOfWork, application: Application, *, now: datetime) -> NewDemandPartner:
    """The partner and its contract, every field checked first (``FieldInvalid`` names the one refused)."""
    partner = new_demand_partner(
        partner_id=application.partner_id,
        legal_entity=application.legal_entity,
        address=application.address,
        country=application.country,
        vat_id=application.vat_id,
        billing_currency=application.billing_currency,
        iban=application.iban,
        bic=application.bic,
    )
    terms = checked_terms(application.terms, partner)
    add_demand_partner(db, partner, terms.contract(partner.billing_currency), now=now)
    return partner


def register_api_key(db: UnitOfWork, partner_id: str, key: str, *, now: datetime, expires_at: datetime | None) -> int:
    """Store a key chosen elsewhere (the seed's development keys); its id."""
    return stored.add_key(db, partner_id, key, key_digest(key), now=now, expires_at=expires_at)


def issue_api_key(
    db: UnitOfWork, partner_id: str, *, now: datetime, valid_for: timedelta = DEFAULT_KEY_LIFETIME
) -> IssuedKey:
    """A new random key valid for ``valid_for``; refused while the partner has two valid keys (revoke one)."""
    if not timedelta(0) < valid_for <= MAX_KEY_LIFETIME:
        raise KeyRefused(f"a key is valid for 1 day to {MAX_KEY_LIFETIME.days} days, not {valid_for.days}")
    active = stored.is_active(db, partner_id)
    if active is None:
        raise PartnerNotFound(partner_id)
    if not active:
        raise KeyRefused(f"demand partner {partner_id} is not active")
    if stored.valid_key_count(db, partner_id, now=now) >= MAX_VALID_KEYS:
        raise KeyRefused(f"{partner_id} has {MAX_VALID_KEYS} valid keys already: revoke one first")
    key = f"nc_live_{secrets.token_urlsafe(32)}"
    expires_at = now + valid_for
    return IssuedKey(register_api_key(db, partner_id, key, now=now, expires_at=expires_at), key, expires_at)


def revoke_api_key(db: UnitOfWork, partner_id: str, key_id: int, *, now: datetime) -> str:
    """Revoke one of the partner's keys; its digest (for the credential caches to forget it)."""
    digest = stored.revoke_key(db, partner_id, key_id, now=now)
    if digest is None:
        raise KeyNotFound(f"demand partner {partner_id} has no key {key_id}")
    return digest


def api_keys(db: UnitOfWork, partner_id: str) -> list[StoredKey]:
    if not stored.partner_exists(db, partner_id):
        raise PartnerNotFound(partner_id)
    return stored.keys_of(db, partner_id)


def deactivate_demand_partner(db: UnitOfWork, partner_id: str) -> list[str]:
    """The partner's keys stop authenticating (its sessions and books stay); their digests."""
    if not stored.partner_exists(db, partner_id):
        raise PartnerNotFound(partner_id)
    return stored.deactivate(db, partner_id)


def key_holder(reads: SessionFactory, digest: str, *, now: datetime) -> KeyHolder | None:
    """The active partner a valid key (by its SHA-256) belongs to, and when the key expires."""
    with reads() as db:
        return stored.key_holder(db, digest, now=now)
