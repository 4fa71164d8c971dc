"""The people who decide disputes, each with an API key of their own."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from persistence import operator_keys
from persistence.db import UnitOfWork


class OperatorExists(Exception):
    pass


def add_operator(db: UnitOfWork, name: str, *, now: datetime) -> str:
    """A new key for the operator (a revoked one gets a fresh key); returned once, only its SHA-256 is kept."""
    if operator_keys.has_active_key(db, name):
        raise OperatorExists(f"operator {name} has a key; revoke it first to give it a new one")
    key = f"op_{secrets.token_urlsafe(32)}"
    operator_keys.store_key(db, name, hashlib.sha256(key.encode()).hexdigest(), now=now)
    return key


def revoke_operator(db: UnitOfWork, name: str, *, now: datetime) -> bool:
    """Revoke the operator's key (its past decisions keep its name); False if there is no such operator."""
    return operator_keys.revoke_key(db, name, now=now)
