"""A simulated bank for the demo and the tests: it keeps our accounts, takes our pain.001 files and
reports like a pain.002, lets demand partners pay us, and writes camt.053 end-of-day statements.

Payouts: it checks each file against the XSD (an invalid file is rejected FF01, as banks do), refuses a
duplicate message id by keeping the first, accepts at once (ACCP) and settles (ACSC) after ``delay``, or
rejects with a configured reason: ``rejections`` maps a creditor IBAN to the reason codes of its
successive transfers, e.g. ``{"FR76...": ["AC04"]}`` rejects the first transfer to that account as closed
and settles the next one (a rejection moves no money: there is nothing to return later).

Accounts and statements: ``accounts`` are our IBANs and their currencies, each opening at
``opening_balance``. ``receive_payment`` books a partner's transfer to us on a day; ``statement`` writes the
camt.053 of an account up to a day: every payout it settled (debited on the day it settled, PMNT/ICDT/ESCT,
found by its message id) and every payment received (PMNT/RCDT/ESCT) not on an earlier statement. Statements
are numbered per account and each opens at the previous one's closing balance; asking for a day again
gives the same file, a day before the latest statement is refused, and so is a payment booked on a day
already stated. Its memory is tables, so it outlives worker crashes like a real bank would.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from lxml import etree
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from adapters.iso20022 import (
    PaymentMessageInvalid,
    StatusReport,
    TransferStatus,
    read_status_report,
    status_report_file,
    validate,
)
from domain.collections.statements import Direction
from domain.money import to_minor
from persistence.db import dialect_insert
from persistence.tables import SimulatedBankEntryRow, SimulatedBankStatementRow, SimulatedBankTransferRow
from simulator.camt import Booking, StatementHeader, statement_file

OPENING_BALANCE = Decimal("250000.00")  # what each of our accounts holds before its first statement

REASONS = {
    "AC01": "incorrect account number",
    "AC04": "closed account number",
    "AC06": "blocked account",
    "AM04": "insufficient funds",
    "FF01": "invalid file format",
    "MS03": "reason not specified",
}


def _field(document: etree._Element, name: str) -> str:
    return str(document.xpath(f"string(//*[local-name()='{name}'])"))


def _iban(document: etree._Element, account: str) -> str:
    return str(document.xpath(f"string(//*[local-name()='{account}']//*[local-name()='IBAN'])")).strip()


def _creditor_name(document: etree._Element) -> str | None:
    name = str(document.xpath("string(//*[local-name()='Cdtr']/*[local-name()='Nm'])")).strip()
    return name[:140] or None


class BankRefusal(ValueError):
    """The simulated bank will not do that (an unknown account, a day already stated, a bad amount)."""


@dataclass(frozen=True, slots=True)
class IncomingPayment:
    """A demand partner's credit transfer to our account in ``currency``, quoting a structured creditor
    reference (SCOR), a free text, both or neither."""

    payer_name: str
    payer_iban: str
    currency: str
    amount: Decimal
    booked_on: date
    reference: str | None = None
    text: str | None = None


def _servicer_reference() -> str:
    return f"SIMB{uuid.uuid4().hex[:24].upper()}"


class SimulatedBank:
    name = "simulated"

    def __init__(
        self,
        writes: sessionmaker[Session],
        *,
        delay: timedelta = timedelta(0),
        rejections: Mapping[str, Sequence[str]] | None = None,
        accounts: Mapping[str, str] | None = None,
        opening_balance: Decimal = OPENING_BALANCE,
    ) -> None:
        self._writes = writes
        self._delay = delay
        # Our IBANs and their currencies (one account per currency).
        self.accounts = {iban.replace(" ", "").upper(): currency for iban, currency in (accounts or {}).items()}
        self._opening = opening_balance
        # Public: tests plan rejections for their own payees' accounts.
        self.rejections = {iban: list(codes) for iban, codes in (rejections or {}).items()}

    def submit(self, message_id: str, document: bytes, *, now: datetime) -> None:
        reason: str | None = None
        try:
            validate(document)
            parsed = etree.fromstring(document)
            iban = _field(parsed, "CdtrAcct").strip()
            currency = str(parsed.xpath("string(//*[local-name()='InstdAmt']/@Ccy)"))
            amount = to_minor(Decimal(_field(parsed, "InstdAmt")), currency)
        except (PaymentMessageInvalid, etree.XMLSyntaxError, ArithmeticError, ValueError):
            iban, currency, amount, reason = "", "", 0, "FF01"
        with self._writes.begin() as db:
            if reason is None:
                earlier = db.scalar(select(func.count()).where(SimulatedBankTransferRow.creditor_iban == iban)) or 0
                planned = self.rejections.get(iban, [])
                reason = planned[earlier] if earlier < len(planned) else None
            db.execute(
                dialect_insert(db, SimulatedBankTransferRow).on_conflict_do_nothing(),
                [
                    {
                        "message_id": message_id,
                        "creditor_iban": iban,
                        "currency": currency,
                        "amount_minor": amount,
                        "received_at": now,
                        "decided_at": now + self._delay,
                        "status_code": (TransferStatus.REJECTED if reason else TransferStatus.SETTLED).value,
                        "reason_code": reason,
                        "document": document.decode(),
                    }
                ],
            )

    def status(self, message_id: str, *, now: datetime) -> tuple[StatusReport, bytes] | None:
        with self._writes() as db:
            row = db.get(SimulatedBankTransferRow, message_id)
            if row is None:
                return None
            final = now >= row.decided_at
            status = TransferStatus(row.status_code) if final else TransferStatus.ACCEPTED
            reason_code = row.reason_code if final else None
        report = StatusReport(
            original_message_id=message_id,
            status=status,
            reason_code=reason_code,
            reason=None if reason_code is None else REASONS.get(reason_code, "rejected"),
        )
        document = status_report_file(report, message_id=f"SIMBANK-{status.value}-{message_id}"[:35], created_at=now)
        return read_status_report(document), document

    def transfers(self) -> list[SimulatedBankTransferRow]:
        """Every file the bank received (tests prove with it that nobody was paid twice)."""
        with self._writes() as db:
            return list(db.scalars(select(SimulatedBankTransferRow).order_by(SimulatedBankTransferRow.received_at)))

    def account_of(self, currency: str) -> str:
        """Our IBAN in ``currency``."""
        for iban, kept_in in self.accounts.items():
            if kept_in == currency:
                return iban
        raise BankRefusal(f"no account in {currency} ({', '.join(sorted(set(self.accounts.values()))) or 'none'})")

    def receive_payment(
        self,
        payer_name: str,
        payer_iban: str,
        currency: str,
        amount: Decimal,
        booked_on: date,
        *,
        reference: str | None = None,
        text: str | None = None,
        now: datetime,
    ) -> str:
        """A partner pays us: booked on our account in ``currency`` on ``booked_on``; its AcctSvcrRef."""
        payment = IncomingPayment(payer_name, payer_iban, currency, amount, booked_on, reference, text)
        return self.receive_payments([payment], now=now)[0]

    def receive_payments(self, payments: Sequence[IncomingPayment], *, now: datetime) -> list[str]:
        """Several payments in one transaction (all or none); their AcctSvcrRefs in order."""
        rows = [self._incoming(p, now=now) for p in payments]
        if not rows:
            return []
        with self._writes.begin() as db:
            stated = {
                iban: last.statement_date
                for iban in {self.account_of(p.currency) for p in payments}
                if (last := self._last_statement(db, iban)) is not None
            }
            for payment in payments:
                last_day = stated.get(self.account_of(payment.currency))
                if last_day is not None and payment.booked_on <= last_day:
                    raise BankRefusal(
                        f"the {payment.currency} statement of {last_day} is out: "
                        f"a payment is booked after it, not on {payment.booked_on}"
                    )
            db.execute(dialect_insert(db, SimulatedBankEntryRow), rows)
        return [str(r["account_servicer_reference"]) for r in rows]

    def _incoming(self, payment: IncomingPayment, *, now: datetime) -> dict[str, object]:
        iban = self.account_of(payment.currency)
        try:
            amount_minor = to_minor(payment.amount, payment.currency)
        except (ArithmeticError, ValueError) as error:
            raise BankRefusal(f"{payment.amount} {payment.currency}: {error}") from error
        if amount_minor <= 0:
            raise BankRefusal(f"{payment.amount} {payment.currency}: a payment is more than nothing")
        if payment.reference is not None and not 0 < len(payment.reference) <= 35:
            raise BankRefusal(f"reference {payment.reference!r}: 1 to 35 characters")
        return {
            "iban": iban,
            "currency": payment.currency,
            "direction": Direction.CREDIT.value,
            "amount_minor": amount_minor,
            "booked_on": payment.booked_on,
            "account_servicer_reference": _servicer_reference(),
            "counterparty_name": payment.payer_name[:140],
            "counterparty_iban": payment.payer_iban.replace(" ", "").upper(),
            "reference": payment.reference,
            "text": None if payment.text is None else payment.text[:140],
            "created_at": now,
        }

    @staticmethod
    def _last_statement(db: Session, iban: str) -> SimulatedBankStatementRow | None:
        return db.scalars(
            select(SimulatedBankStatementRow)
            .where(SimulatedBankStatementRow.iban == iban)
            .order_by(SimulatedBankStatementRow.sequence_number.desc())
            .limit(1)
        ).first()

    def statements(self, day: date, *, now: datetime) -> dict[str, bytes]:
        """Every account's statement up to ``day``, by IBAN."""
        return {iban: self.statement(iban, day, now=now) for iban in sorted(self.accounts)}

    def statement(self, iban: str, day: date, *, now: datetime) -> bytes:
        """The account's camt.053 up to ``day``: the stored one when that day was stated before."""
        iban = iban.replace(" ", "").upper()
        currency = self.accounts.get(iban)
        if currency is None:
            raise BankRefusal(f"{iban} is not an account of this bank")
        with self._writes.begin() as db:
            last = self._last_statement(db, iban)
            if last is not None and last.statement_date >= day:
                same = db.scalars(
                    select(SimulatedBankStatementRow.document).where(
                        SimulatedBankStatementRow.iban == iban, SimulatedBankStatementRow.statement_date == day
                    )
                ).first()
                if same is None:
                    raise BankRefusal(f"{iban}: statements go forward; the latest is of {last.statement_date}")
                return same.encode()
            from_date = None if last is None else last.statement_date + timedelta(days=1)
            self._debit_payouts(db, iban, currency, day, from_date, now=now)
            rows = list(
                db.scalars(
                    select(SimulatedBankEntryRow)
                    .where(
                        SimulatedBankEntryRow.iban == iban,
                        SimulatedBankEntryRow.statement_key.is_(None),
                        SimulatedBankEntryRow.booked_on <= day,
                    )
                    .order_by(SimulatedBankEntryRow.booked_on, SimulatedBankEntryRow.key)
                )
            )
            bookings = [
                Booking(
                    direction=Direction(r.direction),
                    amount_minor=r.amount_minor,
                    booked_on=r.booked_on,
                    account_servicer_reference=r.account_servicer_reference,
                    payout_message_id=r.payout_message_id,
                    counterparty_name=r.counterparty_name,
                    counterparty_iban=r.counterparty_iban,
                    reference=r.reference,
                    text=r.text,
                )
                for r in rows
            ]
            sequence = 1 if last is None else last.sequence_number + 1
            tag = hashlib.sha256(iban.encode()).hexdigest()[:8].upper()
            header = StatementHeader(
                message_id=f"SIMB-{day:%Y%m%d}-{tag}-{sequence}",
                statement_id=f"SIMB-STMT-{tag}-{sequence}",
                sequence_number=sequence,
                created_at=now,
                iban=iban,
                currency=currency,
                from_date=min([b.booked_on for b in bookings] + [day]) if from_date is None else from_date,
                to_date=day,
                opening_minor=to_minor(self._opening, currency) if last is None else last.closing_minor,
            )
            document = statement_file(header, bookings)
            row = SimulatedBankStatementRow(
                iban=iban,
                currency=currency,
                sequence_number=sequence,
                from_date=header.from_date,
                statement_date=day,
                opening_minor=header.opening_minor,
                closing_minor=header.opening_minor + sum(b.signed_minor for b in bookings),
                message_id=header.message_id,
                document=document.decode(),
                created_at=now,
            )
            db.add(row)
            db.flush()
            if rows:
                db.execute(
                    update(SimulatedBankEntryRow)
                    .where(SimulatedBankEntryRow.key.in_([r.key for r in rows]))
                    .values(statement_key=row.key)
                )
            return document

    def _debit_payouts(
        self, db: Session, iban: str, currency: str, day: date, from_date: date | None, *, now: datetime
    ) -> None:
        """Book the payouts from ``iban`` it settled up to ``day`` that no entry carries yet, each on the day
        it settled (or the first day of this statement, when that day was stated before it settled)."""
        debited = select(SimulatedBankEntryRow.payout_message_id).where(
            SimulatedBankEntryRow.payout_message_id.is_not(None)
        )
        settled = db.scalars(
            select(SimulatedBankTransferRow).where(
                SimulatedBankTransferRow.status_code == TransferStatus.SETTLED.value,
                SimulatedBankTransferRow.currency == currency,
                SimulatedBankTransferRow.message_id.not_in(debited),
            )
        )
        rows = []
        for transfer in settled:
            settled_on = transfer.decided_at.date()
            document = etree.fromstring(transfer.document.encode())
            if settled_on > day or _iban(document, "DbtrAcct") != iban:
                continue
            rows.append(
                {
                    "iban": iban,
                    "currency": currency,
                    "direction": Direction.DEBIT.value,
                    "amount_minor": transfer.amount_minor,
                    "booked_on": settled_on if from_date is None else max(settled_on, from_date),
                    "account_servicer_reference": _servicer_reference(),
                    "payout_message_id": transfer.message_id,
                    "counterparty_name": _creditor_name(document),
                    "counterparty_iban": transfer.creditor_iban,
                    "created_at": now,
                }
            )
        if rows:
            db.execute(dialect_insert(db, SimulatedBankEntryRow), rows)

    def first_open_day(self, on_or_after: date) -> date:
        """The first day from ``on_or_after`` on which every account can still book (none stated yet)."""
        with self._writes() as db:
            stated = db.scalar(
                select(func.max(SimulatedBankStatementRow.statement_date)).where(
                    SimulatedBankStatementRow.iban.in_(list(self.accounts))
                )
            )
        return on_or_after if stated is None else max(on_or_after, stated + timedelta(days=1))
