"""The simulated bank's camt.053.001.08 end-of-day statements, written as a bank writes them
(``money-in.md`` §3.2, §3.3): balances OPBD and CLBD, a transaction summary, and one entry per booking with
its bank transaction code, its AcctSvcrRef and its details (our payout's MsgId/PmtInfId/EndToEndId and its
creditor; a partner's payment with the payer's name and IBAN and the structured RF or the free text it
quoted). Every file is checked against the vendored ISO XSD before it leaves the bank.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from lxml import etree

from adapters.camt import CAMT053_NAMESPACE, schema_errors
from adapters.iso20022 import _default_namespace
from domain.collections.statements import CLOSING_BOOKED, OPENING_BOOKED, STRUCTURED_REFERENCE, Direction
from domain.money import from_minor

PAYMENT_RECEIVED = ("PMNT", "RCDT", "ESCT")  # a SEPA credit transfer in
PAYOUT_SENT = ("PMNT", "ICDT", "ESCT")  # our credit transfer out
NOT_PROVIDED = "NOTPROVIDED"


@dataclass(frozen=True, slots=True)
class Booking:
    """One entry of a statement."""

    direction: Direction
    amount_minor: int
    booked_on: date
    account_servicer_reference: str
    payout_message_id: str | None = None  # our pain.001's MsgId = PmtInfId = EndToEndId
    counterparty_name: str | None = None  # the payer of a credit, the creditor of a debit
    counterparty_iban: str | None = None
    reference: str | None = None  # SCOR
    text: str | None = None  # Ustrd

    @property
    def signed_minor(self) -> int:
        return self.amount_minor if self.direction == Direction.CREDIT else -self.amount_minor


@dataclass(frozen=True, slots=True)
class StatementHeader:
    message_id: str
    statement_id: str
    sequence_number: int
    created_at: datetime
    iban: str
    currency: str
    from_date: date
    to_date: date
    opening_minor: int


class _Writer:
    def __init__(self, currency: str) -> None:
        self._currency = currency

    def sub(self, parent: etree._Element, tag: str, text: str | None = None) -> etree._Element:
        element = etree.SubElement(parent, f"{{{CAMT053_NAMESPACE}}}{tag}")
        if text is not None:
            element.text = text
        return element

    def path(self, parent: etree._Element, path: str, text: str | None = None) -> etree._Element:
        """``A/B/C``: nested elements, the last one with ``text``."""
        *steps, last = path.split("/")
        for step in steps:
            parent = self.sub(parent, step)
        return self.sub(parent, last, text)

    def amount(self, parent: etree._Element, tag: str, minor: int) -> None:
        self.sub(parent, tag, str(from_minor(abs(minor), self._currency))).set("Ccy", self._currency)

    def balance(self, parent: etree._Element, code: str, minor: int, day: date) -> None:
        balance = self.sub(parent, "Bal")
        self.path(balance, "Tp/CdOrPrtry/Cd", code)
        self.amount(balance, "Amt", minor)
        self.sub(balance, "CdtDbtInd", (Direction.DEBIT if minor < 0 else Direction.CREDIT).value)
        self.path(balance, "Dt/Dt", day.isoformat())

    def summary(self, parent: etree._Element, bookings: Sequence[Booking]) -> None:
        summary = self.sub(parent, "TxsSummry")
        total = self.sub(summary, "TtlNtries")
        self.sub(total, "NbOfNtries", str(len(bookings)))
        self.sub(total, "Sum", str(from_minor(sum(b.amount_minor for b in bookings), self._currency)))
        net = sum(b.signed_minor for b in bookings)
        net_entry = self.sub(total, "TtlNetNtry")
        self.sub(net_entry, "Amt", str(from_minor(abs(net), self._currency)))
        self.sub(net_entry, "CdtDbtInd", (Direction.DEBIT if net < 0 else Direction.CREDIT).value)
        for tag, direction in (("TtlCdtNtries", Direction.CREDIT), ("TtlDbtNtries", Direction.DEBIT)):
            chosen = [b for b in bookings if b.direction == direction]
            totals = self.sub(summary, tag)
            self.sub(totals, "NbOfNtries", str(len(chosen)))
            self.sub(totals, "Sum", str(from_minor(sum(b.amount_minor for b in chosen), self._currency)))

    def entry(self, parent: etree._Element, booking: Booking) -> None:
        entry = self.sub(parent, "Ntry")
        self.amount(entry, "Amt", booking.amount_minor)
        self.sub(entry, "CdtDbtInd", booking.direction.value)
        self.path(entry, "Sts/Cd", "BOOK")
        self.path(entry, "BookgDt/Dt", booking.booked_on.isoformat())
        self.path(entry, "ValDt/Dt", booking.booked_on.isoformat())
        self.sub(entry, "AcctSvcrRef", booking.account_servicer_reference)
        domain, family, sub_family = PAYMENT_RECEIVED if booking.direction == Direction.CREDIT else PAYOUT_SENT
        code = self.path(entry, "BkTxCd/Domn")
        self.sub(code, "Cd", domain)
        family_code = self.sub(code, "Fmly")
        self.sub(family_code, "Cd", family)
        self.sub(family_code, "SubFmlyCd", sub_family)
        details = self.sub(entry, "NtryDtls")
        if booking.payout_message_id is not None:
            batch = self.sub(details, "Btch")
            self.sub(batch, "MsgId", booking.payout_message_id)
            self.sub(batch, "PmtInfId", booking.payout_message_id)
            self.sub(batch, "NbOfTxs", "1")
        self.transaction(self.sub(details, "TxDtls"), booking)

    def transaction(self, details: etree._Element, booking: Booking) -> None:
        references = self.sub(details, "Refs")
        if booking.payout_message_id is not None:
            self.sub(references, "MsgId", booking.payout_message_id)
            self.sub(references, "AcctSvcrRef", booking.account_servicer_reference)
            self.sub(references, "PmtInfId", booking.payout_message_id)
            self.sub(references, "EndToEndId", booking.payout_message_id)
        else:
            self.sub(references, "AcctSvcrRef", booking.account_servicer_reference)
            self.sub(references, "EndToEndId", NOT_PROVIDED)
        self.amount(details, "Amt", booking.amount_minor)
        self.sub(details, "CdtDbtInd", booking.direction.value)
        if booking.counterparty_name or booking.counterparty_iban:
            parties = self.sub(details, "RltdPties")
            party, account = ("Dbtr", "DbtrAcct") if booking.direction == Direction.CREDIT else ("Cdtr", "CdtrAcct")
            self.path(parties, f"{party}/Pty/Nm", (booking.counterparty_name or NOT_PROVIDED)[:140])
            if booking.counterparty_iban:
                self.path(parties, f"{account}/Id/IBAN", booking.counterparty_iban)
        if booking.reference or booking.text:
            remittance = self.sub(details, "RmtInf")
            if booking.text:
                self.sub(remittance, "Ustrd", booking.text[:140])
            if booking.reference:
                reference = self.path(remittance, "Strd/CdtrRefInf")
                self.path(reference, "Tp/CdOrPrtry/Cd", STRUCTURED_REFERENCE)
                self.sub(reference, "Ref", booking.reference)


def statement_file(header: StatementHeader, bookings: Sequence[Booking]) -> bytes:
    """The camt.053.001.08 document of one account's statement; an ``AssertionError`` if the XSD says no
    (the bank's bug, never a file to hand out)."""
    writer = _Writer(header.currency)
    root = etree.Element(f"{{{CAMT053_NAMESPACE}}}Document", nsmap=_default_namespace(CAMT053_NAMESPACE))
    message = writer.sub(root, "BkToCstmrStmt")
    group = writer.sub(message, "GrpHdr")
    writer.sub(group, "MsgId", header.message_id)
    writer.sub(group, "CreDtTm", header.created_at.isoformat(timespec="seconds"))
    statement = writer.sub(message, "Stmt")
    writer.sub(statement, "Id", header.statement_id)
    writer.sub(statement, "ElctrncSeqNb", str(header.sequence_number))
    writer.sub(statement, "CreDtTm", header.created_at.isoformat(timespec="seconds"))
    period = writer.sub(statement, "FrToDt")
    writer.sub(period, "FrDtTm", f"{header.from_date.isoformat()}T00:00:00+00:00")
    writer.sub(period, "ToDtTm", f"{header.to_date.isoformat()}T23:59:59+00:00")
    account = writer.sub(statement, "Acct")
    writer.path(account, "Id/IBAN", header.iban)
    writer.sub(account, "Ccy", header.currency)
    closing = header.opening_minor + sum(b.signed_minor for b in bookings)
    writer.balance(statement, OPENING_BOOKED, header.opening_minor, header.from_date)
    writer.balance(statement, CLOSING_BOOKED, closing, header.to_date)
    writer.summary(statement, bookings)
    for booking in bookings:
        writer.entry(statement, booking)
    document = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    errors = schema_errors(document)
    assert not errors, f"the simulated bank wrote an invalid camt.053: {errors}"
    return document
