"""Operators' API keys (only their SHA-256 is kept), in the caller's transaction."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from persistence.tables import OperatorKeyRow


def has_active_key(db: Session, name: str) -> bool:
    row = db.get(OperatorKeyRow, name)
    return row is not None and row.revoked_at is None


def store_key(db: Session, name: str, key_sha256: str, *, now: datetime) -> None:
    """The operator's key from now on: a new operator's, or a revoked one's fresh key."""
    row = db.get(OperatorKeyRow, name)
    if row is None:
        db.add(OperatorKeyRow(name=name, key_sha256=key_sha256, created_at=now))
    else:
        row.key_sha256, row.created_at, row.revoked_at = key_sha256, now, None


def revoke_key(db: Session, name: str, *, now: datetime) -> bool:
    """False if there is no such operator (its past decisions keep its name either way)."""
    row = db.get(OperatorKeyRow, name)
    if row is None:
        return False
    row.revoked_at = now
    return True
