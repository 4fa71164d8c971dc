"""pain.008.001.08: what we send is valid against the ISO XSD and the EPC rules, with the right PmtInf per
scheme/sequence/date; a broken file is refused before it leaves; pain.002 on our files is read."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from lxml import etree

from adapters.iso20022 import PaymentMessageInvalid, TransferStatus
from adapters.pain008 import (
    PAIN008_NAMESPACE,
    DebitBatch,
    DirectDebit,
    DirectDebitFile,
    direct_debit_file,
    read_collection_status,
    validate_direct_debit_file,
)
from domain.collections.direct_debit import Scheme, SequenceType
from domain.partners import PostalAddress
from domain.payouts.bank import BankAccount

NS = {"p": PAIN008_NAMESPACE}
CREDITOR = BankAccount(
    "NetworkCore GmbH",
    "DE",
    "DE02100500000054540402",
    "BELADEBEXXX",
    PostalAddress("Torstrasse", "10119", "Berlin", "49"),
)
DEBTOR = BankAccount(
    "Roämly B.V. & Co", "NL", "NL91ABNA0417164300", "", PostalAddress("Keizersgracht", "1015 CJ", "Amsterdam", "1")
)


def debit(e2e: str = "NCDD000000000001A1", amount: str = "119.00", **changes: Any) -> DirectDebit:
    return replace(
        DirectDebit(e2e, Decimal(amount), "NC-MNDT-1", date(2026, 1, 5), DEBTOR, "RF18539007547034"), **changes
    )


def file(*batches: DebitBatch, **changes: Any) -> DirectDebitFile:
    if not batches:
        batches = (DebitBatch("NCDD20260601001-01", Scheme.B2B, SequenceType.RECURRING, date(2026, 6, 2), (debit(),)),)
    return replace(
        DirectDebitFile(
            "NCDD20260601001", datetime(2026, 6, 1, 6, tzinfo=UTC), CREDITOR, "DE98ZZZ09999999999", batches
        ),
        **changes,
    )


def texts(root: etree._Element, path: str) -> list[str]:
    return [str(e.text) for e in root.findall(path, NS)]


def test_a_file_is_xsd_valid_and_carries_what_the_epc_asks() -> None:
    body = direct_debit_file(
        file(
            DebitBatch(
                "NCDD20260601001-01",
                Scheme.B2B,
                SequenceType.RECURRING,
                date(2026, 6, 2),
                (debit(), debit("NCDD000000000002A1", "0.01", debtor=replace(DEBTOR, bic="ABNANL2A"))),
            ),
            DebitBatch(
                "NCDD20260601001-02", Scheme.CORE, SequenceType.ONE_OFF, date(2026, 6, 3), (debit("E3", "10.50"),)
            ),
        )
    )
    validate_direct_debit_file(body)
    root = etree.fromstring(body)
    assert texts(root, ".//p:GrpHdr/p:NbOfTxs") == ["3"]
    assert texts(root, ".//p:GrpHdr/p:CtrlSum") == ["129.51"]
    assert texts(root, ".//p:PmtInf/p:PmtTpInf/p:LclInstrm/p:Cd") == ["B2B", "CORE"]
    assert texts(root, ".//p:PmtInf/p:PmtTpInf/p:SeqTp") == ["RCUR", "OOFF"]
    assert texts(root, ".//p:PmtInf/p:PmtTpInf/p:SvcLvl/p:Cd") == ["SEPA", "SEPA"]
    assert texts(root, ".//p:PmtInf/p:ReqdColltnDt") == ["2026-06-02", "2026-06-03"]
    assert texts(root, ".//p:PmtInf/p:ChrgBr") == ["SLEV", "SLEV"]
    assert texts(root, ".//p:PmtInf/p:CdtrSchmeId/p:Id/p:PrvtId/p:Othr/p:Id") == ["DE98ZZZ09999999999"] * 2
    assert texts(root, ".//p:DrctDbtTxInf/p:DrctDbtTx/p:CdtrSchmeId") == [], "the creditor id only once, at PmtInf"
    assert texts(root, ".//p:PmtInf/p:Cdtr/p:PstlAdr/p:TwnNm") == ["Berlin", "Berlin"]
    assert texts(root, ".//p:DrctDbtTxInf/p:InstdAmt") == ["119.00", "0.01", "10.50"]
    assert root.find(".//p:DrctDbtTxInf/p:InstdAmt", NS).get("Ccy") == "EUR"  # type: ignore[union-attr]
    assert texts(root, ".//p:MndtRltdInf/p:MndtId") == ["NC-MNDT-1"] * 3
    assert texts(root, ".//p:MndtRltdInf/p:DtOfSgntr") == ["2026-01-05"] * 3
    assert texts(root, ".//p:DbtrAgt/p:FinInstnId/p:Othr/p:Id") == ["NOTPROVIDED", "NOTPROVIDED"]
    assert texts(root, ".//p:DbtrAgt/p:FinInstnId/p:BICFI") == ["ABNANL2A"]
    assert texts(root, ".//p:Dbtr/p:Nm") == ["Roamly B.V. Co"] * 3, "SEPA characters only"
    assert texts(root, ".//p:Dbtr/p:PstlAdr/p:StrtNm") == ["Keizersgracht"] * 3
    assert texts(root, ".//p:DbtrAcct/p:Id/p:IBAN") == ["NL91ABNA0417164300"] * 3
    assert texts(root, ".//p:RmtInf/p:Strd/p:CdtrRefInf/p:Tp/p:CdOrPrtry/p:Cd") == ["SCOR"] * 3
    assert texts(root, ".//p:RmtInf/p:Strd/p:CdtrRefInf/p:Ref") == ["RF18539007547034"] * 3


@pytest.mark.parametrize(
    ("broken", "words"),
    [
        (file(currency="CHF"), "EUR only"),
        (file(message_id="NCDD_1"), "MsgId"),
        (file(DebitBatch("P1", Scheme.B2B, SequenceType.RECURRING, date(2026, 6, 2), (debit(amount="0.00"),))), "0.01"),
        (file(DebitBatch("P1", Scheme.B2B, SequenceType.RECURRING, date(2026, 6, 2), (debit(amount="1.005"),))), "two"),
        (
            file(DebitBatch("P1", Scheme.B2B, SequenceType.RECURRING, date(2026, 6, 2), (debit(amount="1000000000"),))),
            "999999999.99",
        ),
        (
            file(DebitBatch("P1", Scheme.B2B, SequenceType.RECURRING, date(2026, 6, 2), (debit(mandate_id=""),))),
            "MndtId",
        ),
        (file(DebitBatch("P1", Scheme.B2B, SequenceType.RECURRING, date(2026, 6, 2), (debit(), debit()))), "unique"),
        (file(DebitBatch("P1", Scheme.B2B, SequenceType.RECURRING, date(2026, 6, 2), ())), "no debit"),
        (
            file(
                DebitBatch("P1", Scheme.B2B, SequenceType.RECURRING, date(2026, 6, 2), (debit(end_to_end_id="E" * 36),))
            ),
            "35",
        ),
        (file(creditor=replace(CREDITOR, address=None)), "town"),
        (file(creditor_id="DE98ZZZ0999999999999999999999999999999"), "xsd"),
    ],
)
def test_a_broken_file_is_refused_before_it_leaves(broken: DirectDebitFile, words: str) -> None:
    with pytest.raises(PaymentMessageInvalid) as refused:
        direct_debit_file(broken)
    assert words.lower() in str(refused.value).lower()


def test_the_xsd_refuses_what_the_builder_would_never_write() -> None:
    body = direct_debit_file(file()).replace(b"<SeqTp>RCUR</SeqTp>", b"<SeqTp>COR1</SeqTp>")
    with pytest.raises(PaymentMessageInvalid, match=r"pain\.008\.001\.08\.xsd"):
        validate_direct_debit_file(body)


def pain002(group: str, payments: str = "") -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?><Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.002.001.10">'
        "<CstmrPmtStsRpt><GrpHdr><MsgId>S1</MsgId><CreDtTm>2026-06-01T10:00:00</CreDtTm></GrpHdr>"
        f"<OrgnlGrpInfAndSts><OrgnlMsgId>NCDD20260601001</OrgnlMsgId><OrgnlMsgNmId>pain.008.001.08</OrgnlMsgNmId>{group}"
        f"</OrgnlGrpInfAndSts>{payments}</CstmrPmtStsRpt></Document>"
    ).encode()


def test_a_pain002_with_some_transactions_rejected() -> None:
    report = read_collection_status(
        pain002(
            "<GrpSts>PART</GrpSts>",
            "<OrgnlPmtInfAndSts><OrgnlPmtInfId>P1</OrgnlPmtInfId>"
            "<TxInfAndSts><OrgnlEndToEndId>E1</OrgnlEndToEndId><TxSts>RJCT</TxSts>"
            "<StsRsnInf><Rsn><Cd>AC04</Cd></Rsn></StsRsnInf></TxInfAndSts>"
            "<TxInfAndSts><OrgnlEndToEndId>E2</OrgnlEndToEndId><TxSts>ACCP</TxSts></TxInfAndSts>"
            "</OrgnlPmtInfAndSts>"
            "<OrgnlPmtInfAndSts><OrgnlPmtInfId>P2</OrgnlPmtInfId><PmtInfSts>RJCT</PmtInfSts>"
            "<StsRsnInf><Rsn><Cd>FF05</Cd></Rsn></StsRsnInf></OrgnlPmtInfAndSts>",
        )
    )
    assert report.original_message_id == "NCDD20260601001"
    assert report.group_status is None  # PART: the transactions say which
    assert [(t.end_to_end_id, t.status, t.reason_code) for t in report.transactions] == [
        ("E1", TransferStatus.REJECTED, "AC04"),
        ("E2", TransferStatus.ACCEPTED, None),
    ]
    assert report.rejected_batches == (("P2", "FF05"),)


def test_a_whole_file_rejected_and_a_foreign_document() -> None:
    report = read_collection_status(pain002("<GrpSts>RJCT</GrpSts><StsRsnInf><Rsn><Cd>FF01</Cd></Rsn></StsRsnInf>"))
    assert (report.group_status, report.group_reason) == (TransferStatus.REJECTED, "FF01")
    with pytest.raises(PaymentMessageInvalid, match=r"not a pain\.002"):
        read_collection_status(direct_debit_file(file()))
    with pytest.raises(PaymentMessageInvalid, match="well-formed"):
        read_collection_status(b"<Document")
