"""A contract's e-invoice terms: a party without what its format needs is refused when the contract is saved,
with the field named; what a contract leaves out takes the defaults of the party's country (format, and an
electronic address derived from its VAT id); self-billed documents are never Peppol BIS."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest

from domain.einvoice.model import Contact, EInvoiceFormat, ElectronicAddress, TypeCode
from domain.einvoice.recipients import default_format, document_format, electronic_address_from_vat_id
from domain.invoicing.documents import Cadence
from domain.partners import DemandPartnerTerms, FieldInvalid, NewDemandPartner, PostalAddress, checked_terms
from domain.settlement.contracts import (
    ContractTermsInvalid,
    EInvoiceParty,
    EInvoiceTerms,
    ShareBasis,
    einvoice_terms,
    party_einvoicing,
)

MUNICH = PostalAddress("Leopoldstrasse", "80802", "München", building_number="12")
CONTACT = {"name": "Accounts", "telephone": "+49 89 2000 4711", "email": "ap@fahrwerk.example"}
GERMAN_PARTNER = EInvoiceParty("dp-fahrwerk", "DE", "DE281045677", issues_in_its_name=False)
GERMAN_CPO = EInvoiceParty("cpo-de-stn", "DE", "DE276543216", issues_in_its_name=True)


def einvoicing(party: EInvoiceParty = GERMAN_PARTNER, **section: Any) -> Any:
    return party_einvoicing({"einvoice": section}, party)


def refusal(party: EInvoiceParty = GERMAN_PARTNER, **section: Any) -> str:
    with pytest.raises(ContractTermsInvalid) as refused:
        einvoicing(party, **section)
    return str(refused.value)


def test_xrechnung_without_a_buyer_reference_is_refused_naming_the_field() -> None:
    assert refusal(format="XRECHNUNG_CII").startswith("einvoice.buyer_reference is required for XRECHNUNG_CII")
    assert refusal(format="XRECHNUNG_UBL").startswith("einvoice.buyer_reference is required for XRECHNUNG_UBL")
    accepted = einvoicing(format="XRECHNUNG_CII", buyer_reference="04011000-12345-67")
    assert (accepted.format, accepted.buyer_reference) == (EInvoiceFormat.XRECHNUNG_CII, "04011000-12345-67")
    assert accepted.electronic_address == ElectronicAddress("9930", "DE281045677")  # from its VAT id


def test_xrechnung_for_a_cpo_needs_its_contact_and_payout_account_as_the_seller_of_its_gutschriften() -> None:
    terms = {"format": "XRECHNUNG_CII", "buyer_reference": "SB-DESTN"}
    assert refusal(GERMAN_CPO, **terms).startswith("einvoice.contact (name, telephone, email) is required")
    assert "BR-DE-2" in refusal(GERMAN_CPO, **terms)
    without_account = EInvoiceParty("cpo-de-stn", "DE", "DE276543216", issues_in_its_name=True, payout_account=False)
    assert "IBAN" in refusal(without_account, **terms, contact=CONTACT)
    without_address = EInvoiceParty(
        "cpo-de-stn", "DE", "DE276543216", issues_in_its_name=True, structured_address=False
    )
    assert "city and postcode" in refusal(without_address, **terms, contact=CONTACT)
    assert einvoicing(GERMAN_CPO, **terms, contact=CONTACT).contact == Contact(**CONTACT)


def test_peppol_without_an_electronic_address_and_none_derivable_is_refused() -> None:
    italian = EInvoiceParty("dp-italia", "IT", "IT00743110157", issues_in_its_name=False)
    assert refusal(italian, format="PEPPOL_UBL").startswith("einvoice.electronic_address is required for PEPPOL_UBL")
    stated = einvoicing(italian, format="PEPPOL_UBL", electronic_address={"scheme": "0211", "id": "IT00743110157"})
    assert stated.electronic_address == ElectronicAddress("0211", "IT00743110157")
    # PEPPOL-EN16931-R003 wants a buyer reference: without one, the party's account with us.
    assert stated.buyer_reference == "dp-italia"


@pytest.mark.parametrize(
    ("section", "field"),
    [
        ({"format": "ZUGFERD"}, "einvoice.format must be FACTURX or XRECHNUNG_CII or"),
        ({"electronic_address": {"scheme": "1234", "id": "x"}}, "einvoice.electronic_address.scheme must be"),
        ({"electronic_address": {"scheme": "9930"}}, "einvoice.electronic_address.id is required"),
        ({"electronic_address": "9930:DE281045677"}, "einvoice.electronic_address must be an object"),
        ({"contact": {"name": "Accounts", "email": "ap@example.com"}}, "einvoice.contact needs a name, a telephone"),
        ({"contact": CONTACT | {"email": "nobody"}}, "einvoice.contact.email is not an e-mail address"),
        ({"buyer_reference": " "}, "einvoice.buyer_reference must be 1 to 200 printable characters"),
        ({"buyer_reference": "x" * 201}, "einvoice.buyer_reference must be 1 to 200 printable characters"),
        ({"leitweg_id": "04011000-1"}, "einvoice has no field leitweg_id"),
    ],
)
def test_each_field_is_checked_and_named(section: dict[str, Any], field: str) -> None:
    with pytest.raises(ContractTermsInvalid, match=f"^{field}"):
        einvoice_terms({"einvoice": section})


def test_the_terms_read_back_as_written() -> None:
    terms = EInvoiceTerms(
        format=EInvoiceFormat.XRECHNUNG_UBL,
        buyer_reference="04011000-12345-67",
        electronic_address=ElectronicAddress("0204", "04011000-12345-67"),
        contact=Contact(**CONTACT),
        legal_registration="HRB 123456",
    )
    assert einvoice_terms({"einvoice": terms.to_json()}) == terms
    assert EInvoiceTerms().to_json() == {}


@pytest.mark.parametrize(
    ("country", "vat_id", "fmt", "address"),
    [
        ("DE", "DE281045677", EInvoiceFormat.FACTURX, ElectronicAddress("9930", "DE281045677")),
        ("FR", "FR44732829320", EInvoiceFormat.FACTURX, ElectronicAddress("9957", "FR44732829320")),
        ("AT", "ATU12345675", EInvoiceFormat.FACTURX, ElectronicAddress("9914", "ATU12345675")),
        ("NL", "NL812345678B01", EInvoiceFormat.PEPPOL_UBL, ElectronicAddress("9944", "NL812345678B01")),
        ("BE", "BE0403019261", EInvoiceFormat.PEPPOL_UBL, ElectronicAddress("0208", "0403019261")),
        ("SE", "SE556036079301", EInvoiceFormat.PEPPOL_UBL, ElectronicAddress("0007", "5560360793")),
        ("NO", "NO974760673MVA", EInvoiceFormat.PEPPOL_UBL, ElectronicAddress("0192", "974760673")),
        ("DK", "DK13585628", EInvoiceFormat.PEPPOL_UBL, ElectronicAddress("0184", "13585628")),
        ("FI", "FI20774740", EInvoiceFormat.PEPPOL_UBL, ElectronicAddress("0213", "FI20774740")),
        ("NL", None, EInvoiceFormat.FACTURX, None),  # no VAT id, no address: no Peppol
        ("CH", "CHE109322551MWST", EInvoiceFormat.CII, ElectronicAddress("0183", "CHE109322551")),
        ("GB", "GB723456789", EInvoiceFormat.CII, ElectronicAddress("9932", "GB723456789")),
        ("GR", "EL094259216", EInvoiceFormat.CII, ElectronicAddress("9933", "EL094259216")),
        ("IT", "IT00743110157", EInvoiceFormat.CII, None),
    ],
)
def test_without_terms_the_country_decides(
    country: str, vat_id: str | None, fmt: EInvoiceFormat, address: ElectronicAddress | None
) -> None:
    assert electronic_address_from_vat_id(vat_id) == address
    assert default_format(country, has_electronic_address=address is not None) == fmt
    resolved = party_einvoicing({}, EInvoiceParty(f"dp-{country.lower()}", country, vat_id, issues_in_its_name=False))
    assert (resolved.format, resolved.electronic_address) == (fmt, address)


def test_self_billed_documents_are_never_peppol_bis() -> None:
    for type_code in TypeCode:
        expected = EInvoiceFormat.UBL if type_code.is_self_billed else EInvoiceFormat.PEPPOL_UBL
        assert document_format(EInvoiceFormat.PEPPOL_UBL, type_code) == expected
        assert document_format(EInvoiceFormat.XRECHNUNG_CII, type_code) == EInvoiceFormat.XRECHNUNG_CII


def test_onboarding_refuses_a_partner_lacking_what_its_format_needs() -> None:
    partner = NewDemandPartner("dp-fahrwerk", "Fahrwerk Mobility GmbH", "DE", "DE281045677", "EUR", MUNICH)
    terms = DemandPartnerTerms(
        share_percent=Decimal(15),
        share_basis=ShareBasis.COMMISSION,
        credit_limit=Decimal(1000),
        session_cap=Decimal(80),
        cadence=Cadence.PER_SESSION,
        einvoice=EInvoiceTerms(format=EInvoiceFormat.XRECHNUNG_CII),
    )
    with pytest.raises(FieldInvalid, match=r"^einvoice: einvoice.buyer_reference is required for XRECHNUNG_CII"):
        checked_terms(terms, partner)
    with_reference = EInvoiceTerms(format=EInvoiceFormat.XRECHNUNG_CII, buyer_reference="PO-4711")
    # Its revenue share is invoiced in its name: XRechnung states its contact as the seller's (BR-DE-2).
    with pytest.raises(FieldInvalid, match=r"^einvoice: einvoice.contact"):
        checked_terms(replace(terms, einvoice=with_reference), partner)
    no_share = replace(terms, einvoice=with_reference, share_percent=Decimal(0))
    assert checked_terms(no_share, partner).contract("EUR")["einvoice"] == {
        "format": "XRECHNUNG_CII",
        "buyer_reference": "PO-4711",
    }
