"""VAT, pure: effective-dated rates from the shipped table, the electricity rate EV charging carries (the
standard rate where a country has none), the treatment of each leg by charger country, contract and party
status, and VAT ids checked by python-stdnum."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum.eu.vat import MEMBER_STATES

from domain.invoicing.chain import SessionSupply, chain_lines
from domain.vat.parties import (
    CountryUnknown,
    VatIdInvalid,
    country_name,
    display_vat_id,
    national_currency,
    validate_vat_id,
)
from domain.vat.rates import (
    VatCategory,
    VatRate,
    VatRateMissing,
    VatRateTable,
    VatRateTableInvalid,
    parse_rate_row,
)
from domain.vat.treatment import TaxParty, VatRegistrationMissing, VatTreatment, decide_vat
from persistence.vat_rates import vat_rate_rows, vat_rate_table

DAY = date(2026, 10, 30)
PLATFORM = TaxParty("NetworkCore GmbH", "Berlin", "DE", {"DE": "DE312987657", "CH": "CHE-301.845.272 MWST"})
CPO_DE = TaxParty("Stromnetz Laden GmbH", "München", "DE", {"DE": "DE276543216"})
PARTNER_DE = TaxParty("Fahrwerk Mobility GmbH", "München", "DE", {"DE": "DE281045677"})
PARTNER_FR = TaxParty("Parcours SARL", "Lyon", "FR", {"FR": "FR19812345676"})
DEALER_FR = TaxParty("Voyageo SAS", "Lyon", "FR", {"FR": "FR44732829320"}, taxable_dealer=True)
PRIVATE_FR = TaxParty("A driver", "Paris", "FR")
PLATFORM_IE_GR = TaxParty(
    "NetworkCore GmbH", "Berlin", "DE", {"DE": "DE312987657", "IE": "IE6388047V", "GR": "EL094014201"}
)
CPO_IE = TaxParty("Laoch Charging Ltd", "Cork", "IE", {"IE": "IE8256796U"})
CPO_GR = TaxParty("Fortisi AE", "Athina", "GR", {"GR": "EL094019245"})
COVERED = sorted({"GR" if cc == "el" else cc.upper() for cc in MEMBER_STATES if cc != "xi"} | {"CH", "NO", "GB"})


def test_the_shipped_table_covers_the_eu_switzerland_norway_and_the_uk() -> None:
    table = vat_rate_table()
    assert len(COVERED) == 30
    for country in COVERED:
        standard = table.rate(country, DAY)
        assert Decimal(15) <= standard.percent <= Decimal(27) or country == "CH"
        assert standard.source
        assert standard.category == VatCategory.STANDARD
    assert not table.covers("US")


@pytest.mark.parametrize(
    ("country", "on", "percent"),
    [
        ("CH", date(2023, 12, 31), "7.7"),
        ("CH", date(2024, 1, 1), "8.1"),
        ("DE", date(2020, 8, 1), "16"),
        ("DE", date(2021, 1, 1), "19"),
        ("FI", date(2024, 8, 31), "24"),
        ("FI", date(2024, 9, 1), "25.5"),
        ("SK", date(2025, 1, 1), "23"),
        ("EE", date(2025, 7, 1), "24"),
        ("RO", date(2025, 8, 1), "21"),
        ("FR", DAY, "20"),
        ("GB", DAY, "20"),
        ("NO", DAY, "25"),
    ],
)
def test_the_rate_in_force_is_the_latest_row_on_or_before_the_day(country: str, on: date, percent: str) -> None:
    assert vat_rate_table().rate(country, on).percent == Decimal(percent)


@pytest.mark.parametrize(
    ("country", "on", "category", "percent"),
    [
        ("IE", date(2020, 8, 31), VatCategory.STANDARD, "23"),
        ("IE", date(2020, 9, 1), VatCategory.STANDARD, "21"),
        ("IE", date(2021, 2, 28), VatCategory.STANDARD, "21"),
        ("IE", date(2021, 3, 1), VatCategory.STANDARD, "23"),
        ("IE", date(2003, 1, 1), VatCategory.REDUCED, "13.5"),
        ("GR", date(2011, 1, 1), VatCategory.REDUCED, "13"),
        ("PT", date(2010, 7, 1), VatCategory.REDUCED, "13"),
        ("LT", date(2025, 12, 31), VatCategory.REDUCED, "9"),
        ("LT", date(2026, 1, 1), VatCategory.REDUCED, "12"),
    ],
)
def test_the_corrected_rows(country: str, on: date, category: VatCategory, percent: str) -> None:
    assert vat_rate_table().rate(country, on, category).percent == Decimal(percent)


@pytest.mark.parametrize(
    ("country", "before"),
    [("IE", date(2002, 12, 31)), ("GR", date(2010, 12, 31)), ("PT", date(2010, 6, 30))],
)
def test_the_reduced_rates_start_no_earlier_than_their_source(country: str, before: date) -> None:
    with pytest.raises(VatRateMissing, match="the table starts"):
        vat_rate_table().rate(country, before, VatCategory.REDUCED)


@pytest.mark.parametrize(
    ("country", "on", "category", "percent"),
    [
        ("IE", date(2022, 4, 30), VatCategory.ELECTRICITY, "13.5"),
        ("IE", date(2022, 5, 1), VatCategory.ELECTRICITY, "9"),
        ("IE", date(2030, 12, 31), VatCategory.ELECTRICITY, "9"),
        ("IE", date(2031, 1, 1), VatCategory.ELECTRICITY, "13.5"),
        ("GR", date(2023, 10, 11), VatCategory.STANDARD, "24"),
        ("GR", date(2023, 10, 12), VatCategory.ELECTRICITY, "6"),
        ("HR", DAY, VatCategory.ELECTRICITY, "13"),
        ("LU", date(2023, 6, 1), VatCategory.ELECTRICITY, "7"),
        ("LU", DAY, VatCategory.ELECTRICITY, "8"),
        ("MT", DAY, VatCategory.ELECTRICITY, "5"),
        ("DE", DAY, VatCategory.STANDARD, "19"),
        ("FR", DAY, VatCategory.STANDARD, "20"),
        ("CH", DAY, VatCategory.STANDARD, "8.1"),
    ],
)
def test_charging_carries_the_electricity_rate_where_the_country_has_one(
    country: str, on: date, category: VatCategory, percent: str
) -> None:
    rate = vat_rate_table().electricity_rate(country, on)
    assert (rate.country, rate.category, rate.percent) == (country, category, Decimal(percent))


def test_unconfirmed_electricity_rates_say_so_in_their_source() -> None:
    unconfirmed = {
        r.country for r in vat_rate_rows() if r.category == VatCategory.ELECTRICITY and "tax adviser" in r.source
    }
    assert unconfirmed == {"HR", "LU", "MT"}
    assert "E.2060" in vat_rate_table().electricity_rate("GR", DAY).source
    assert "31 December 2030" in vat_rate_table().electricity_rate("IE", DAY).source


def test_the_electricity_rate_falls_back_to_the_standard_rate() -> None:
    def row(category: str, percent: str, valid_from: str) -> VatRate:
        return parse_rate_row(
            {"country": "IE", "category": category, "rate": percent, "valid_from": valid_from}
            | {"source": "test", "source_date": "2020-01-01"}
        )

    table = VatRateTable([row("STANDARD", "23", "2012-01-01"), row("ELECTRICITY", "9", "2022-05-01")])
    assert table.electricity_rate("ie", date(2022, 4, 30)).percent == Decimal(23)
    assert table.electricity_rate("IE", date(2022, 5, 1)).percent == Decimal(9)
    assert VatRateTable([row("STANDARD", "23", "2012-01-01")]).electricity_rate("IE", DAY).percent == Decimal(23)
    with pytest.raises(VatRateMissing, match="no STANDARD VAT rate for IE on 2011-12-31"):
        table.electricity_rate("IE", date(2011, 12, 31))
    with pytest.raises(VatRateMissing, match="no STANDARD VAT rate for US"):
        table.electricity_rate("US", DAY)


def first_priced_day(country: str) -> date:
    """The first day the table can price a charge in ``country``: its first standard or electricity row."""
    return min(r.valid_from for r in vat_rate_rows() if r.country == country and r.category != VatCategory.REDUCED)


@given(st.sampled_from(COVERED), st.integers(min_value=0, max_value=40 * 366))
def test_every_covered_country_prices_charging_every_day_since_its_first_row(country: str, offset: int) -> None:
    on = first_priced_day(country) + timedelta(days=offset)
    table = vat_rate_table()
    rate = table.electricity_rate(country, on)
    in_force = [r for r in vat_rate_rows() if r.country == country and r.valid_from <= on]
    has_electricity = any(r.category == VatCategory.ELECTRICITY for r in in_force)
    assert rate.category == (VatCategory.ELECTRICITY if has_electricity else VatCategory.STANDARD)
    assert rate == max((r for r in in_force if r.category == rate.category), key=lambda r: r.valid_from)
    if any(r.category == VatCategory.STANDARD for r in in_force):
        assert rate.percent <= table.rate(country, on).percent


@st.composite
def one_country_tables(draw: st.DrawFn) -> list[VatRate]:
    rows = []
    for category in (VatCategory.STANDARD, VatCategory.ELECTRICITY):
        days = draw(st.sets(st.dates(date(2000, 1, 1), date(2040, 12, 31)), max_size=4))
        for valid_from in days:
            percent = draw(st.decimals(min_value=0, max_value=30, places=1))
            rows.append(VatRate("MT", category, percent, valid_from, "test", valid_from))
    return rows


@given(one_country_tables(), st.dates(date(1999, 1, 1), date(2041, 12, 31)))
def test_the_electricity_rate_is_the_latest_electricity_row_else_the_latest_standard_row(
    rows: list[VatRate], on: date
) -> None:
    def latest(category: VatCategory) -> VatRate | None:
        earlier = [r for r in rows if r.category == category and r.valid_from <= on]
        return max(earlier, key=lambda r: r.valid_from, default=None)

    expected = latest(VatCategory.ELECTRICITY) or latest(VatCategory.STANDARD)
    table = VatRateTable(rows)
    if expected is None:
        with pytest.raises(VatRateMissing):
            table.electricity_rate("MT", on)
    else:
        assert table.electricity_rate("MT", on) == expected


def test_reduced_rates_are_kept_too() -> None:
    assert vat_rate_table().rate("DE", DAY, VatCategory.REDUCED).percent == Decimal(7)
    with pytest.raises(VatRateMissing, match="no REDUCED VAT rate for DK"):
        vat_rate_table().rate("DK", DAY, VatCategory.REDUCED)


def test_a_future_rate_change_is_a_new_row() -> None:
    row = {"country": "CH", "category": "STANDARD", "source": "test", "source_date": "2026-01-01"}
    table = VatRateTable(
        [
            parse_rate_row(row | {"rate": "8.1", "valid_from": "2024-01-01"}),
            parse_rate_row(row | {"rate": "8.8", "valid_from": "2027-01-01"}),
        ]
    )
    assert table.rate("CH", date(2026, 12, 31)).percent == Decimal("8.1")
    assert table.rate("CH", date(2027, 1, 1)).percent == Decimal("8.8")
    with pytest.raises(VatRateMissing, match="the table starts 2024-01-01"):
        table.rate("CH", date(2023, 6, 1))
    with pytest.raises(VatRateTableInvalid, match="start on the same day"):
        VatRateTable([parse_rate_row(row | {"rate": "8.1", "valid_from": "2024-01-01"})] * 2)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"country": "XX"}, "not an ISO 3166-1 alpha-2"),
        ({"rate": "ten"}, "VAT rate row"),
        ({"rate": "100"}, "percentage in"),
        ({"category": "SUPER"}, "VAT rate row"),
        ({"valid_from": "2024-13-01"}, "VAT rate row"),
        ({"source": " "}, "with a source"),
    ],
)
def test_a_bad_rate_row_is_refused(change: dict[str, str], message: str) -> None:
    row = {"country": "DE", "category": "STANDARD", "rate": "19", "valid_from": "2021-01-01"}
    row |= {"source": "test", "source_date": "2021-01-01"} | change
    with pytest.raises(VatRateTableInvalid, match=message):
        parse_rate_row(row)


def decide(supplier: TaxParty, customer: TaxParty, charger: str) -> tuple[VatTreatment, str, Decimal]:
    decision = decide_vat(supplier, customer, charger_country=charger, supplied_on=DAY, rates=vat_rate_table())
    return decision.treatment, decision.place_of_supply, decision.percent


def test_domestic_german_charging_carries_german_vat_on_both_legs() -> None:
    assert decide(CPO_DE, PLATFORM, "DE") == (VatTreatment.DOMESTIC, "DE", Decimal(19))
    assert decide(PLATFORM, PARTNER_DE, "DE") == (VatTreatment.DOMESTIC, "DE", Decimal(19))


def test_the_charger_decides_the_place_not_the_customer() -> None:
    assert decide(PLATFORM, PARTNER_FR, "DE") == (VatTreatment.DOMESTIC, "DE", Decimal(19))
    decision = decide_vat(PLATFORM, PARTNER_FR, charger_country="DE", supplied_on=DAY, rates=vat_rate_table())
    assert decision.customer_vat_id == "FR19812345676"  # shown, though not required for domestic VAT


def test_a_taxable_dealer_is_supplied_where_it_is_established_and_self_accounts() -> None:
    decision = decide_vat(PLATFORM, DEALER_FR, charger_country="DE", supplied_on=DAY, rates=vat_rate_table())
    assert (decision.treatment, decision.place_of_supply, decision.percent) == (
        VatTreatment.REVERSE_CHARGE,
        "FR",
        Decimal(0),
    )
    assert decision.legal_note == "Reverse charge"
    assert decision.customer_vat_id == "FR44732829320"


def test_a_business_customer_registered_where_a_foreign_supplier_is_not_self_accounts() -> None:
    assert decide(PLATFORM, PARTNER_FR, "FR")[0] == VatTreatment.REVERSE_CHARGE


def test_a_supplier_registered_abroad_charges_that_country_s_vat() -> None:
    assert decide(PLATFORM, PARTNER_DE, "CH") == (VatTreatment.DOMESTIC, "CH", Decimal("8.1"))
    decision = decide_vat(PLATFORM, PARTNER_DE, charger_country="CH", supplied_on=DAY, rates=vat_rate_table())
    assert decision.supplier_vat_id == "CHE301845272MWST"


def test_charging_in_ireland_and_greece_carries_their_electricity_rate_on_both_legs() -> None:
    assert decide(CPO_IE, PLATFORM_IE_GR, "IE") == (VatTreatment.DOMESTIC, "IE", Decimal(9))
    assert decide(PLATFORM_IE_GR, PARTNER_DE, "IE") == (VatTreatment.DOMESTIC, "IE", Decimal(9))
    assert decide(CPO_GR, PLATFORM_IE_GR, "GR") == (VatTreatment.DOMESTIC, "GR", Decimal(6))
    assert decide(PLATFORM_IE_GR, PARTNER_DE, "GR") == (VatTreatment.DOMESTIC, "GR", Decimal(6))
    assert decide(PLATFORM_IE_GR, PARTNER_FR, "GR")[2] == Decimal(6)


def test_an_irish_session_worked_by_hand() -> None:
    """EUR 10.00 net at an Irish charger, EUR 9.20 to the CPO: 9 % electricity VAT on both legs, not 23 %."""
    lines = chain_lines(
        SessionSupply("s-ie", Decimal("24.500"), DAY, "IE", "Cork"),
        cpo=CPO_IE,
        platform=PLATFORM_IE_GR,
        partner=PARTNER_DE,
        tariff_currency="EUR",
        cpo_net_minor=920,
        billing_currency="EUR",
        billed_net_minor=1000,
        rates=vat_rate_table(),
        national_currency="EUR",
        national_rates={},
    )
    bought, sold = lines.cpo_to_platform, lines.platform_to_partner
    assert (bought.vat_minor, bought.gross_minor) == (83, 1003)  # 9.20 x 9 % = 0.828
    assert (sold.vat_minor, sold.gross_minor) == (90, 1090)  # 10.00 x 9 % = 0.90 (at 23 %: 2.30)


def test_charging_outside_the_vat_area_is_out_of_scope() -> None:
    decision = decide_vat(PLATFORM, PARTNER_DE, charger_country="US", supplied_on=DAY, rates=vat_rate_table())
    assert (decision.treatment, decision.percent) == (VatTreatment.OUT_OF_SCOPE, Decimal(0))
    assert decision.legal_note is not None


def test_nobody_may_invoice_a_supply_where_the_supplier_is_unregistered_and_the_customer_private() -> None:
    with pytest.raises(VatRegistrationMissing, match="no VAT registration in FR"):
        decide(PLATFORM, PRIVATE_FR, "FR")


def test_an_invalid_vat_id_counts_as_none() -> None:
    fake = TaxParty("Fake SAS", "Lyon", "FR", {"FR": "FR00000000000"}, taxable_dealer=True)
    assert fake.vat_id_in("FR") is None
    assert decide(PLATFORM, fake, "DE") == (VatTreatment.DOMESTIC, "DE", Decimal(19))


@pytest.mark.parametrize(
    ("country", "raw", "compact"),
    [
        ("DE", "DE 281 045 677", "DE281045677"),
        ("CH", "CHE-109.322.551 MWST", "CHE109322551MWST"),
        ("FR", "FR 44 732829320", "FR44732829320"),
        ("GB", "GB723456789", "GB723456789"),
        ("AT", "ATU12345675", "ATU12345675"),
    ],
)
def test_vat_ids_are_checked_and_compacted(country: str, raw: str, compact: str) -> None:
    assert validate_vat_id(country, raw) == compact


@pytest.mark.parametrize(
    ("country", "raw", "message"),
    [
        ("DE", "DE281045678", "not a valid VAT id of DE"),
        ("FR", "DE281045677", "must start with FR"),
        ("DE", "", "must start with DE"),
    ],
)
def test_bad_vat_ids_are_refused(country: str, raw: str, message: str) -> None:
    with pytest.raises(VatIdInvalid, match=message):
        validate_vat_id(country, raw)


def test_countries_and_currencies_come_from_the_libraries() -> None:
    assert country_name("CH") == "Switzerland"
    assert national_currency("CH", DAY) == "CHF"
    assert national_currency("DE", DAY) == "EUR"
    assert national_currency("GB", DAY) == "GBP"
    assert display_vat_id("CHE109322551MWST") == "CHE-109.322.551 MWST"
    with pytest.raises(CountryUnknown):
        country_name("XX")
