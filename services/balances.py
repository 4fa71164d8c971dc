"""Where a demand partner stands in the ledger: per currency, what it owes, its revenue share, its holds
and the credit left; what it has overdue and whether that blocks new sessions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from domain.parties import DemandPartner
from persistence.db import SessionFactory
from persistence.dunning import Overdue, overdue_of
from persistence.positions import PartnerPosition, partner_positions
from persistence.tables import DemandPartnerRow


@dataclass(frozen=True, slots=True)
class PartnerBalance:
    as_of: datetime
    positions: list[PartnerPosition]
    overdue: Overdue


def partner_balance(reads: SessionFactory, partner: DemandPartner) -> PartnerBalance:
    now = datetime.now(UTC)
    with reads() as db:
        return PartnerBalance(
            now,
            partner_positions(db, partner.id, partner.billing_currency, now=now),
            overdue_of(db, db.get_one(DemandPartnerRow, partner.id), at=now),
        )
