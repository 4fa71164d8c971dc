"""The terms of each party's latest contract version, read in one query."""

from __future__ import annotations

from typing import Any, Literal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from persistence.tables import ContractRow

PartyKind = Literal["DEMAND_PARTNER", "CPO"]


def latest_terms_by_party(db: Session, party_kind: PartyKind) -> dict[str, dict[str, Any]]:
    """Party id -> the terms of its highest contract version."""
    latest = (
        select(ContractRow.party_id, func.max(ContractRow.version).label("version"))
        .where(ContractRow.party_kind == party_kind)
        .group_by(ContractRow.party_id)
        .subquery()
    )
    rows = db.execute(
        select(ContractRow.party_id, ContractRow.terms)
        .join(
            latest,
            (ContractRow.party_id == latest.c.party_id) & (ContractRow.version == latest.c.version),
        )
        .where(ContractRow.party_kind == party_kind)
    )
    return {party_id: terms for party_id, terms in rows}


def latest_terms(db: Session, party_kind: PartyKind, party_id: str) -> dict[str, Any]:
    """The terms of the party's highest contract version; none without a contract."""
    terms = db.scalar(
        select(ContractRow.terms)
        .where(ContractRow.party_kind == party_kind, ContractRow.party_id == party_id)
        .order_by(ContractRow.version.desc())
        .limit(1)
    )
    return terms or {}
