"""The simulated bank's side of SEPA Direct Debit, for the demo and tests: it takes the pain.008 files the
collection run wrote to the outbox, credits our account with each batch (one entry per ``PmtInf``, batch
booking, the transactions in its details) on the collection date, and takes back the collections it is
told to return (a debit entry with ``RtrInf/Rsn/Cd``, BTC PMNT/IDDT/UPDD) a couple of days later. What it
did comes out as camt.054.001.08 notifications, XSD-valid, for ``networkcore bank import``.

It keeps no state of its own: everything follows from the files and ``returns``, which maps a mandate
(UMR) to the reason codes of its first, second, ... collection (``None``: paid), so "AM04 on the first
collection of one partner" is ``{"<its UMR>": ["AM04"]}`` and its re-presentation is then paid.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import cast

from lxml import etree

from adapters.camt import CAMT054_NAMESPACE, schema_errors
from adapters.iso20022 import default_namespace, parse_document, sub_element

CREDIT_CODE = "PMNT/RCDD/ESDD"  # received direct debit
RETURN_CODE = "PMNT/IDDT/UPDD"  # a direct debit of ours, returned unpaid
# B2B returns come within two inter-bank business days after settlement (CORE: five).
RETURN_AFTER = timedelta(days=2)


@dataclass(frozen=True, slots=True)
class PresentedDebit:
    message_id: str
    payment_information_id: str
    collection_date: date
    end_to_end_id: str
    mandate_id: str
    amount: Decimal
    debtor_name: str
    debtor_iban: str
    creditor_iban: str


def _local(node: etree._Element, path: str) -> list[etree._Element]:
    steps = "/".join(f"*[local-name()='{step}']" for step in path.split("/"))
    return cast(list[etree._Element], node.xpath(steps))


def _text(node: etree._Element, path: str) -> str:
    found = _local(node, path)
    return (found[0].text or "").strip() if found else ""


def presented(document: bytes) -> list[PresentedDebit]:
    """The debits of one pain.008, as the bank reads them."""
    root = parse_document(document)
    (initiation,) = _local(root, "CstmrDrctDbtInitn")
    message_id = _text(initiation, "GrpHdr/MsgId")
    found = []
    for payment in _local(initiation, "PmtInf"):
        when = date.fromisoformat(_text(payment, "ReqdColltnDt"))
        for item in _local(payment, "DrctDbtTxInf"):
            found.append(
                PresentedDebit(
                    message_id=message_id,
                    payment_information_id=_text(payment, "PmtInfId"),
                    collection_date=when,
                    end_to_end_id=_text(item, "PmtId/EndToEndId"),
                    mandate_id=_text(item, "DrctDbtTx/MndtRltdInf/MndtId"),
                    amount=Decimal(_text(item, "InstdAmt")),
                    debtor_name=_text(item, "Dbtr/Nm"),
                    debtor_iban=_text(item, "DbtrAcct/Id/IBAN"),
                    creditor_iban=_text(payment, "CdtrAcct/Id/IBAN"),
                )
            )
    return found


@dataclass(frozen=True, slots=True)
class Booking:
    """One entry the bank books: a batch credit, or one return."""

    booked_on: date
    direction: str  # CRDT | DBIT
    code: str
    reference: str  # AcctSvcrRef: unique per booking
    payment_information_id: str | None
    debits: tuple[PresentedDebit, ...]
    return_reason: str | None = None

    @property
    def amount(self) -> Decimal:
        return sum((d.amount for d in self.debits), Decimal(0))


class SimulatedDirectDebitBank:
    def __init__(self, outbox: Path, returns: Mapping[str, Sequence[str | None]] | None = None) -> None:
        self._outbox = outbox
        self._returns = {umr: list(codes) for umr, codes in (returns or {}).items()}

    def debits(self) -> list[PresentedDebit]:
        files = sorted(self._outbox.glob("*.xml")) if self._outbox.is_dir() else []
        found = [d for path in files for d in presented(path.read_bytes())]
        return sorted(found, key=lambda d: (d.collection_date, d.message_id, d.end_to_end_id))

    def bookings(self, since: date, until: date) -> list[Booking]:
        """What the bank books on our account from ``since`` to ``until`` (both included)."""
        debits = self.debits()
        returned: dict[str, str] = {}
        seen: dict[str, int] = {}
        for debit in debits:
            n = seen.get(debit.mandate_id, 0)
            seen[debit.mandate_id] = n + 1
            codes = self._returns.get(debit.mandate_id, [])
            code = codes[n] if n < len(codes) else None
            if code:
                returned[debit.end_to_end_id] = code
        batches: dict[str, list[PresentedDebit]] = {}
        for debit in debits:
            batches.setdefault(debit.payment_information_id, []).append(debit)
        found = [
            Booking(items[0].collection_date, "CRDT", CREDIT_CODE, f"SDD-C-{pmt_id}"[:35], pmt_id, tuple(items))
            for pmt_id, items in batches.items()
        ]
        found += [
            Booking(
                d.collection_date + RETURN_AFTER,
                "DBIT",
                RETURN_CODE,
                f"SDD-R-{d.end_to_end_id}"[:35],
                None,
                (d,),
                returned[d.end_to_end_id],
            )
            for d in debits
            if d.end_to_end_id in returned
        ]
        return sorted(
            (b for b in found if since <= b.booked_on <= until), key=lambda b: (b.booked_on, b.direction, b.reference)
        )

    def notification(self, iban: str, since: date, until: date, *, message_id: str) -> bytes | None:
        """A camt.054 of the bookings on ``iban`` in the period (None when there are none), XSD-valid."""
        bookings = [b for b in self.bookings(since, until) if b.debits[0].creditor_iban == iban]
        if not bookings:
            return None
        return camt054(iban, bookings, message_id=message_id, created_at=datetime.combine(until, time(22), UTC))


def _sub(parent: etree._Element, tag: str, text: str | None = None, **attributes: str) -> etree._Element:
    return sub_element(parent, tag, text, namespace=CAMT054_NAMESPACE, **attributes)


def _amount(parent: etree._Element, amount: Decimal, direction: str) -> None:
    _sub(parent, "Amt", f"{amount:.2f}", Ccy="EUR")
    _sub(parent, "CdtDbtInd", direction)


def _entry(parent: etree._Element, booking: Booking) -> None:
    entry = _sub(parent, "Ntry")
    _amount(entry, booking.amount, booking.direction)
    _sub(_sub(entry, "Sts"), "Cd", "BOOK")
    _sub(_sub(entry, "BookgDt"), "Dt", booking.booked_on.isoformat())
    _sub(_sub(entry, "ValDt"), "Dt", booking.booked_on.isoformat())
    _sub(entry, "AcctSvcrRef", booking.reference)
    domain, family, sub_family = booking.code.split("/")
    code = _sub(_sub(entry, "BkTxCd"), "Domn")
    _sub(code, "Cd", domain)
    codes = _sub(code, "Fmly")
    _sub(codes, "Cd", family)
    _sub(codes, "SubFmlyCd", sub_family)
    details = _sub(entry, "NtryDtls")
    if booking.payment_information_id is not None:
        _sub(_sub(details, "Btch"), "PmtInfId", booking.payment_information_id)
    for debit in booking.debits:
        transaction = _sub(details, "TxDtls")
        refs = _sub(transaction, "Refs")
        _sub(refs, "MsgId", debit.message_id)
        _sub(refs, "PmtInfId", debit.payment_information_id)
        _sub(refs, "EndToEndId", debit.end_to_end_id)
        _sub(refs, "MndtId", debit.mandate_id)
        _amount(transaction, debit.amount, booking.direction)
        parties = _sub(transaction, "RltdPties")
        _sub(_sub(_sub(parties, "Dbtr"), "Pty"), "Nm", debit.debtor_name)
        _sub(_sub(_sub(parties, "DbtrAcct"), "Id"), "IBAN", debit.debtor_iban)
        if booking.return_reason is not None:
            _sub(_sub(_sub(transaction, "RtrInf"), "Rsn"), "Cd", booking.return_reason)


def camt054(iban: str, bookings: Sequence[Booking], *, message_id: str, created_at: datetime) -> bytes:
    document = etree.Element(f"{{{CAMT054_NAMESPACE}}}Document", nsmap=default_namespace(CAMT054_NAMESPACE))
    root = _sub(document, "BkToCstmrDbtCdtNtfctn")
    header = _sub(root, "GrpHdr")
    _sub(header, "MsgId", message_id)
    _sub(header, "CreDtTm", created_at.isoformat(timespec="seconds"))
    notification = _sub(root, "Ntfctn")
    _sub(notification, "Id", f"{message_id}-N"[:35])
    account = _sub(notification, "Acct")
    _sub(_sub(account, "Id"), "IBAN", iban)
    _sub(account, "Ccy", "EUR")
    for booking in bookings:
        _entry(notification, booking)
    body: bytes = etree.tostring(document, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    errors = schema_errors(body)
    assert not errors, f"the simulated bank wrote an invalid camt.054: {errors}"
    return body
