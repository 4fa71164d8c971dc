"""The terms of each party's latest contract version, read in one query."""

from __future__ import annotations

from typing import Any, Literal

from sqlalchemy import bindparam, func, select
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


# Built once: each authorisation and settlement asks it.
_LATEST_TERMS = (
    select(ContractRow.terms)
    .where(ContractRow.party_kind == bindparam("party_kind"), ContractRow.party_id == bindparam("party_id"))
    .order_by(ContractRow.version.desc())
    .limit(1)
)


def latest_terms(db: Session, party_kind: PartyKind, party_id: str) -> dict[str, Any]:
    """The terms of the party's highest contract version; none without a contract."""
    terms = db.scalar(_LATEST_TERMS, {"party_kind": party_kind, "party_id": party_id})
    return terms or {}
