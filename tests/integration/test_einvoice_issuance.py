"""Every document is issued with its EN 16931 e-invoice, on both databases: per format, an invoice (380), its
credit note (381), a monthly statement, a CPO's self-billed invoice (389) and its credit note (261) each store
an XML that passes its rules, made for the party's contract, and are queued for the outbox. A document whose
e-invoice fails a rule is not issued: EINVOICE_INVALID, nothing stored, its number given to the next document.
The outbox writes each e-invoice once, and a run that dies between writing and marking loses none. Migration
0031 goes up and down."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from facturx import get_xml_from_pdf
from lxml import etree
from sqlalchemy import Engine, inspect, select
from sqlalchemy.orm import Session, sessionmaker

from activities.einvoices import EInvoiceDeliveryActivities
from adapters.einvoice.validation import validate
from cli.seed import DemoPartner, ensure_demand_partner
from domain.einvoice.issuing import EInvoiceInvalid, EInvoiceIssuing
from domain.einvoice.model import Contact, EInvoiceFormat, Profile, Syntax
from domain.fx.rates import FxRate
from domain.invoicing.documents import PLATFORM_ISSUER, cpo_issuer
from domain.invoicing.lines import InvoiceLine, NationalVat, invoice_line
from domain.partners import PostalAddress
from domain.settlement.contracts import EInvoiceTerms
from domain.vat.rates import VatCategory, VatRate
from domain.vat.treatment import TaxParty, VatDecision, VatTreatment, decide_vat
from persistence import einvoices, invoices
from persistence.contracts import ensure_contract
from persistence.db import make_engine, make_session_factory
from persistence.migrate import alembic_config, upgrade
from persistence.tables import EInvoiceDeliveryRow, InvoiceRow, InvoiceSeriesRow
from persistence.vat_rates import vat_rate_table
from services.cpo_onboarding import CpoCompany, CpoTerms, invite_cpo
from tests.conftest import fresh_party_id
from tests.einvoice_documents import ISSUING, PLATFORM, PLATFORM_DETAILS
from tests.integration.test_error_type_migration import database_at, schema_differences
from tests.integration.test_holds import new_session
from tests.integration.test_invoices import issue_with_credit_note

NOW = datetime(2026, 6, 1, 9, tzinfo=UTC)
MUNICH = PostalAddress("Leopoldstrasse", "80802", "München", building_number="12")
HAMBURG = PostalAddress("Spaldingstrasse", "20097", "Hamburg", building_number="64")
CONTACT = {"name": "Accounts", "telephone": "+49 89 2000 4711", "email": "ap@example.com"}
PARTNER_VAT_ID, CPO_VAT_ID = "DE281045677", "DE276543216"
CPO_IBAN = "DE89370400440532013000"
SWISS_RATE = VatRate("CH", VatCategory.STANDARD, Decimal("8.1"), date(2024, 1, 1), "test", date(2024, 1, 1))
EUR_CHF = FxRate("EUR", "CHF", Decimal("0.9400"), date(2026, 5, 29), "ECB reference rate")
CII = {"rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"}
CII_RAM = "{urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100}"
UBL_CBC = "{urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2}"


def partner(writes: sessionmaker[Session], fmt: EInvoiceFormat) -> tuple[str, TaxParty]:
    """A German demand partner of this test's own whose contract asks for ``fmt``."""
    suffix = uuid.uuid4().hex[:8]
    new = DemoPartner(
        f"dp-ei-{suffix}", "Fahrwerk Mobility GmbH", "DE", PARTNER_VAT_ID, "EUR", f"k-{suffix}", address=MUNICH
    )
    terms = {
        "billing_currency": "EUR",
        "revenue_share": {"percent": "0", "basis": "COMMISSION"},
        "credit": {"limit": "1000", "session_cap": "80"},
        "einvoice": {"format": fmt.value, "buyer_reference": "PO-4711"},
    }
    with writes.begin() as db:
        ensure_demand_partner(db, new, terms, now=NOW)
    party = TaxParty(new.name, MUNICH.line("DE"), "DE", {"DE": PARTNER_VAT_ID}, postal_address=MUNICH)
    return new.id, party


def cpo(writes: sessionmaker[Session], fmt: EInvoiceFormat) -> tuple[str, TaxParty]:
    """A German CPO of this test's own, invited with a contract asking for ``fmt``."""
    einvoice = EInvoiceTerms(format=fmt, buyer_reference="SB-4711", contact=Contact(**CONTACT))
    with writes.begin() as db:
        invitation = invite_cpo(
            db,
            "DE",
            fresh_party_id(),
            "Stromtankstelle Nord GmbH",
            CpoCompany(vat_id=CPO_VAT_ID, address=HAMBURG, iban=CPO_IBAN),
            CpoTerms(commission_percent=Decimal(8), einvoice=einvoice),
            now=NOW,
        )
    party = TaxParty("Stromtankstelle Nord GmbH", HAMBURG.line("DE"), "DE", {"DE": CPO_VAT_ID}, postal_address=HAMBURG)
    return invitation.cpo_id, party


def line(session_id: str, supplier: TaxParty, customer: TaxParty, net_minor: int = 2000) -> InvoiceLine:
    decision = decide_vat(
        supplier, customer, charger_country="DE", supplied_on=date(2026, 5, 31), rates=vat_rate_table()
    )
    return invoice_line(
        session_id=session_id,
        description="Electricity for EV charging",
        quantity=Decimal("10.5"),
        supplied_on=date(2026, 5, 31),
        currency="EUR",
        net_minor=net_minor,
        decision=decision,
        national_currency="EUR",
        national_rate=None,
    )


def checked(row: InvoiceRow, fmt: EInvoiceFormat) -> etree._Element:
    """The row's e-invoice: in ``fmt``, passing its rules, numbered as the row, queued for the outbox."""
    assert row.einvoice_format == fmt.value
    assert row.einvoice_xml is not None
    xml = row.einvoice_xml.encode("utf-8")
    assert [failure for failure in validate(xml, fmt) if failure.fatal] == []
    root = etree.fromstring(xml)
    if fmt.syntax == Syntax.UBL:
        assert root.findtext(f"{UBL_CBC}ID") == row.number
    else:
        assert root.findtext(f"rsm:ExchangedDocument/{CII_RAM}ID", namespaces=CII) == row.number
    return root


def type_code(root: etree._Element) -> str | None:
    return (
        root.findtext(f"{UBL_CBC}InvoiceTypeCode")
        or root.findtext(f"{UBL_CBC}CreditNoteTypeCode")
        or root.findtext(f"rsm:ExchangedDocument/{CII_RAM}TypeCode", namespaces=CII)
    )


@pytest.mark.parametrize("fmt", list(EInvoiceFormat))
def test_every_document_type_is_issued_with_a_valid_einvoice_in_its_partys_format(
    writes: sessionmaker[Session], fmt: EInvoiceFormat
) -> None:
    partner_id, customer = partner(writes, fmt)
    cpo_id, seller = cpo(writes, fmt)
    series, self_billed_series = (f"E{uuid.uuid4().hex[:6].upper()}" for _ in range(2))
    sold, bought, on_statement = (new_session(writes, partner_id) for _ in range(3))
    with writes.begin() as db:
        invoice, credit = issue_with_credit_note(
            db,
            issuer=PLATFORM_ISSUER,
            series=series,
            recipient=f"dp:{partner_id}",
            supplier=PLATFORM,
            customer=customer,
            line=line(sold, PLATFORM, customer),
            self_billing=False,
            now=NOW,
        )
        draft = invoices.add_to_statement(
            db,
            issuer=PLATFORM_ISSUER,
            series=series,
            recipient=f"dp:{partner_id}",
            period="2026-05",
            line=line(on_statement, PLATFORM, customer),
            now=NOW,
        )
        statement = invoices.issue_statement(
            db, draft.key, supplier=PLATFORM, customer=customer, now=NOW, issuing=ISSUING
        )
        self_billed, self_credit = issue_with_credit_note(
            db,
            issuer=cpo_issuer(cpo_id),
            series=self_billed_series,
            recipient=PLATFORM_ISSUER,
            supplier=seller,
            customer=PLATFORM,
            line=line(bought, seller, PLATFORM),
            self_billing=True,
            now=NOW,
        )
        rows = [invoice, credit, statement, self_billed, self_credit]
        keys = [row.key for row in rows]
    # Self-billed documents are never Peppol BIS (no Self-Billing rules to validate them): plain UBL.
    self_billed_format = EInvoiceFormat.UBL if fmt == EInvoiceFormat.PEPPOL_UBL else fmt
    with writes() as db:
        stored = [db.get_one(InvoiceRow, key) for key in keys]
        roots = [checked(row, f) for row, f in zip(stored, [fmt] * 3 + [self_billed_format] * 2, strict=True)]
        assert [type_code(root) for root in roots] == ["380", "381", "380", "389", "261"]
        queued = {
            d.invoice_key: d.recipient
            for d in db.scalars(select(EInvoiceDeliveryRow).where(EInvoiceDeliveryRow.invoice_key.in_(keys)))
        }
    assert queued == dict(zip(keys, [f"dp:{partner_id}"] * 3 + [f"cpo:{cpo_id}"] * 2, strict=True))
    xml = [row.einvoice_xml or "" for row in stored]
    assert all("PO-4711" in text for text in xml[:3])  # the partner's buyer reference (BT-10)
    assert all("SB-4711" in text for text in xml[3:])  # the CPO's
    assert f">{stored[0].number}<" in xml[1]  # the credit note names the invoice it corrects (BG-3)
    assert CPO_IBAN in xml[3]  # the CPO's self-billed invoice is paid into its payout account (BT-84)
    if fmt.profile == Profile.XRECHNUNG:
        assert CONTACT["email"] in xml[3]  # the CPO is the seller: its contact (BR-DE-2)


def test_a_document_whose_einvoice_fails_a_rule_is_not_issued_and_its_number_goes_to_the_next(
    writes: sessionmaker[Session],
) -> None:
    partner_id, customer = partner(writes, EInvoiceFormat.XRECHNUNG_CII)
    series = f"F{uuid.uuid4().hex[:6].upper()}"
    session_id = new_session(writes, partner_id)
    # A platform configured without its contact: XRechnung's BR-DE-2 fails on the seller's side.
    broken = EInvoiceIssuing(replace(PLATFORM_DETAILS, contact=None), ISSUING.write)

    def issue(issuing: EInvoiceIssuing) -> InvoiceRow:
        with writes.begin() as db:
            row = invoices.issue_invoice(
                db,
                issuer=PLATFORM_ISSUER,
                series=series,
                recipient=f"dp:{partner_id}",
                supplier=PLATFORM,
                customer=customer,
                line=line(session_id, PLATFORM, customer),
                self_billing=False,
                now=NOW,
                issuing=issuing,
            )
            db.expunge(row)
            return row

    with pytest.raises(EInvoiceInvalid) as refused:
        issue(broken)
    assert refused.value.code == "EINVOICE_INVALID"
    assert "BR-DE-2" in refused.value.rules
    assert str(refused.value).startswith(f"e-invoice {series}-000001 as XRECHNUNG_CII: the e-invoice fails BR-DE-2")
    with writes() as db:
        assert db.scalars(select(InvoiceRow).where(InvoiceRow.series == series)).all() == []
        series_row = db.scalar(select(InvoiceSeriesRow).where(InvoiceSeriesRow.series == series))
        assert series_row is None or series_row.last_number == 0
    assert issue(ISSUING).number == f"{series}-000001"  # the number the refused one would have had


def test_a_contract_made_before_the_checks_is_refused_at_issue_naming_its_field(writes: sessionmaker[Session]) -> None:
    partner_id, customer = partner(writes, EInvoiceFormat.CII)
    with writes.begin() as db:  # a version written around the checks, as one from before them
        ensure_contract(
            db, "DEMAND_PARTNER", partner_id, {"einvoice": {"format": "XRECHNUNG_UBL"}}, now=NOW, first_from=NOW
        )
    session_id = new_session(writes, partner_id)
    with (
        pytest.raises(EInvoiceInvalid, match=r"the contract of dp:.*: einvoice.buyer_reference is required"),
        writes.begin() as db,
    ):
        invoices.issue_invoice(
            db,
            issuer=PLATFORM_ISSUER,
            series=f"G{uuid.uuid4().hex[:6].upper()}",
            recipient=f"dp:{partner_id}",
            supplier=PLATFORM,
            customer=customer,
            line=line(session_id, PLATFORM, customer),
            self_billing=False,
            now=NOW,
            issuing=ISSUING,
        )


def test_a_months_lines_taxed_in_another_currency_get_a_statement_of_their_own(writes: sessionmaker[Session]) -> None:
    """EN 16931 states VAT in one currency besides the document's (BT-6): a EUR partner's German sessions and
    its Swiss ones (VAT in CHF) are two statements, each a valid e-invoice."""
    partner_id, customer = partner(writes, EInvoiceFormat.UBL)
    series = f"S{uuid.uuid4().hex[:6].upper()}"
    swiss_vat = VatDecision(VatTreatment.DOMESTIC, "CH", SWISS_RATE, "CHE301845272MWST", None)
    german, swiss = new_session(writes, partner_id), new_session(writes, partner_id)
    with writes.begin() as db:
        drafts = [
            invoices.add_to_statement(
                db,
                issuer=PLATFORM_ISSUER,
                series=series,
                recipient=f"dp:{partner_id}",
                period="2026-05",
                line=sold,
                now=NOW,
            )
            for sold in (
                line(german, PLATFORM, customer),
                replace(
                    line(swiss, PLATFORM, customer),
                    vat=swiss_vat,
                    vat_minor=162,
                    national=NationalVat("CHF", 152, EUR_CHF),
                ),
            )
        ]
        assert drafts[0].key != drafts[1].key
        assert [draft.einvoice_group for draft in drafts] == ["", "CHF"]
        keys = [draft.key for draft in drafts]
    with writes.begin() as db:
        issued = [
            invoices.issue_statement(db, key, supplier=PLATFORM, customer=customer, now=NOW, issuing=ISSUING)
            for key in keys
        ]
        for row in issued:
            checked(row, EInvoiceFormat.UBL)
        assert "<cbc:TaxCurrencyCode>CHF</cbc:TaxCurrencyCode>" in (issued[1].einvoice_xml or "")


class OutboxDied(Exception):
    """The run dies after writing its files, before marking them delivered."""


def test_the_outbox_writes_each_einvoice_once_and_loses_none_when_a_run_dies(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'outbox.db'}"
    upgrade(url)
    engine = make_engine(url)
    writes = make_session_factory(engine)
    try:
        numbers = {}
        for fmt in (EInvoiceFormat.FACTURX, EInvoiceFormat.UBL):
            partner_id, customer = partner(writes, fmt)
            with writes.begin() as db:
                row = invoices.issue_invoice(
                    db,
                    issuer=PLATFORM_ISSUER,
                    series=f"O{fmt.value[:3]}",
                    recipient=f"dp:{partner_id}",
                    supplier=PLATFORM,
                    customer=customer,
                    line=line(new_session(writes, partner_id), PLATFORM, customer),
                    self_billing=False,
                    now=NOW,
                    issuing=ISSUING,
                )
                assert row.number is not None
                numbers[fmt] = (partner_id, row.number, (row.einvoice_xml or "").encode())
        outbox = tmp_path / "outbox"
        delivery = EInvoiceDeliveryActivities(writes, outbox=outbox)

        def dies(*_: Any, **__: Any) -> None:
            raise OutboxDied

        with monkeypatch.context() as patched:
            patched.setattr(einvoices, "mark_delivered", dies)
            with pytest.raises(OutboxDied):
                delivery.deliver_batch(outbox)
        written = sorted(path.relative_to(outbox) for path in outbox.rglob("*") if path.is_file())
        assert len(written) == 2  # on disk, not marked: the next run writes them again
        assert sorted(delivery.deliver_batch(outbox)) == sorted(number for _, number, _ in numbers.values())
        assert delivery.deliver_batch(outbox) == []  # each once
        facturx_partner, facturx_number, facturx_xml = numbers[EInvoiceFormat.FACTURX]
        ubl_partner, ubl_number, ubl_xml = numbers[EInvoiceFormat.UBL]
        assert sorted(path.relative_to(outbox) for path in outbox.rglob("*") if path.is_file()) == sorted(
            [Path("dp", facturx_partner, f"{facturx_number}.pdf"), Path("dp", ubl_partner, f"{ubl_number}.xml")]
        )
        assert (outbox / "dp" / ubl_partner / f"{ubl_number}.xml").read_bytes() == ubl_xml
        pdf = (outbox / "dp" / facturx_partner / f"{facturx_number}.pdf").read_bytes()
        assert get_xml_from_pdf(pdf, check_xsd=False) == ("factur-x.xml", facturx_xml)
        with writes() as db:
            assert all(d.delivered_at is not None for d in db.scalars(select(EInvoiceDeliveryRow)))
    finally:
        engine.dispose()


def test_the_einvoice_columns_and_deliveries_are_as_the_migration_made_them(engine: Engine) -> None:
    assert [d for d in schema_differences(engine) if "einvoice" in d] == []


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_at_0028(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield from database_at(request.param, tmp_path, "0028")


def test_migration_0031_goes_up_down_and_up_again(database_at_0028: str) -> None:
    url = database_at_0028
    for _ in range(2):
        upgrade(url, "0031")
        engine = make_engine(url)
        assert "einvoice_deliveries" in inspect(engine).get_table_names()
        assert {"einvoice_format", "einvoice_xml"} <= {
            column["name"] for column in inspect(engine).get_columns("invoices")
        }
        engine.dispose()
        command.downgrade(alembic_config(url), "0028")
        engine = make_engine(url)
        assert "einvoice_deliveries" not in inspect(engine).get_table_names()
        assert "einvoice_xml" not in {column["name"] for column in inspect(engine).get_columns("invoices")}
        engine.dispose()
