"""Scratch data for ``networkcore bench``'s statement import: issued invoices to demand partners, inserted in
bulk as they would stand after invoicing (numbered, with totals), in a throw-away database only."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from domain.invoicing.documents import PLATFORM_ISSUER, DocumentKind, invoice_number
from persistence.db import dialect_insert
from persistence.tables import InvoiceRow

ISSUED = "ISSUED"


def issue_open_invoices(
    db: Session, partners: Sequence[str], currency: str, totals_minor: Sequence[int], *, series: str, now: datetime
) -> list[str]:
    """One issued invoice per total (no VAT), to the partners in turn, due in 14 days; their numbers in order.
    The due date makes each an open item whose kept open amount the import's allocations move, as a real
    invoice's (migration 0034)."""
    numbers = [invoice_number(series, sequence) for sequence in range(1, len(totals_minor) + 1)]
    db.execute(
        dialect_insert(db, InvoiceRow),
        [
            {
                "issuer": PLATFORM_ISSUER,
                "series": series,
                "sequence": i + 1,
                "number": number,
                "kind": DocumentKind.INVOICE.value,
                "status": ISSUED,
                "recipient": f"dp:{partners[i % len(partners)]}",
                "currency": currency,
                "net_minor": total,
                "vat_minor": 0,
                "due_date": now.date() + timedelta(days=14),
                "document": {},
                "created_at": now,
                "issued_at": now,
            }
            for i, (number, total) in enumerate(zip(numbers, totals_minor, strict=True))
        ],
    )
    return numbers
