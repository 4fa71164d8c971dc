"""The books of the self-billed revenue-share invoices (``docs/revenue-share.md``), in the caller's
transaction: the VAT an issued one charges (a domestic partner's) is booked as the platform's input VAT
owed to the partner on top of its share, and queued for the partner's payout, under one key per document
number; a credit note books the negative. A reverse-charged document books nothing."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from domain.invoicing.lines import InvoiceLine
from domain.payouts.batches import Payee, PayeeKind
from domain.settlement.plan import Payable
from domain.settlement.revenue_share import revenue_share_vat_entry, revenue_share_vat_key
from persistence import ledger, payouts


def book_revenue_share_vat(
    db: Session, *, partner_id: str, number: str, currency: str, lines: Sequence[InvoiceLine], now: datetime
) -> None:
    key = revenue_share_vat_key(number)
    entry = revenue_share_vat_entry(key, demand_partner_id=partner_id, currency=currency, lines=lines)
    if entry is None:
        return
    ledger.post(db, entry, now=now)
    vat_minor = sum(line.vat_minor for line in lines)
    payouts.enqueue(db, None, key, [Payable(Payee(PayeeKind.DEMAND_PARTNER, partner_id), currency, vat_minor)], now=now)
