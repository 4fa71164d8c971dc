"""Bank statements (camt.053) and notifications (camt.054) as read, and the checks that refuse a file
before anything is booked from it: the account must be ours, in its currency, and a statement's booked
entries must take its opening balance to its closing balance (``money-in.md`` §3.2, §3.5).

Amounts are ``Decimal`` as the bank wrote them; ``CdtDbtInd`` is the booked direction (``RvslInd`` only
says that an entry undoes an earlier one, it never flips the sign).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

from domain.errors import DomainError
from domain.money import quantize

STATEMENT = "camt.053"
NOTIFICATION = "camt.054"
BOOKED = "BOOK"
OPENING_BOOKED = "OPBD"
CLOSING_BOOKED = "CLBD"
STRUCTURED_REFERENCE = "SCOR"  # ISO 11649 RF
QR_REFERENCE = "QRR"  # Swiss QR reference


class StatementRefused(DomainError):
    """The file is not one we book from: nothing of it is booked, it is kept with this reason."""

    code = "STATEMENT_REFUSED"


class Direction(StrEnum):
    CREDIT = "CRDT"  # money came in
    DEBIT = "DBIT"  # money went out


@dataclass(frozen=True, slots=True)
class Transaction:
    """One ``TxDtls`` (or the entry itself when it has none)."""

    amount: Decimal | None = None  # None: the entry's amount
    end_to_end_id: str | None = None
    message_id: str | None = None
    payment_information_id: str | None = None
    mandate_id: str | None = None
    structured_references: tuple[tuple[str, str], ...] = ()  # (SCOR | QRR | other type, reference)
    unstructured: str = ""  # every Ustrd line, joined by a space
    debtor_name: str | None = None
    debtor_iban: str | None = None
    return_reason: str | None = None  # RtrInf/Rsn/Cd

    def references(self) -> tuple[str, ...]:
        return tuple(ref for _, ref in self.structured_references)


@dataclass(frozen=True, slots=True)
class Entry:
    """One ``Ntry``: what the bank booked (or only announces, when not BOOK)."""

    amount: Decimal
    currency: str
    direction: Direction
    status: str
    booking_date: date | None
    value_date: date | None = None
    account_servicer_reference: str | None = None
    entry_reference: str | None = None
    reversal: bool = False
    bank_transaction_code: str | None = None  # "PMNT/RCDT/ESCT" (Domn/Fmly/SubFmly) or the proprietary code
    batch_message_id: str | None = None
    batch_payment_information_id: str | None = None
    transactions: tuple[Transaction, ...] = ()

    @property
    def booked(self) -> bool:
        return self.status == BOOKED

    @property
    def signed(self) -> Decimal:
        return self.amount if self.direction == Direction.CREDIT else -self.amount

    def idempotency_key(self, iban: str) -> str:
        """(IBAN, AcctSvcrRef|NtryRef, BookgDt, Amt, CdtDbtInd): the same booking in any file, once."""
        reference = self.account_servicer_reference or self.entry_reference or ""
        booked_on = self.booking_date.isoformat() if self.booking_date else ""
        return f"{iban}|{reference}|{booked_on}|{self.amount}|{self.direction.value}"

    def lines(self) -> tuple[Transaction, ...]:
        """What to match one by one: the ``TxDtls`` when their amounts add up to the entry, else the entry
        as one transaction (carrying the first details' references, if any)."""
        details = self.transactions
        if (
            len(details) > 1
            and all(t.amount is not None for t in details)
            and sum((t.amount or Decimal(0)) for t in details) == self.amount
        ):
            return details
        first = details[0] if details else Transaction()
        return (_with_amount(first, self.amount, self.batch_payment_information_id, self.batch_message_id),)


def _with_amount(
    transaction: Transaction, amount: Decimal, batch_payment_information_id: str | None, batch_message_id: str | None
) -> Transaction:
    return Transaction(
        amount=amount,
        end_to_end_id=transaction.end_to_end_id,
        message_id=transaction.message_id or batch_message_id,
        payment_information_id=transaction.payment_information_id or batch_payment_information_id,
        mandate_id=transaction.mandate_id,
        structured_references=transaction.structured_references,
        unstructured=transaction.unstructured,
        debtor_name=transaction.debtor_name,
        debtor_iban=transaction.debtor_iban,
        return_reason=transaction.return_reason,
    )


@dataclass(frozen=True, slots=True)
class Statement:
    """One ``Stmt`` (camt.053) or ``Ntfctn`` (camt.054) of one account."""

    kind: str  # STATEMENT | NOTIFICATION
    message_id: str
    report_id: str
    iban: str
    currency: str | None  # Acct/Ccy when given
    sequence_number: int | None  # ElctrncSeqNb
    opening: Decimal | None  # OPBD, signed (a statement's; a notification has none)
    closing: Decimal | None  # CLBD, signed
    closing_date: date | None
    entries: tuple[Entry, ...]
    balance_currencies: tuple[str, ...] = ()

    def booked_entries(self) -> tuple[Entry, ...]:
        return tuple(e for e in self.entries if e.booked)


def check_statement(statement: Statement, accounts: Mapping[str, str]) -> str:
    """The account's currency, when the statement is one we book from; else ``StatementRefused``.

    ``accounts`` maps each of our IBANs to its currency."""
    iban = statement.iban.replace(" ", "").upper()
    currency = accounts.get(iban)
    if currency is None:
        raise StatementRefused(f"account {iban} is not one of ours ({', '.join(sorted(accounts)) or 'none'})")
    if statement.currency is not None and statement.currency != currency:
        raise StatementRefused(f"account {iban} is kept in {currency}, the statement says {statement.currency}")
    foreign = sorted(({e.currency for e in statement.entries} | set(statement.balance_currencies)) - {currency})
    if foreign:
        raise StatementRefused(f"account {iban} is kept in {currency}; amounts in {', '.join(foreign)}")
    amounts = [e.amount for e in statement.entries] + [
        a for a in (statement.opening, statement.closing) if a is not None
    ]
    amounts += [t.amount for e in statement.entries for t in e.transactions if t.amount is not None]
    finer = [a for a in amounts if quantize(a, currency) != a]
    if finer:
        raise StatementRefused(f"{finer[0]} {currency} is finer than the currency's minor unit")
    if statement.kind == STATEMENT:
        if statement.opening is None or statement.closing is None:
            raise StatementRefused(f"statement {statement.report_id} has no {OPENING_BOOKED} and {CLOSING_BOOKED}")
        moved = sum((e.signed for e in statement.booked_entries()), Decimal(0))
        if statement.opening + moved != statement.closing:
            raise StatementRefused(
                f"statement {statement.report_id} does not add up: opening {statement.opening} + booked entries "
                f"{moved} != closing {statement.closing}"
            )
    return currency
