"""ISO 20022 bank-to-customer messages in: camt.053.001.08 statements and camt.054.001.08 notifications.

A file is parsed with entities and network access off, validated against the ISO XSD of its namespace
(vendored in ``schemas/camt``, see its NOTICE), and only then read (``money-in.md`` §3.6). Anything else
(not XML, another message, a schema violation, more than one account in a file) is ``StatementRefused``.
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
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
    _validate(root)
    return root


def _validate(root: etree._Element) -> None:
    try:
        _schema(_MESSAGES[etree.QName(root).namespace or ""][1]).assertValid(root)
    except etree.DocumentInvalid as error:
        raise StatementRefused(f"not a valid camt message: {error}") from error


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
    """The statement or notification in the file, if it is valid against its XSD. Its entries' fields come
    from one XSLT pass (see ``_marked_entries``); the validation then runs in a thread while Python makes the
    entries of that text (lxml lets go of the GIL to validate; nothing else touches the tree meanwhile). What
    was read counts only once the file proved valid: an invalid file is refused as such, and whatever making
    the entries raised is raised where reading them raised it before (after the header's checks)."""
    root = _root(document)
    failure: Exception | None = None
    try:  # before the validation's thread has the tree
        marked = None if _carries_marks(document, root) else _marked_entries(root)
    except Exception as error:
        marked, failure = None, error
    entries: tuple[Entry, ...] | None = None
    with ThreadPoolExecutor(max_workers=1) as thread:
        validated = thread.submit(_validate, root)
        if marked is not None:
            try:
                entries = _entries_of(marked)
            except Exception as error:
                failure = error
        validated.result()
    return _statement(root, entries, failure)


def _statement(root: etree._Element, entries: tuple[Entry, ...] | None, failure: Exception | None) -> Statement:
    """The valid file's statement, with ``entries`` (None: read entry by entry) or raising ``failure``."""
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
        entries=_entries(report, reader, entries, failure),
        balance_currencies=tuple(sorted({c for _, _, c in balances.values() if c})),
    )


@cache
def _steps(path: str) -> str:
    """``Refs/EndToEndId`` in the message's namespace (prefix ``c``); ``..`` and ``@attribute`` as they are."""
    return "/".join(step if step in (".", "..") or step.startswith("@") else f"c:{step}" for step in path.split("/"))


@cache
def _string_of(paths: tuple[str, ...]) -> str:
    """The XPath of the paths' texts, joined by ``_FIELD_MARK`` (one path: its text)."""
    if len(paths) == 1:
        return f"string({_steps(paths[0])})"
    return "concat(" + f", '{_FIELD_MARK}', ".join(f"string({_steps(path)})" for path in paths) + ")"


class _Reader:
    """XPath in the message's namespace (``c:``), so .053 and .054 share the code."""

    def __init__(self, namespace: str) -> None:
        self._ns = {"c": namespace}
        self._compiled: dict[str, etree.XPath] = {}  # a statement asks the same few paths of every entry

    def _xpath(self, expression: str) -> etree.XPath:
        compiled = self._compiled.get(expression)
        if compiled is None:
            compiled = self._compiled[expression] = etree.XPath(expression, namespaces=self._ns, smart_strings=False)
        return compiled

    def all(self, node: etree._Element, path: str) -> list[etree._Element]:
        found = self._xpath(_steps(path))(node)
        assert isinstance(found, list)
        return [e for e in found if isinstance(e, etree._Element)]

    def one(self, node: etree._Element, path: str) -> etree._Element:
        found = self.all(node, path)
        if not found:
            raise StatementRefused(f"{path} is missing")
        return found[0]

    def text(self, node: etree._Element, path: str) -> str | None:
        """The first element's text, stripped; None when there is none (or it is empty)."""
        found = self._xpath(_string_of((path,)))(node)  # a string: no element objects for a leaf
        assert isinstance(found, str)
        return found.strip() or None

    def date(self, node: etree._Element, path: str) -> date | None:
        """``Dt`` or the date of ``DtTm``."""
        value = self.text(node, path)
        if value is None and path.endswith("/Dt"):
            value = self.text(node, path[:-2] + "DtTm")
        return _date(value)

    def amount(self, node: etree._Element, path: str = "Amt") -> Decimal:
        return _amount(self.text(node, path), path)

    def signed_amount(self, node: etree._Element) -> Decimal:
        amount = self.amount(node)
        return -amount if self.text(node, "CdtDbtInd") == Direction.DEBIT.value else amount

    def texts(self, node: etree._Element, paths: tuple[str, ...]) -> dict[str, str | None]:
        """Several paths' texts (as ``text``) from one XPath call: an entry asks about twenty of each of
        thousands. They come joined by a separator of private-use characters; should a text ever carry it,
        each path is asked on its own."""
        found = self._xpath(_string_of(paths))(node)
        assert isinstance(found, str)
        values = found.split(_FIELD_MARK)
        if len(values) != len(paths):
            return {path: self.text(node, path) for path in paths}
        return {path: value.strip() or None for path, value in zip(paths, values, strict=True)}

    def entry(self, node: etree._Element) -> Entry:
        found = self.texts(node, _ENTRY_PATHS)
        return _entry(
            found,
            tuple(self.transaction(t, found["NtryDtls/Btch/PmtInfId"]) for t in self.all(node, "NtryDtls/TxDtls")),
        )

    def transaction(self, node: etree._Element, batch_payment_information_id: str | None) -> Transaction:
        references = [
            (self.text(info, "Ref"), self.text(info, "Tp/CdOrPrtry/Cd"), self.text(info, "Tp/CdOrPrtry/Prtry"))
            for info in self.all(node, "RmtInf/Strd/CdtrRefInf")
        ]
        ustrd = [u.text for u in self.all(node, "RmtInf/Ustrd")]
        return _transaction(self.texts(node, _TRANSACTION_PATHS), references, ustrd, batch_payment_information_id)


def _entry(found: dict[str, str | None], transactions: tuple[Transaction, ...]) -> Entry:
    domain = [found[f"BkTxCd/Domn/{p}"] for p in ("Cd", "Fmly/Cd", "Fmly/SubFmlyCd")]
    return Entry(
        amount=_amount(found["Amt"], "Amt"),
        currency=found["Amt/@Ccy"] or "",
        direction=Direction(found["CdtDbtInd"] or ""),
        status=found["Sts/Cd"] or found["Sts"] or "",
        booking_date=_date(found["BookgDt/Dt"] or found["BookgDt/DtTm"]),
        value_date=_date(found["ValDt/Dt"] or found["ValDt/DtTm"]),
        account_servicer_reference=found["AcctSvcrRef"],
        entry_reference=found["NtryRef"],
        reversal=found["RvslInd"] == "true",
        bank_transaction_code="/".join(c for c in domain if c) if all(domain) else found["BkTxCd/Prtry/Cd"],
        batch_message_id=found["NtryDtls/Btch/MsgId"],
        batch_payment_information_id=found["NtryDtls/Btch/PmtInfId"],
        transactions=transactions,
    )


def _transaction(
    found: dict[str, str | None],
    references: list[tuple[str | None, str | None, str | None]],
    unstructured: list[str | None],
    batch_payment_information_id: str | None,
) -> Transaction:
    """``references``: each ``CdtrRefInf``'s ``Ref``, ``Cd`` and ``Prtry`` texts; ``unstructured``: each
    ``Ustrd``'s text as it stands."""
    return Transaction(
        amount=None if found["Amt"] is None else _amount(found["Amt"], "Amt"),
        end_to_end_id=found["Refs/EndToEndId"],
        message_id=found["Refs/MsgId"],
        payment_information_id=found["Refs/PmtInfId"] or batch_payment_information_id,
        mandate_id=found["Refs/MndtId"],
        structured_references=tuple((code or proprietary or "", ref) for ref, code, proprietary in references if ref),
        unstructured=" ".join(u.strip() for u in unstructured if u),
        debtor_name=found["RltdPties/Dbtr/Pty/Nm"],
        debtor_iban=found["RltdPties/DbtrAcct/Id/IBAN"],
        return_reason=found["RtrInf/Rsn/Cd"],
    )


def _marked_entries(root: etree._Element) -> str:
    """Every entry's fields written as text between private-use marks by one XSLT pass over the file (a
    statement has thousands of entries: one pass instead of an XPath call for each field of each). Only for a
    file that does not carry such a mark itself (``_carries_marks``)."""
    return str(_entry_fields(etree.QName(root).namespace or "")(root))


def _entries_of(marked: str) -> tuple[Entry, ...]:
    return tuple(_entry_from_marks(chunk) for chunk in marked.split(_ENTRY_MARK)[1:])


def _entries(
    report: etree._Element, reader: _Reader, made: tuple[Entry, ...] | None, failure: Exception | None
) -> tuple[Entry, ...]:
    """The report's entries: ``made`` from the marked text, or what making them raised; read entry by entry
    when the file carries the marks."""
    if failure is not None:
        raise failure
    return made if made is not None else tuple(reader.entry(e) for e in reader.all(report, "Ntry"))


def _text_of(value: str) -> str | None:
    return value.strip() or None


def _entry_from_marks(chunk: str) -> Entry:
    head, *transactions = chunk.split(_TRANSACTION_MARK)
    found = dict(zip(_ENTRY_PATHS, map(_text_of, head.split(_FIELD_MARK)), strict=True))
    batch = found["NtryDtls/Btch/PmtInfId"]
    return _entry(found, tuple(_transaction_from_marks(t, batch) for t in transactions))


def _transaction_from_marks(chunk: str, batch_payment_information_id: str | None) -> Transaction:
    head, *unstructured = chunk.split(_UNSTRUCTURED_MARK)
    fields, *references = head.split(_REFERENCE_MARK)
    found = dict(zip(_TRANSACTION_PATHS, map(_text_of, fields.split(_FIELD_MARK)), strict=True))
    parts = [reference.split(_FIELD_MARK) for reference in references]
    return _transaction(
        found,
        [(_text_of(ref), _text_of(code), _text_of(proprietary)) for ref, code, proprietary in parts],
        list(unstructured),
        batch_payment_information_id,
    )


def _carries_marks(document: bytes, root: etree._Element) -> bool:
    """Whether the file may carry the mark in its text: written in UTF-8 or as a character reference (a file
    in another encoding, which ISO 20022 does not allow but XML does, counts as carrying it)."""
    if (root.getroottree().docinfo.encoding or "").upper() != "UTF-8" or _MARK_IN_UTF8 in document:
        return True
    # Byte searches run at memory speed; the expression only where a character reference is written at all.
    return b"&#" in document and _MARK_AS_REFERENCE.search(document) is not None


@cache
def _entry_fields(namespace: str) -> etree.XSLT:
    """The XSLT that writes each entry of a camt message of ``namespace`` as marked text."""
    _, _, message_name, report_name = _MESSAGES[namespace]

    def values(paths: tuple[str, ...]) -> str:
        return f"<xsl:text>{_FIELD_MARK}</xsl:text>".join(f'<xsl:value-of select="{_steps(p)}"/>' for p in paths)

    xsl = "http://www.w3.org/1999/XSL/Transform"
    stylesheet = f"""<xsl:stylesheet version="1.0" xmlns:xsl="{xsl}" xmlns:c="{namespace}">
  <xsl:output method="text" encoding="UTF-8"/>
  <xsl:template match="/">
    <xsl:for-each select="/c:Document/c:{message_name}/c:{report_name}/c:Ntry">
      <xsl:text>{_ENTRY_MARK}</xsl:text>{values(_ENTRY_PATHS)}
      <xsl:for-each select="c:NtryDtls/c:TxDtls">
        <xsl:text>{_TRANSACTION_MARK}</xsl:text>{values(_TRANSACTION_PATHS)}
        <xsl:for-each select="c:RmtInf/c:Strd/c:CdtrRefInf">
          <xsl:text>{_REFERENCE_MARK}</xsl:text>{values(("Ref", "Tp/CdOrPrtry/Cd", "Tp/CdOrPrtry/Prtry"))}
        </xsl:for-each>
        <xsl:for-each select="c:RmtInf/c:Ustrd">
          <xsl:text>{_UNSTRUCTURED_MARK}</xsl:text><xsl:value-of select="."/>
        </xsl:for-each>
      </xsl:for-each>
    </xsl:for-each>
  </xsl:template>
</xsl:stylesheet>"""
    return etree.XSLT(etree.fromstring(stylesheet))


_MARK = "\ue000"  # private use: no bank's text should carry it (the readers cope if one does)
_MARK_IN_UTF8 = _MARK.encode()
_MARK_AS_REFERENCE = re.compile(rb"&#([xX]0*[eE]000|0*57344);")
_ENTRY_MARK, _TRANSACTION_MARK, _REFERENCE_MARK, _UNSTRUCTURED_MARK, _FIELD_MARK = (_MARK + c for c in "ETRUF")
_ENTRY_PATHS = (
    "Amt",
    "Amt/@Ccy",
    "CdtDbtInd",
    "Sts/Cd",
    "Sts",
    "BookgDt/Dt",
    "BookgDt/DtTm",
    "ValDt/Dt",
    "ValDt/DtTm",
    "AcctSvcrRef",
    "NtryRef",
    "RvslInd",
    "BkTxCd/Domn/Cd",
    "BkTxCd/Domn/Fmly/Cd",
    "BkTxCd/Domn/Fmly/SubFmlyCd",
    "BkTxCd/Prtry/Cd",
    "NtryDtls/Btch/MsgId",
    "NtryDtls/Btch/PmtInfId",
)
_TRANSACTION_PATHS = (
    "Amt",
    "Refs/EndToEndId",
    "Refs/MsgId",
    "Refs/PmtInfId",
    "Refs/MndtId",
    "RltdPties/Dbtr/Pty/Nm",
    "RltdPties/DbtrAcct/Id/IBAN",
    "RtrInf/Rsn/Cd",
)


def _amount(value: str | None, path: str) -> Decimal:
    try:
        return Decimal(value or "")
    except InvalidOperation as error:
        raise StatementRefused(f"{path}: {value!r} is not an amount") from error


def _date(value: str | None) -> date | None:
    return None if value is None else date.fromisoformat(value[:10])
