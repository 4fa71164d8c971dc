"""pain.001.001.09 files (SEPA for EUR, SPS for CHF) validated against the official XSD before they leave;
pain.002 reports read back; the file rail writes each file once."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from lxml import etree

from adapters.iso20022 import (
    CreditTransfer,
    PaymentMessageInvalid,
    StatusReport,
    TransferStatus,
    credit_transfer_file,
    read_status_report,
    status_report_file,
    validate,
)
from adapters.payout_rails import FileRail
from domain.partners import PostalAddress
from domain.payouts.bank import bank_account

NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
BERLIN = PostalAddress("Torstrasse", "10119", "Berlin", building_number="49")
LYON = PostalAddress("Quai Jules Courmont (Bât. B)", "69002", "Lyon", building_number="5bis")
GENEVA = PostalAddress("Route de Meyrin", "1202", "Genève", building_number="12")
PLATFORM_EUR = bank_account("NetworkCore GmbH", "DE", "DE02100500000054540402", "BELADEBEXXX", BERLIN)
PLATFORM_CHF = bank_account("NetworkCore GmbH", "DE", "CH5604835012345678009", None, BERLIN)
SEPA = CreditTransfer(
    message_id="NCP-20261124-0123456789AB",
    created_at=NOW,
    execution_date=date(2026, 11, 24),
    debtor=PLATFORM_EUR,
    creditor=bank_account("Borne Énergie SAS & Fils", "FR", "FR7630006000011234567890189", None, LYON),
    currency="EUR",
    amount=Decimal("208.15"),
    remittance="NetworkCore payout NCP-20261124-0123456789AB",
)
SPS = replace(
    SEPA,
    debtor=PLATFORM_CHF,
    creditor=bank_account("VoltaSwiss AG Genève", "CH", "CH9300762011623852957", "POFICHBEXXX", GENEVA),
    currency="CHF",
    amount=Decimal("17.50"),
)
NAMESPACES = {"p": "urn:iso:std:iso:20022:tech:xsd:pain.001.001.09"}


def postal_address(document: bytes, party: str) -> list[tuple[str, str]]:
    """The party's PstlAdr children as (tag, text), in document order."""
    address = etree.fromstring(document).find(f".//p:{party}/p:PstlAdr", namespaces=NAMESPACES)
    assert address is not None
    return [(etree.QName(child).localname, child.text or "") for child in address]


def test_a_sepa_file_is_valid_and_says_what_the_rulebook_asks() -> None:
    document = credit_transfer_file(SEPA).decode()
    validate(document.encode())
    assert "<Cd>SEPA</Cd>" in document
    assert "<ChrgBr>SLEV</ChrgBr>" in document
    assert '<InstdAmt Ccy="EUR">208.15</InstdAmt>' in document
    assert "<CtrlSum>208.15</CtrlSum>" in document
    assert "<EndToEndId>NCP-20261124-0123456789AB</EndToEndId>" in document
    assert "<IBAN>FR7630006000011234567890189</IBAN>" in document
    assert "<BICFI>AGRIFRPPXXX</BICFI>" in document
    # SEPA's character set: the accent goes, the ampersand becomes a space.
    assert "<Nm>Borne Energie SAS Fils</Nm>" in document


def test_debtor_and_creditor_carry_structured_addresses_in_xsd_order_in_the_sepa_character_set() -> None:
    document = credit_transfer_file(SEPA)
    validate(document)
    assert postal_address(document, "Dbtr") == [
        ("StrtNm", "Torstrasse"),
        ("BldgNb", "49"),
        ("PstCd", "10119"),
        ("TwnNm", "Berlin"),
        ("Ctry", "DE"),
    ]
    # SEPA's set: the accent goes; the street keeps its brackets, which the set allows.
    assert postal_address(document, "Cdtr") == [
        ("StrtNm", "Quai Jules Courmont (Bat. B)"),
        ("BldgNb", "5bis"),
        ("PstCd", "69002"),
        ("TwnNm", "Lyon"),
        ("Ctry", "FR"),
    ]


def test_a_swiss_file_keeps_latin_1_in_addresses() -> None:
    document = credit_transfer_file(SPS)
    validate(document)
    assert postal_address(document, "Cdtr") == [
        ("StrtNm", "Route de Meyrin"),
        ("BldgNb", "12"),
        ("PstCd", "1202"),
        ("TwnNm", "Genève"),
        ("Ctry", "CH"),
    ]


def test_a_building_number_and_a_postcode_are_left_out_when_there_are_none() -> None:
    creditor = replace(SEPA.creditor, address=PostalAddress("", "", "Lyon"))
    document = credit_transfer_file(replace(SEPA, creditor=creditor))
    validate(document)
    assert postal_address(document, "Cdtr") == [("TwnNm", "Lyon"), ("Ctry", "FR")]


@pytest.mark.parametrize(
    ("creditor", "message"),
    [
        ({"address": None}, "no town on its postal address"),
        ({"address": PostalAddress("Rue X", "69002", "  ")}, "no town on its postal address"),
        ({"country": "fr"}, "not ISO 3166-1 alpha-2"),
        ({"country": "FRA"}, "not ISO 3166-1 alpha-2"),
    ],
)
def test_a_party_without_town_or_with_a_bad_country_is_refused_before_the_file_is_built(
    creditor: dict[str, object], message: str
) -> None:
    with pytest.raises(PaymentMessageInvalid, match=message):
        credit_transfer_file(replace(SEPA, creditor=replace(SEPA.creditor, **creditor)))  # type: ignore[arg-type]
    with pytest.raises(PaymentMessageInvalid, match=message):
        credit_transfer_file(replace(SEPA, debtor=replace(SEPA.debtor, **creditor)))  # type: ignore[arg-type]


def test_a_swiss_file_follows_the_sps_variant() -> None:
    document = credit_transfer_file(SPS).decode()
    assert "<Cd>SEPA</Cd>" not in document
    assert "ChrgBr" not in document
    assert '<InstdAmt Ccy="CHF">17.50</InstdAmt>' in document
    assert "<Nm>VoltaSwiss AG Genève</Nm>" in document  # Latin-1 is allowed


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"currency": "GBP"}, "no pain.001 scheme for GBP"),
        ({"amount": Decimal("1.005")}, "not a payable amount"),
        ({"amount": Decimal("0.00")}, "not a payable amount"),
        ({"message_id": "X" * 36}, "1 to 35 characters"),
    ],
)
def test_what_no_bank_would_take_is_refused_before_it_is_written(change: dict[str, object], message: str) -> None:
    with pytest.raises(PaymentMessageInvalid, match=message):
        credit_transfer_file(replace(SEPA, **change))  # type: ignore[arg-type]


def test_the_xsd_catches_a_file_broken_after_it_was_built() -> None:
    broken = credit_transfer_file(SEPA).replace(b"<PmtMtd>TRF</PmtMtd>", b"<PmtMtd>XXX</PmtMtd>")
    with pytest.raises(PaymentMessageInvalid, match=r"pain\.001\.001\.09\.xsd"):
        validate(broken)
    with pytest.raises(PaymentMessageInvalid, match="well-formed"):
        validate(b"<Document>")


def test_a_status_report_reads_back_and_entities_are_never_expanded() -> None:
    report = StatusReport("NCP-1", TransferStatus.REJECTED, "AC04", "closed account number")
    document = status_report_file(report, message_id="BANK-1", created_at=NOW)
    assert read_status_report(document) == report
    assert read_status_report(document).status.is_rejected
    hostile = (
        b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b"<Document><OrgnlGrpInfAndSts><OrgnlMsgId>&x;</OrgnlMsgId><GrpSts>ACSC</GrpSts>"
        b"</OrgnlGrpInfAndSts></Document>"
    )
    with pytest.raises(PaymentMessageInvalid):
        read_status_report(hostile)  # the id is empty: the entity was not read
    with pytest.raises(PaymentMessageInvalid, match=r"unknown pain\.002 status"):
        read_status_report(document.replace(b"RJCT", b"XXXX"))


def test_the_file_rail_writes_each_file_once_and_reads_the_banks_answer(tmp_path: Path) -> None:
    rail = FileRail(tmp_path / "outbox", tmp_path / "inbox")
    document = credit_transfer_file(SEPA)
    rail.submit(SEPA.message_id, document, now=NOW)
    rail.submit(SEPA.message_id, document, now=NOW)  # a retry changes nothing
    assert [p.name for p in (tmp_path / "outbox").iterdir()] == [f"{SEPA.message_id}.xml"]
    with pytest.raises(PaymentMessageInvalid, match="never reused"):
        rail.submit(SEPA.message_id, credit_transfer_file(replace(SEPA, amount=Decimal("1.00"))), now=NOW)
    assert rail.status(SEPA.message_id, now=NOW) is None
    (tmp_path / "inbox").mkdir()
    (tmp_path / "inbox" / "unrelated.xml").write_text("<camt/>")
    settled = StatusReport(SEPA.message_id, TransferStatus.SETTLED, None, None)
    (tmp_path / "inbox" / "pain002.xml").write_bytes(status_report_file(settled, message_id="B-2", created_at=NOW))
    reported = rail.status(SEPA.message_id, now=NOW)
    assert reported is not None
    assert reported[0] == settled
    assert reported[0].status.is_paid
