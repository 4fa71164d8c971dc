"""Parties' contracts: versioned and effective-dated, in the caller's transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from persistence.tables import ContractRow


def ensure_contract(
    db: Session, party_kind: str, party_id: str, terms: dict[str, Any], *, now: datetime, first_from: datetime
) -> None:
    """The party's contract says ``terms``: version 1 from ``first_from`` if it has none, a new version from
    ``now`` (the old one ending there) if its terms differ. Sessions keep the version in force when they
    started."""
    latest = db.scalar(
        select(ContractRow)
        .where(ContractRow.party_kind == party_kind, ContractRow.party_id == party_id)
        .order_by(ContractRow.version.desc())
        .limit(1)
    )
    if latest is not None and latest.terms == terms:
        return
    if latest is not None:
        latest.effective_to = now
    db.add(
        ContractRow(
            party_kind=party_kind,
            party_id=party_id,
            version=1 if latest is None else latest.version + 1,
            effective_from=first_from if latest is None else now,
            effective_to=None,
            terms=terms,
        )
    )
