"""``ledger check`` sees an implausible amount that slipped into the books (the probe's 1e12 EUR claim,
accepted, booked and queued for payout), on both databases; a large but plausible one passes."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy.orm import Session, sessionmaker

from domain.ledger.entries import JournalEntry, Posting
from domain.money import to_minor
from domain.payouts.batches import Payee
from domain.settlement.plan import IMPLAUSIBLE_SESSION_AMOUNT, Payable
from domain.settlement.revenue_share import settlement_key
from persistence import ledger, payouts
from persistence.ledger_check import check_ledger
from persistence.tables import InvoiceLineRow, InvoiceRow
from tests.integration.test_holds import new_session, partner_id

__all__ = ["partner_id"]  # the demand partner fixture, shared with the holds' tests

NOW = datetime(2026, 6, 1, tzinfo=UTC)
PROBED = to_minor(Decimal("1190000000000.00"), "EUR")
PLAUSIBLE = to_minor(IMPLAUSIBLE_SESSION_AMOUNT, "EUR")


def book(db: Session, session_id: str, partner: str, gross_minor: int) -> str:
    """A session's settlement as far as the check looks: its entry, its partner's invoice line, its CPO's
    payable (to the payee returned)."""
    key = settlement_key(session_id)
    cpo = f"cpo-{uuid.uuid4().hex[:6]}"
    entry = JournalEntry(
        key,
        (Posting(f"dp:{partner}:receivable", "EUR", gross_minor), Posting(f"cpo:{cpo}:payable", "EUR", -gross_minor)),
    )
    ledger.post(db, entry, now=NOW)
    payouts.enqueue(db, session_id, key, [Payable(Payee.parse(f"cpo:{cpo}"), "EUR", gross_minor)], now=NOW)
    invoice = InvoiceRow(
        issuer="platform",
        series="TEST",
        kind="INVOICE",
        status="DRAFT",
        recipient=f"dp:{partner}",
        currency="EUR",
        session_id=session_id,
        created_at=NOW,
    )
    db.add(invoice)
    db.flush()
    db.add(
        InvoiceLineRow(
            invoice_key=invoice.key,
            session_id=session_id,
            net_minor=gross_minor,
            vat_minor=0,
            place_of_supply="DE",
            national_currency="EUR",
            national_vat_minor=0,
            line={},
        )
    )
    db.flush()
    return f"cpo:{cpo}"


def test_ledger_check_flags_an_entry_line_and_payable_beyond_the_plausible(
    writes: sessionmaker[Session], partner_id: str
) -> None:
    partner = partner_id
    probed, plausible = new_session(writes, partner), new_session(writes, partner)
    # One unit of work, rolled back: the database is shared with the other tests.
    with writes() as db:
        payee = book(db, probed, partner, PROBED)
        book(db, plausible, partner, PLAUSIBLE)
        problems = check_ledger(db).problems
        db.rollback()
    beyond = "1190000000000.00 EUR, beyond 100000 EUR"
    # Only these sessions' problems: the database is shared with the other tests, end to end ones too.
    mine = [problem for problem in problems if probed in problem or plausible in problem]
    assert mine == [
        f"entry {settlement_key(probed)} posts {beyond}",
        f"entry {settlement_key(probed)} posts -{beyond}",
        f"session {probed}: an invoice line of {beyond} net",
        f"session {probed}: a payable to {payee} of {beyond}",
    ]
    with writes() as db:
        assert not [problem for problem in check_ledger(db).problems if probed in problem or plausible in problem]
