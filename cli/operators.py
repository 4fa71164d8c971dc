"""``networkcore operators add|revoke``: the people who decide disputes, each with an API key of their own."""

from __future__ import annotations

import sys
from datetime import UTC, datetime

from persistence.db import SessionFactory
from services import operators


def add(writes: SessionFactory, name: str) -> int:
    """Print the operator's new key, shown this once."""
    with writes.begin() as db:
        try:
            key = operators.add_operator(db, name, now=datetime.now(UTC))
        except operators.OperatorExists as exists:
            print(exists, file=sys.stderr)
            return 1
    print(f"{name}'s operator key (shown once): {key}")
    return 0


def revoke(writes: SessionFactory, name: str) -> int:
    with writes.begin() as db:
        revoked = operators.revoke_operator(db, name, now=datetime.now(UTC))
    if not revoked:
        print(f"no operator {name}", file=sys.stderr)
        return 1
    print(f"revoked {name}'s key")
    return 0
