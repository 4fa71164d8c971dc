"""Funding payouts on SQLite and PostgreSQL, through the release activity and the bank statement import:
a pay-when-paid CPO waits until its sessions' invoices are paid (a partial payment releases nothing of
its invoice), a guaranteed one is paid within its exposure limit and the rest waits until partners pay,
no payout takes the bank account below its floor (counting what is in flight), and what waits says why in
the payout report. Amounts to the cent; the books balance and the payouts reconcile throughout. Each test
has a database of its own: the floor reads the whole bank account."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from activities.payouts import PayoutActivities
from cli.seed import DemoPartner, ensure_demand_partner
from config.settings import Settings, platform_bank_accounts
from domain.invoicing.creditor_reference import creditor_reference
from domain.ledger.accounts import AccountKind, platform, vat_payable
from domain.ledger.entries import JournalEntry, Posting
from domain.partners import PostalAddress
from domain.payouts.batches import BANK, Payee
from domain.payouts.funding import WaitReason
from domain.settlement.plan import Payable
from domain.settlement.revenue_share import settlement_key
from messages.payouts import BatchRef, PayoutBatchState, ReleaseOutcome, ReleaseRequest
from persistence import invoices, ledger, payouts
from persistence.contracts import ensure_contract
from persistence.ledger_check import check_ledger
from persistence.parties import set_postal_address
from persistence.payout_reconciliation import payout_problems
from persistence.tables import CpoRow
from services import bank
from services.payouts import payout_report
from simulator.bank import SimulatedBank
from tests.camt import Ntry, Tx, camt053
from tests.einvoice_documents import ISSUING
from tests.integration.test_bank_statements import private_writes
from tests.integration.test_holds import new_session
from tests.integration.test_invoices import CPO, PLATFORM, line_for

__all__ = ["private_writes"]  # a database of the test's own (test_bank_statements)

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
OUR_EUR_IBAN = Settings().platform_bank_accounts["EUR"]["iban"]
STREET = PostalAddress("Leopoldstrasse", "80802", "München", building_number="12")


def clock() -> datetime:
    return NOW


class Books:
    """A database with one demand partner, CPOs on the funding terms each test gives, and a payout
    activity with the bank floors it gives."""

    def __init__(self, writes: sessionmaker[Session], floors: dict[str, Decimal] | None = None) -> None:
        self.writes = writes
        self.activities = PayoutActivities(
            writes,
            rail=SimulatedBank(writes),
            debtor_accounts=platform_bank_accounts(Settings()),
            bank_floors=floors,
            clock=clock,
        )
        self.floors = floors or {}
        self.statements = 0
        self.statement_balance = Decimal(0)
        suffix = uuid.uuid4().hex[:8]
        self.partner = f"dp-fund-{suffix}"
        with writes.begin() as db:
            ensure_demand_partner(
                db,
                DemoPartner(self.partner, "Funding test", "DE", "DE281045677", "EUR", f"k-{suffix}"),
                {"credit": {"limit": "1000", "session_cap": "80"}},
                now=NOW,
            )

    def cpo(self, funding: object = None) -> str:
        """A CPO paid daily in EUR, on ``funding`` (None: a contract that says nothing about it)."""
        cpo_id = f"cpo-fund-{uuid.uuid4().hex[:8]}"
        terms: dict[str, Any] = {"commission": {"percent": "8"}}
        if funding is not None:
            terms["payout_funding"] = funding
        with self.writes.begin() as db:
            row = CpoRow(
                id=cpo_id,
                name="Funding CPO",
                legal_entity="Funding CPO GmbH",
                country_code="DE",
                party_id=uuid.uuid4().hex[:3].upper(),
                country="DE",
                payout_currency="EUR",
                iban="DE89370400440532013000",
                active=True,
                commands_url="",
                outbound_token="",
            )
            set_postal_address(row, STREET)
            db.add(row)
            ensure_contract(db, "CPO", cpo_id, terms, now=NOW, first_from=NOW - timedelta(days=30))
        return cpo_id

    def settle(self, cpo_id: str, payable_minor: int, *, monthly: bool = False) -> str:
        """A settled session: the partner's invoice (net 100.00 + 19 % VAT; ``monthly``: a line on its
        May statement, a draft until issued), its receivable, the CPO's payable queued for payout, the rest
        our commission and VAT; the invoice's number (a statement's: its key until issued)."""
        session_id = new_session(self.writes, self.partner)
        with self.writes.begin() as db:
            line, recipient = line_for(session_id, 10000), f"dp:{self.partner}"
            if monthly:
                draft = invoices.add_to_statement(
                    db, issuer="platform", series="FUS", recipient=recipient, period="2026-05", line=line, now=NOW
                )
                number = str(draft.key)
            else:
                row = invoices.issue_invoice(
                    db,
                    issuer="platform",
                    series=f"FU{uuid.uuid4().hex[:6].upper()}",
                    recipient=recipient,
                    supplier=PLATFORM,
                    customer=CPO,
                    line=line,
                    self_billing=False,
                    now=NOW,
                    issuing=ISSUING,
                )
                assert (row.net_minor, row.vat_minor) == (10000, 1900)
                assert row.number is not None
                number = row.number
            key = settlement_key(session_id)
            entry = JournalEntry(
                key,
                (
                    Posting(f"dp:{self.partner}:receivable", "EUR", 11900),
                    Posting(f"cpo:{cpo_id}:payable", "EUR", -payable_minor),
                    Posting(platform(AccountKind.COMMISSION), "EUR", payable_minor - 10000),
                    Posting(vat_payable("DE"), "EUR", -1900),
                ),
            )
            ledger.post(db, entry, now=NOW)
            payouts.enqueue(db, session_id, key, [Payable(Payee.parse(f"cpo:{cpo_id}"), "EUR", payable_minor)], now=NOW)
            return number

    def issue_statement(self, key: str) -> str:
        with self.writes.begin() as db:
            row = invoices.issue_statement(db, int(key), supplier=PLATFORM, customer=CPO, now=NOW, issuing=ISSUING)
            assert (row.net_minor, row.vat_minor) == (20000, 3800)
            assert row.number is not None
            return row.number

    def statement(self, *entries: Ntry, opening: str | None = None) -> None:
        """Our EUR account's next statement, imported as ``networkcore bank import`` does."""
        self.statements += 1
        start = Decimal(opening) if opening is not None else self.statement_balance
        content = camt053(
            OUR_EUR_IBAN,
            "EUR",
            list(entries),
            opening=str(start),
            sequence=self.statements,
            message_id=f"STMT-{uuid.uuid4().hex[:8]}",
        )
        imported = bank.import_file(self.writes, content, "statement.xml", {OUR_EUR_IBAN: "EUR"}, clock=clock)
        assert imported.state == "BOOKED", imported.refusal
        moved = sum((Decimal(e.amount) * (1 if e.direction == "CRDT" else -1) for e in entries), Decimal(0))
        self.statement_balance = start + moved

    def pays(self, number: str, amount: str) -> None:
        """The partner pays ``amount`` quoting the invoice's reference."""
        self.statement(
            Ntry(amount, uuid.uuid4().hex[:16], txs=(Tx(amount=amount, scor=(creditor_reference(number),)),))
        )

    def release(self, cpo_id: str) -> ReleaseOutcome:
        """A release of the CPO's payouts; a batch it makes is sent and paid by the simulated bank."""
        outcome = self.activities.release_payout(
            ReleaseRequest(payee=f"cpo:{cpo_id}", currency="EUR", release_key=f"test:{uuid.uuid4()}")
        )
        if outcome.message_id is not None:
            ref = BatchRef(message_id=outcome.message_id)
            self.activities.send_payout(ref)
            assert self.activities.check_payout(ref).state == PayoutBatchState.PAID
        return outcome

    def waiting(self, cpo_id: str) -> dict[WaitReason, int]:
        report = payout_report(self.writes, floors=self.floors)
        return report.waiting.get((f"cpo:{cpo_id}", "EUR"), {})

    def payable(self, cpo_id: str) -> int:
        with self.writes() as db:
            return -ledger.account_balance(db, f"cpo:{cpo_id}:payable", "EUR")

    def assert_books_hold(self) -> None:
        """The books balance, the payouts reconcile and the bank account agrees with its statements."""
        with self.writes() as db:
            assert payout_problems(db) == []
            assert check_ledger(db).problems == []


def test_pay_when_paid_waits_for_the_invoices_and_is_released_once_they_are_paid(
    private_writes: sessionmaker[Session],
) -> None:
    books = Books(private_writes)
    cpo = books.cpo({"mode": "PAY_WHEN_PAID"})
    first, second = books.settle(cpo, 9000), books.settle(cpo, 8000)

    nothing = books.release(cpo)
    assert (nothing.message_id, nothing.amount, nothing.waiting) == (
        None,
        Decimal("0.00"),
        {"AWAITING_COLLECTION": Decimal("170.00")},
    )
    assert nothing.note == "nothing to pay now; 170.00 EUR waits (AWAITING_COLLECTION 170.00)"
    assert books.waiting(cpo) == {WaitReason.AWAITING_COLLECTION: 17000}
    assert books.payable(cpo) == 17000

    # The first invoice paid in full, the second only partly: only the first session's payable goes.
    books.pays(first, "119.00")
    books.pays(second, "100.00")
    paid = books.release(cpo)
    assert (paid.amount, paid.waiting) == (Decimal("90.00"), {"AWAITING_COLLECTION": Decimal("80.00")})
    assert paid.note == "1 session(s) in this batch; 80.00 EUR waits (AWAITING_COLLECTION 80.00)"
    assert books.payable(cpo) == 8000
    assert books.waiting(cpo) == {WaitReason.AWAITING_COLLECTION: 8000}
    books.assert_books_hold()

    # The rest of the second invoice comes in: the next release pays its session.
    books.pays(second, "19.00")
    assert books.waiting(cpo) == {}
    rest = books.release(cpo)
    assert (rest.amount, rest.waiting, rest.note) == (Decimal("80.00"), {}, "1 session(s) in this batch")
    assert books.payable(cpo) == 0
    # The next release has nothing left.
    assert books.release(cpo).note == "nothing to pay; 0.00 EUR netted"
    books.assert_books_hold()


def test_guaranteed_pays_unpaid_sessions_within_the_exposure_limit_and_the_rest_as_partners_pay(
    private_writes: sessionmaker[Session],
) -> None:
    books = Books(private_writes)
    cpo = books.cpo({"mode": "GUARANTEED", "exposure_limit": {"EUR": "150.00"}})
    first, second, _ = books.settle(cpo, 9000), books.settle(cpo, 8000), books.settle(cpo, 7000)

    # 90.00 goes unpaid (exposure 90.00); 80.00 more would be 170.00; the 70.00 after it would be 160.00.
    out = books.release(cpo)
    assert (out.amount, out.waiting) == (Decimal("90.00"), {"EXPOSURE_LIMIT": Decimal("150.00")})
    assert books.waiting(cpo) == {WaitReason.EXPOSURE_LIMIT: 15000}

    # The partner pays the second invoice, which is still waiting: its session goes without adding exposure,
    # the third still does not fit.
    books.pays(second, "119.00")
    out = books.release(cpo)
    assert (out.amount, out.waiting) == (Decimal("80.00"), {"EXPOSURE_LIMIT": Decimal("70.00")})

    # The first invoice paid: exposure back to 0, the third session fits.
    books.pays(first, "119.00")
    out = books.release(cpo)
    assert (out.amount, out.waiting) == (Decimal("70.00"), {})
    assert books.payable(cpo) == 0
    books.assert_books_hold()


def test_a_contract_without_funding_terms_is_guaranteed_without_a_limit(private_writes: sessionmaker[Session]) -> None:
    books = Books(private_writes)
    cpo = books.cpo()
    books.settle(cpo, 9000), books.settle(cpo, 8000)
    out = books.release(cpo)
    assert (out.amount, out.waiting, out.note) == (Decimal("170.00"), {}, "2 session(s) in this batch")
    assert books.waiting(cpo) == {}
    books.assert_books_hold()


def test_no_payout_takes_the_bank_account_below_its_floor(private_writes: sessionmaker[Session]) -> None:
    books = Books(private_writes, floors={"EUR": Decimal("1000.00")})
    cpo, other = books.cpo(), books.cpo()
    books.statement(opening="1100.00")  # 100.00 above the floor
    books.settle(cpo, 6000), books.settle(cpo, 6000), books.settle(cpo, 3000)

    out = books.release(cpo)  # 60.00 fits, the next 60.00 would be 120.00, the 30.00 still fits (90.00)
    assert (out.amount, out.waiting) == (Decimal("90.00"), {"BANK_FLOOR": Decimal("60.00")})
    with books.writes() as db:
        assert ledger.account_balance(db, BANK, "EUR") == 110000 - 9000
    assert books.waiting(cpo) == {WaitReason.BANK_FLOOR: 6000}

    # What was paid out left the bank account: another payee's release sees 10.00 of room.
    books.settle(other, 2000)
    pending = books.activities.release_payout(
        ReleaseRequest(payee=f"cpo:{other}", currency="EUR", release_key=f"test:{uuid.uuid4()}")
    )
    assert (pending.amount, pending.waiting) == (Decimal("0"), {"BANK_FLOOR": Decimal("20.00")})

    # Money comes in (an unmatched receipt lands in suspense, still on the bank account): both are paid.
    books.statement(Ntry("100.00", uuid.uuid4().hex[:16], txs=(Tx(amount="100.00", ustrd="no reference"),)))
    assert books.release(cpo).amount == Decimal("60.00")
    assert books.release(other).amount == Decimal("20.00")
    with books.writes() as db:
        assert ledger.account_balance(db, BANK, "EUR") == 120000 - 17000
    assert books.waiting(cpo) == books.waiting(other) == {}
    books.assert_books_hold()


def test_the_floor_counts_payouts_in_flight(private_writes: sessionmaker[Session]) -> None:
    books = Books(private_writes, floors={"EUR": Decimal("1000.00")})
    cpo, other = books.cpo(), books.cpo()
    books.statement(opening="1100.00")
    books.settle(cpo, 7000), books.settle(other, 5000)
    instructed = books.activities.release_payout(
        ReleaseRequest(payee=f"cpo:{cpo}", currency="EUR", release_key=f"test:{uuid.uuid4()}")
    )
    assert instructed.amount == Decimal("70.00")  # instructed, not yet paid: the book balance is unchanged
    with books.writes() as db:
        assert ledger.account_balance(db, BANK, "EUR") == 110000
    waits = books.activities.release_payout(
        ReleaseRequest(payee=f"cpo:{other}", currency="EUR", release_key=f"test:{uuid.uuid4()}")
    )
    assert (waits.amount, waits.waiting) == (Decimal("0"), {"BANK_FLOOR": Decimal("50.00")})
    assert books.waiting(other) == {WaitReason.BANK_FLOOR: 5000}


def test_pay_when_paid_on_a_monthly_statement_waits_until_the_statement_is_issued_and_paid(
    private_writes: sessionmaker[Session],
) -> None:
    books = Books(private_writes)
    cpo = books.cpo("PAY_WHEN_PAID")
    draft = books.settle(cpo, 9000, monthly=True)
    assert books.settle(cpo, 8000, monthly=True) == draft
    assert books.release(cpo).waiting == {"AWAITING_COLLECTION": Decimal("170.00")}

    statement = books.issue_statement(draft)
    books.pays(statement, "200.00")  # partly paid: 38.00 still open
    assert books.release(cpo).waiting == {"AWAITING_COLLECTION": Decimal("170.00")}

    books.pays(statement, "38.00")
    out = books.release(cpo)
    assert (out.amount, out.waiting, out.note) == (Decimal("170.00"), {}, "2 session(s) in this batch")
    books.assert_books_hold()
