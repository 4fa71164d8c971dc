"""An invoice collected by SEPA Direct Debit counts as paid everywhere a transfer would, on SQLite and
PostgreSQL: it is not overdue (no reminder, no OVERDUE refusal) and it funds a pay-when-paid CPO's payout;
once the debit is returned it is overdue again and a session it billed waits again."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from domain.payouts.funding import WaitReason
from persistence import dunning
from services import bank
from tests.integration.test_bank_statements import new_iban, private_writes
from tests.integration.test_direct_debits import (
    at,
    collect_and_credit,
    collection,
    collector,
    dd_partner,
    due_date,
    returned_entry,
    statement,
)
from tests.integration.test_invoices import PLATFORM
from tests.integration.test_payout_funding import Books

__all__ = ["private_writes"]  # the fixture, used here too


@pytest.fixture
def writes(private_writes: sessionmaker[Session]) -> sessionmaker[Session]:
    """Each test's own database: its statements are of made-up accounts, which the ledger check of other
    tests sharing a database must not see."""
    return private_writes


def overdue(writes: sessionmaker[Session], partner_id: str, on: date) -> list[tuple[str, int]]:
    with writes() as db:
        return [(i.number, i.open_minor) for i in dunning.overdue_invoices(db, partner_id, due_before=on)]


def test_a_debited_invoice_is_not_overdue_until_the_debit_is_returned(
    writes: sessionmaker[Session], tmp_path: Path
) -> None:
    partner_id, _ = dd_partner(writes)
    number, first, ours = collect_and_credit(writes, tmp_path, partner_id)
    assert first.collection_date is not None
    later = first.collection_date + timedelta(days=30)
    assert overdue(writes, partner_id, later) == []
    with writes.begin() as db:
        assert dunning.remind_partner(db, partner_id, on=later, platform=PLATFORM, now=at(later)) == []

    back = returned_entry(first.end_to_end_id, "MD06")  # refund asked: not re-presented
    done = bank.import_file(
        writes, statement(ours, back, sequence=2), "md06.xml", {ours: "EUR"}, clock=lambda: at(later)
    )
    assert done.by_outcome == {"COLLECTION_RETURN": 1}
    assert overdue(writes, partner_id, later) == [(number, 11900)]
    with writes.begin() as db:
        [reminder] = dunning.remind_partner(db, partner_id, on=later, platform=PLATFORM, now=at(later))
        assert (reminder.open_minor, reminder.level) == (11900, "SECOND")


def test_a_debit_funds_a_pay_when_paid_payout_and_a_returned_one_nothing(
    private_writes: sessionmaker[Session], tmp_path: Path
) -> None:
    books = Books(private_writes)
    books.partner, _ = dd_partner(private_writes)  # the sessions are this direct-debit partner's
    cpo = books.cpo({"mode": "PAY_WHEN_PAID"})
    first, second = books.settle(cpo, 9000), books.settle(cpo, 8000)
    assert books.release(cpo).waiting == {"AWAITING_COLLECTION": Decimal("170.00")}

    due = due_date(private_writes, first)
    run = collector(private_writes, tmp_path)
    run.run(due - timedelta(days=1), now=at(due - timedelta(days=1)))
    run.run(due, now=at(due))  # the collection date: both receivables collected
    debits = [collection(private_writes, number) for number in (first, second)]
    assert [d.state if d else None for d in debits] == ["SETTLED", "SETTLED"]
    assert books.waiting(cpo) == {}

    returned = debits[1]
    assert returned is not None
    ours = new_iban()
    back = returned_entry(returned.end_to_end_id, "MD06")  # the second comes back: refund asked
    done = bank.import_file(private_writes, statement(ours, back), "md06.xml", {ours: "EUR"}, clock=lambda: at(due))
    assert done.by_outcome == {"COLLECTION_RETURN": 1}
    assert books.waiting(cpo) == {WaitReason.AWAITING_COLLECTION: 8000}
    paid = books.release(cpo)
    assert (paid.amount, paid.waiting) == (Decimal("90.00"), {"AWAITING_COLLECTION": Decimal("80.00")})
    assert books.payable(cpo) == 8000
