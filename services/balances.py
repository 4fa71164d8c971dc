"""Where a demand partner stands in the ledger: per currency, what it owes, its revenue share, its holds
and the credit left."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from domain.parties import DemandPartner
from persistence.db import SessionFactory
from persistence.positions import PartnerPosition, partner_positions


@dataclass(frozen=True, slots=True)
class PartnerBalance:
    as_of: datetime
    positions: list[PartnerPosition]


def partner_balance(reads: SessionFactory, partner: DemandPartner) -> PartnerBalance:
    now = datetime.now(UTC)
    with reads() as db:
        return PartnerBalance(now, partner_positions(db, partner.id, partner.billing_currency, now=now))
