"""``networkcore operators``: the people who decide disputes, each with an API key of their own."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from sqlalchemy.orm import Session

from persistence.tables import OperatorKeyRow


class OperatorExists(Exception):
    pass


def add_operator(db: Session, name: str, *, now: datetime) -> str:
    """A new key for the operator (a revoked one gets a fresh key); returned once, only its SHA-256 is kept."""
    key = f"op_{secrets.token_urlsafe(32)}"
    digest = hashlib.sha256(key.encode()).hexdigest()
    row = db.get(OperatorKeyRow, name)
    if row is None:
        db.add(OperatorKeyRow(name=name, key_sha256=digest, created_at=now))
    elif row.revoked_at is None:
        raise OperatorExists(f"operator {name} has a key; revoke it first to give it a new one")
    else:
        row.key_sha256, row.created_at, row.revoked_at = digest, now, None
    return key


def revoke_operator(db: Session, name: str, *, now: datetime) -> bool:
    """Revoke the operator's key (its past decisions keep its name); False if there is no such operator."""
    row = db.get(OperatorKeyRow, name)
    if row is None:
        return False
    row.revoked_at = now
    return True
