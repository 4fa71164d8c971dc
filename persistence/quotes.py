"""Quotes as given to demand partners: stored once, read back by their own partner only."""

from __future__ import annotations

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from persistence.tables import QuoteRow, SessionRow


def store_quote(db: Session, quote: QuoteRow) -> None:
    db.add(quote)
    db.flush()


def partner_quote(db: Session, demand_partner_id: str, quote_id: str) -> QuoteRow | None:
    """The quote if it is this partner's; another partner's is none (it never learns it exists)."""
    return db.scalars(
        select(QuoteRow).where(QuoteRow.id == quote_id, QuoteRow.demand_partner_id == demand_partner_id)
    ).first()


# Built once: every authorisation asks.
_QUOTED_TARIFF = (
    select(QuoteRow.tariff_key)
    .join(SessionRow, SessionRow.quote_id == QuoteRow.id)
    .where(SessionRow.id == bindparam("session"))
)


def quoted_tariff_key(db: Session, session_id: str) -> int | None:
    """The tariff version of the quote the session started on; None when it started on none."""
    return db.scalar(_QUOTED_TARIFF, {"session": session_id})
