"""ISO 20022 bank-to-customer messages in: camt.053.001.08 statements and camt.054.001.08 notifications.

A file is parsed with entities and network access off, validated against the ISO XSD of its namespace
(vendored in ``schemas/camt``, see its NOTICE), and only then read (``money-in.md`` §3.6). Anything else
(not XML, another message, a schema violation, more than one account in a file) is ``StatementRefused``.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path

from lxml import etree

from domain.collections.statements import (
    CLOSING_BOOKED,
    NOTIFICATION,
    OPENING_BOOKED,
    STATEMENT,
    Direction,
    Entry,
    Statement,
    StatementRefused,
    Transaction,
)

CAMT053_NAMESPACE = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"
CAMT054_NAMESPACE = "urn:iso:std:iso:20022:tech:xsd:camt.054.001.08"
_SCHEMAS = Path(__file__).parent / "schemas" / "camt"
_MESSAGES = {
    CAMT053_NAMESPACE: (STATEMENT, "camt.053.001.08.xsd", "BkToCstmrStmt", "Stmt"),
    CAMT054_NAMESPACE: (NOTIFICATION, "camt.054.001.08.xsd", "BkToCstmrDbtCdtNtfctn", "Ntfctn"),
}


@cache
def _schema(file_name: str) -> etree.XMLSchema:
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    return etree.XMLSchema(etree.parse(str(_SCHEMAS / file_name), parser))


def schema_errors(document: bytes) -> list[str]:
    """Why the document is not a valid camt.053/.054.001.08 (empty when it is one)."""
    try:
        _valid_root(document)
    except StatementRefused as refused:
        return [str(refused)]
    return []


def _valid_root(document: bytes) -> etree._Element:
    """The document's root once it is XML, a camt message we read and valid against its XSD."""
    root = _root(document)
    try:
        _schema(_MESSAGES[etree.QName(root).namespace or ""][1]).assertValid(root)
    except etree.DocumentInvalid as error:
        raise StatementRefused(f"not a valid camt message: {error}") from error
    return root


def _root(document: bytes) -> etree._Element:
    # No DTDs, no entities, no network: a bank file is input like any other.
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    try:
        root = etree.fromstring(document, parser)
    except etree.XMLSyntaxError as error:
        raise StatementRefused(f"not XML: {error}") from error
    namespace = etree.QName(root).namespace or ""
    if namespace not in _MESSAGES:
        raise StatementRefused(f"not a camt.053.001.08 or camt.054.001.08 message (namespace {namespace or 'none'!r})")
    return root


def read_statement(document: bytes) -> Statement:
    """The statement or notification in the file, validated against its XSD first."""
    root = _valid_root(document)
    namespace = etree.QName(root).namespace or ""
    kind, _, message_name, report_name = _MESSAGES[namespace]
    reader = _Reader(namespace)
    message = reader.one(root, message_name)
    reports = reader.all(message, report_name)
    if len(reports) != 1:
        raise StatementRefused(f"{len(reports)} accounts in one file: NetworkCore reads one {report_name} per file")
    report = reports[0]
    balances = {
        reader.text(b, "Tp/CdOrPrtry/Cd"): (
            reader.signed_amount(b),
            reader.date(b, "Dt/Dt"),
            reader.one(b, "Amt").get("Ccy", ""),
        )
        for b in reader.all(report, "Bal")
    }
    opening, closing = balances.get(OPENING_BOOKED), balances.get(CLOSING_BOOKED)
    sequence = reader.text(report, "ElctrncSeqNb")
    iban = reader.text(report, "Acct/Id/IBAN")
    if iban is None:
        raise StatementRefused(f"{report_name} {reader.text(report, 'Id')}: the account has no IBAN")
    return Statement(
        kind=kind,
        message_id=reader.text(message, "GrpHdr/MsgId") or "",
        report_id=reader.text(report, "Id") or "",
        iban=iban.replace(" ", "").upper(),
        currency=reader.text(report, "Acct/Ccy"),
        sequence_number=None if sequence is None else int(Decimal(sequence)),
        opening=None if opening is None else opening[0],
        closing=None if closing is None else closing[0],
        closing_date=None if closing is None else closing[1],
        entries=tuple(reader.entry(e) for e in reader.all(report, "Ntry")),
        balance_currencies=tuple(sorted({c for _, _, c in balances.values() if c})),
    )


class _Reader:
    """XPath in the message's namespace (``c:``), so .053 and .054 share the code."""

    def __init__(self, namespace: str) -> None:
        self._ns = {"c": namespace}
        self._compiled: dict[str, etree.XPath] = {}  # a statement asks the same few paths of every entry

    def _xpath(self, path: str) -> etree.XPath:
        compiled = self._compiled.get(path)
        if compiled is None:
            steps = "/".join(f"c:{step}" if step not in (".", "..") else step for step in path.split("/"))
            compiled = self._compiled[path] = etree.XPath(steps, namespaces=self._ns)
        return compiled

    def all(self, node: etree._Element, path: str) -> list[etree._Element]:
        found = self._xpath(path)(node)
        assert isinstance(found, list)
        return [e for e in found if isinstance(e, etree._Element)]

    def one(self, node: etree._Element, path: str) -> etree._Element:
        found = self.all(node, path)
        if not found:
            raise StatementRefused(f"{path} is missing")
        return found[0]

    def text(self, node: etree._Element, path: str) -> str | None:
        found = self.all(node, path)
        if not found or found[0].text is None:
            return None
        return found[0].text.strip() or None

    def date(self, node: etree._Element, path: str) -> date | None:
        """``Dt`` or the date of ``DtTm``."""
        value = self.text(node, path)
        if value is None and path.endswith("/Dt"):
            value = self.text(node, path[:-2] + "DtTm")
        return None if value is None else date.fromisoformat(value[:10])

    def amount(self, node: etree._Element, path: str = "Amt") -> Decimal:
        value = self.text(node, path)
        try:
            return Decimal(value or "")
        except InvalidOperation as error:
            raise StatementRefused(f"{path}: {value!r} is not an amount") from error

    def signed_amount(self, node: etree._Element) -> Decimal:
        amount = self.amount(node)
        return -amount if self.text(node, "CdtDbtInd") == Direction.DEBIT.value else amount

    def bank_transaction_code(self, entry: etree._Element) -> str | None:
        domain = [self.text(entry, f"BkTxCd/Domn/{p}") for p in ("Cd", "Fmly/Cd", "Fmly/SubFmlyCd")]
        if all(domain):
            return "/".join(code for code in domain if code)
        return self.text(entry, "BkTxCd/Prtry/Cd")

    def entry(self, node: etree._Element) -> Entry:
        return Entry(
            amount=self.amount(node),
            currency=self.one(node, "Amt").get("Ccy", ""),
            direction=Direction(self.text(node, "CdtDbtInd") or ""),
            status=self.text(node, "Sts/Cd") or self.text(node, "Sts") or "",
            booking_date=self.date(node, "BookgDt/Dt"),
            value_date=self.date(node, "ValDt/Dt"),
            account_servicer_reference=self.text(node, "AcctSvcrRef"),
            entry_reference=self.text(node, "NtryRef"),
            reversal=self.text(node, "RvslInd") == "true",
            bank_transaction_code=self.bank_transaction_code(node),
            batch_message_id=self.text(node, "NtryDtls/Btch/MsgId"),
            batch_payment_information_id=self.text(node, "NtryDtls/Btch/PmtInfId"),
            transactions=tuple(self.transaction(t) for t in self.all(node, "NtryDtls/TxDtls")),
        )

    def transaction(self, node: etree._Element) -> Transaction:
        references = []
        for info in self.all(node, "RmtInf/Strd/CdtrRefInf"):
            reference = self.text(info, "Ref")
            if reference is not None:
                kind = self.text(info, "Tp/CdOrPrtry/Cd") or self.text(info, "Tp/CdOrPrtry/Prtry") or ""
                references.append((kind, reference))
        unstructured = " ".join(u.text.strip() for u in self.all(node, "RmtInf/Ustrd") if u.text)
        amount = self.all(node, "Amt")
        return Transaction(
            amount=self.amount(node) if amount else None,
            end_to_end_id=self.text(node, "Refs/EndToEndId"),
            message_id=self.text(node, "Refs/MsgId"),
            payment_information_id=self.text(node, "Refs/PmtInfId") or self.text(node, "../Btch/PmtInfId"),
            mandate_id=self.text(node, "Refs/MndtId"),
            structured_references=tuple(references),
            unstructured=unstructured,
            debtor_name=self.text(node, "RltdPties/Dbtr/Pty/Nm"),
            debtor_iban=self.text(node, "RltdPties/DbtrAcct/Id/IBAN"),
            return_reason=self.text(node, "RtrInf/Rsn/Cd"),
        )
