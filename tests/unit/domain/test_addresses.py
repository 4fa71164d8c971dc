"""Structured postal addresses (ISO 20022 PostalAddress24 parts): what onboarding accepts and refuses, the
line invoices print in each country's order, and the payment terms contracts carry."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.invoicing.creditor_reference import is_valid
from domain.invoicing.documents import Cadence
from domain.invoicing.payment import DEFAULT_PAYMENT_TERMS_DAYS, payment_instructions
from domain.partners import (
    DemandPartnerTerms,
    FieldInvalid,
    NewDemandPartner,
    PostalAddress,
    checked_address,
    checked_country,
    checked_terms,
)
from domain.payouts.bank import AddressMissing, bank_account, payable_account
from domain.settlement.contracts import ContractTermsInvalid, ShareBasis, invoicing_terms

KEIZERSGRACHT = PostalAddress("Keizersgracht", "1015 CW", "Amsterdam", building_number="100")


def test_the_building_number_prints_where_the_country_puts_it() -> None:
    assert KEIZERSGRACHT.line("NL") == "Keizersgracht 100, 1015 CW Amsterdam"
    wharf = PostalAddress("Wharf Road", "N1 7GR", "London", building_number="12")
    assert wharf.line("GB") == "12 Wharf Road, London N1 7GR"
    quai = PostalAddress("quai Jules Courmont", "69002", "Lyon", building_number="5")
    assert quai.line("FR") == "5 quai Jules Courmont, 69002 Lyon"
    # Without a building number (or with it inside the street, as SPS still tolerates) the street is as given.
    assert PostalAddress("Damrak 1", "1012 LG", "Amsterdam").line("NL") == "Damrak 1, 1012 LG Amsterdam"


def test_an_address_is_trimmed_and_an_empty_building_number_is_none() -> None:
    checked = checked_address(PostalAddress(" Keizersgracht ", " 1015 CW", "Amsterdam ", building_number="  "))
    assert checked == PostalAddress("Keizersgracht", "1015 CW", "Amsterdam", building_number=None)
    assert checked_address(KEIZERSGRACHT) == KEIZERSGRACHT


@pytest.mark.parametrize(
    ("address", "field"),
    [
        (PostalAddress("Keizersgracht", "1015 CW", ""), "city"),
        (PostalAddress("Keizersgracht", "1015 CW", "   "), "city"),
        (PostalAddress("Keizersgracht", "1015 CW", "A" * 36), "city"),  # TwnNm is Max35Text
        (PostalAddress("Keizersgracht", "1015 CW", "Amsterdam", building_number="1" * 17), "building_number"),
        (PostalAddress("K" * 71, "1015 CW", "Amsterdam"), "street"),
        (PostalAddress("Keizersgracht", "1" * 17, "Amsterdam"), "postcode"),
        (PostalAddress("Keizersgracht", "1015 CW", "Amster\ndam"), "city"),
    ],
)
def test_what_a_payment_file_could_not_carry_is_refused_with_the_field(address: PostalAddress, field: str) -> None:
    with pytest.raises(FieldInvalid, match=rf"^{field}: "):
        checked_address(address)


def test_a_building_number_of_sixteen_characters_is_accepted() -> None:
    address = PostalAddress("Keizersgracht", "1015 CW", "Amsterdam", building_number="1" * 16)
    assert checked_address(address).building_number == "1" * 16


@pytest.mark.parametrize("country", ["XX", "NLD", "", "N1"])
def test_a_country_is_an_iso_alpha_2_code(country: str) -> None:
    with pytest.raises(FieldInvalid, match=r"^country: "):
        checked_country(country)
    assert checked_country(" nl ") == "NL"


def test_a_payee_without_a_town_cannot_be_paid() -> None:
    account = bank_account("Borne SAS", "FR", "FR7630006000011234567890189", None)
    with pytest.raises(AddressMissing, match="Borne SAS has no postal address"):
        payable_account(account)
    with pytest.raises(AddressMissing):
        payable_account(bank_account("Borne SAS", "FR", account.iban, None, PostalAddress("Rue X", "69002", " ")))
    located = bank_account("Borne SAS", "FR", account.iban, None, PostalAddress("Rue X", "69002", "Lyon"))
    assert payable_account(located) is located
    assert AddressMissing.code == "ADDRESS_MISSING"


def test_payment_terms_come_from_the_contract_with_a_default_of_fourteen_days() -> None:
    assert invoicing_terms({}).payment_terms_days == DEFAULT_PAYMENT_TERMS_DAYS == 14
    assert invoicing_terms({"invoicing": {"payment_terms_days": 30}}).payment_terms_days == 30
    for bad in (-1, 121, "30", True, 1.5):
        with pytest.raises(ContractTermsInvalid, match="payment_terms_days"):
            invoicing_terms({"invoicing": {"payment_terms_days": bad}})
    terms = DemandPartnerTerms(
        share_percent=Decimal(15),
        share_basis=ShareBasis.COMMISSION,
        credit_limit=Decimal(1000),
        session_cap=Decimal(80),
        cadence=Cadence.MONTHLY,
        payment_terms_days=30,
    )
    partner = NewDemandPartner("dp-test", "Test B.V.", "NL", "NL812345678B01", "EUR", KEIZERSGRACHT)
    assert invoicing_terms(checked_terms(terms, partner).contract("EUR")).payment_terms_days == 30
    with pytest.raises(FieldInvalid, match=r"^payment_terms_days: "):
        checked_terms(replace(terms, payment_terms_days=365), partner)


@given(
    issued=st.dates(min_value=date(2020, 1, 1), max_value=date(2099, 12, 31)),
    days=st.integers(min_value=0, max_value=120),
    sequence=st.integers(min_value=1, max_value=999_999),
)
def test_an_invoice_is_due_its_terms_after_issue_and_quotes_the_rf_of_its_number(
    issued: date, days: int, sequence: int
) -> None:
    number = f"NC-{sequence:06d}"
    account = bank_account("NetworkCore GmbH", "DE", "DE02100500000054540402", "BELADEBEXXX")
    payment = payment_instructions(number, issued, days, "EUR", {"EUR": account})
    assert (payment.due_date - issued).days == days
    assert is_valid(payment.reference)
    assert payment.reference.endswith(number.replace("-", ""))
    assert payment.account == account
    assert payment_instructions(number, issued, days, "GBP", {"EUR": account}).account is None
