"""The demand partner's revenue share as a self-billed invoice, pure: the VAT of its service (where the
platform is established, at the standard rate: domestic for a German partner, reverse-charged for any
other), the session's line, where the plan puts it, and the entry that books its VAT balanced."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.fx.rates import FxRate
from domain.invoicing.chain import SessionSupply
from domain.invoicing.documents import Cadence, revenue_share_partner
from domain.invoicing.lines import InvoiceLine, credited
from domain.invoicing.revenue_share import revenue_share_line
from domain.ledger.entries import balances
from domain.settlement.contracts import RevenueShareTerms, ShareBasis
from domain.settlement.plan import plan_settlement
from domain.settlement.revenue_share import revenue_share_vat_entry, revenue_share_vat_key
from domain.vat.treatment import TaxParty, VatRegistrationMissing, VatTreatment, decide_service_vat
from persistence.vat_rates import vat_rate_table
from tests.unit.domain.test_settlement import PARTNER, PLATFORM
from tests.unit.domain.test_settlement_plan import booked, facts

RATES = vat_rate_table()
DAY = date(2026, 10, 30)
SUPPLY = SessionSupply("s-1", Decimal("21.700"), DAY, "CH", "Genève")
PARTNER_DE = TaxParty("Fahrwerk Mobility GmbH", "München", "DE", {"DE": "DE281045677"})
PARTNER_AT = TaxParty("Alpenflotte Leasing GmbH", "Wien", "AT", {"AT": "ATU12345675"})
PARTNER_CH = TaxParty("Velo Suisse AG", "Bern", "CH", {"CH": "CHE-109.322.551 MWST"})
PARTNER_GB = TaxParty("MotorBrit Fleet Ltd", "London", "GB", {"GB": "GB723456789"})
CHF_EUR = FxRate("CHF", "EUR", Decimal("1.0734"), DAY, "ECB")


def line(partner: TaxParty, share_minor: int, currency: str = "EUR", rate: FxRate | None = None) -> InvoiceLine:
    found = revenue_share_line(
        SUPPLY,
        partner=partner,
        platform=PLATFORM,
        currency=currency,
        share_minor=share_minor,
        rates=RATES,
        vat_currency="EUR",
        vat_rate=rate,
    )
    assert found is not None
    return found


def test_a_german_partner_charges_german_vat_at_the_standard_rate_wherever_the_session_charged() -> None:
    decision = decide_service_vat(PARTNER_DE, PLATFORM, supplied_on=DAY, rates=RATES)
    assert (decision.treatment, decision.place_of_supply, decision.percent) == (
        VatTreatment.DOMESTIC,
        "DE",
        Decimal(19),
    )
    assert (decision.supplier_vat_id, decision.customer_vat_id) == ("DE281045677", "DE312987657")


@pytest.mark.parametrize(
    ("partner", "vat_id"),
    [(PARTNER_AT, "ATU12345675"), (PARTNER_CH, "CHE109322551MWST"), (PARTNER_GB, "GB723456789")],
)
def test_any_other_partner_s_share_is_reverse_charged_by_the_platform(partner: TaxParty, vat_id: str) -> None:
    decision = decide_service_vat(partner, PLATFORM, supplied_on=DAY, rates=RATES)
    assert (decision.treatment, decision.place_of_supply, decision.rate) == (VatTreatment.REVERSE_CHARGE, "DE", None)
    assert (decision.supplier_vat_id, decision.customer_vat_id) == (vat_id, "DE312987657")
    assert decision.legal_note == "Reverse charge"


def test_a_service_carries_the_standard_rate_where_electricity_has_its_own() -> None:
    platform_ie = TaxParty("NetworkCore Ireland Ltd", "Dublin", "IE", {"IE": "IE6388047V"})
    partner_ie = TaxParty("Laoch Fleet Ltd", "Cork", "IE", {"IE": "IE8256796U"})
    decision = decide_service_vat(partner_ie, platform_ie, supplied_on=DAY, rates=RATES)
    assert (decision.treatment, decision.percent) == (VatTreatment.DOMESTIC, Decimal(23))  # charging: 9 %


def test_a_german_partner_without_a_valid_vat_id_cannot_be_self_billed() -> None:
    unregistered = TaxParty("Kleinfirma", "Köln", "DE")
    with pytest.raises(VatRegistrationMissing, match="no valid VAT id"):
        decide_service_vat(unregistered, PLATFORM, supplied_on=DAY, rates=RATES)


def test_the_line_is_the_session_s_share_with_its_vat_rounded_once() -> None:
    domestic = line(PARTNER_DE, 1234)
    assert (domestic.session_id, domestic.description) == ("s-1", "Revenue share, session s-1")
    assert (domestic.quantity, domestic.supplied_on, domestic.currency) == (Decimal("21.700"), DAY, "EUR")
    assert (domestic.net_minor, domestic.vat_minor, domestic.gross_minor) == (1234, 234, 1468)  # 2.3446
    reverse_charged = line(PARTNER_AT, 1234)
    assert (reverse_charged.vat_minor, reverse_charged.national.vat_minor) == (0, 0)


def test_a_share_in_another_currency_states_its_vat_in_euro_and_reverse_charge_needs_no_rate() -> None:
    domestic = line(PARTNER_DE, 5000, "CHF", CHF_EUR)
    assert domestic.vat_minor == 950
    assert (domestic.national.currency, domestic.national.vat_minor, domestic.national.rate) == ("EUR", 1020, CHF_EUR)
    reverse_charged = line(PARTNER_CH, 5000, "CHF")
    assert (reverse_charged.national.currency, reverse_charged.national.vat_minor) == ("EUR", 0)


def test_no_share_no_line() -> None:
    none = revenue_share_line(
        SUPPLY,
        partner=PARTNER_DE,
        platform=PLATFORM,
        currency="EUR",
        share_minor=0,
        rates=RATES,
        vat_currency="EUR",
        vat_rate=None,
    )
    assert none is None


def test_the_vat_entry_debits_input_vat_and_owes_it_to_the_partner() -> None:
    lines = [line(PARTNER_DE, 1234), line(PARTNER_DE, 999)]
    key = revenue_share_vat_key("RS-DP-FAHRWERK-000001")
    entry = revenue_share_vat_entry(key, demand_partner_id="dp-fahrwerk", currency="EUR", lines=lines)
    assert entry is not None
    assert entry.key == "revenue-share-RS-DP-FAHRWERK-000001:vat"
    postings = {(p.account, p.currency): p.amount_minor for p in entry.postings}
    assert postings == {
        ("platform:vat_recoverable:DE", "EUR"): 234 + 190,  # 2.3446 and 1.8981, each rounded once
        ("dp:dp-fahrwerk:revenue_share_payable", "EUR"): -424,
    }
    note = revenue_share_vat_entry("cn", demand_partner_id="dp-fahrwerk", currency="EUR", lines=[credited(lines[0])])
    assert note is not None
    assert {(p.account, p.amount_minor) for p in note.postings} == {
        ("platform:vat_recoverable:DE", -234),
        ("dp:dp-fahrwerk:revenue_share_payable", 234),
    }


def test_a_reverse_charged_document_books_nothing() -> None:
    lines = [line(PARTNER_AT, 1234), line(PARTNER_AT, 1)]
    assert revenue_share_vat_entry("k", demand_partner_id="dp-a", currency="EUR", lines=lines) is None


@given(
    st.lists(st.integers(min_value=1, max_value=10_000_000), min_size=1, max_size=20),
    st.sampled_from(["EUR", "CHF"]),
    st.booleans(),
)
def test_the_vat_entry_balances_in_every_currency_and_owes_the_document_s_vat(
    shares: list[int], currency: str, credit_note: bool
) -> None:
    lines = [line(PARTNER_DE, share, currency, None if currency == "EUR" else CHF_EUR) for share in shares]
    if credit_note:
        lines = [credited(one) for one in lines]
    entry = revenue_share_vat_entry("k", demand_partner_id="dp", currency=currency, lines=lines)
    vat = sum(int((Decimal(share) * Decimal("0.19")).quantize(Decimal(1), ROUND_HALF_UP)) for share in shares)
    if vat == 0:  # shares of a few cents: no VAT, nothing to book
        assert entry is None
        return
    assert entry is not None
    assert set(balances(entry.postings).values()) == {0}
    owed = sum(p.amount_minor for p in entry.postings if p.account == "dp:dp:revenue_share_payable")
    assert owed == sum(-one.vat_minor for one in lines) == (vat if credit_note else -vat)


def test_the_plan_puts_the_share_on_the_partner_s_monthly_self_billed_statement() -> None:
    plan = plan_settlement(facts("DE", "EUR", "EUR", 10_000, 10_000))
    planned = plan.revenue_share
    assert planned is not None
    assert (planned.issuer, planned.series, planned.recipient) == ("dp:dp", "RS-DP", "platform")
    assert (planned.self_billing, planned.statement_period) == (True, "2026-10")
    assert (planned.supplier, planned.customer) == (PARTNER, PLATFORM)
    assert planned.line.net_minor == plan.split.demand_partner_minor
    assert planned.line.net_minor == -booked(plan, "dp:dp:revenue_share_payable", "EUR")
    assert revenue_share_partner(planned.issuer) == "dp"


def test_a_correction_s_share_is_invoiced_on_its_own_and_no_share_has_no_document() -> None:
    corrected = plan_settlement(facts("DE", "EUR", "EUR", 10_000, 10_000, generation=1, cadence=Cadence.MONTHLY))
    assert corrected.revenue_share is not None
    assert corrected.revenue_share.statement_period is None
    no_share = RevenueShareTerms(Decimal(0), ShareBasis.COMMISSION)
    plan = plan_settlement(facts("DE", "EUR", "EUR", 10_000, 10_000, share=no_share))
    assert plan.entry is not None
    assert plan.revenue_share is None
