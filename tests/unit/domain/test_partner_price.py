"""What a partner is shown and quoted: the CPO price is the rating engine's for the same CDR, the total is
monotonic in energy and minutes, VAT only ever adds, components come in the AFIR order, and the commission
is part of the official price, never added to it."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.fx.rates import FxRate
from domain.money import to_minor
from domain.settlement.contracts import CommissionTerms
from domain.tariffs.model import Dimension, parse_tariff
from domain.tariffs.partner_price import (
    CpoSessionReport,
    PartnerTerms,
    QuoteImplausible,
    check_deliverable,
    cost_so_far,
    session_periods,
    session_price,
    unit_prices,
)
from domain.tariffs.rating import RatingPeriod, rate
from domain.vat.rates import VatCategory, VatRate
from domain.vat.treatment import VatDecision, VatTreatment

ZONE = ZoneInfo("Europe/Zurich")
START = datetime(2026, 6, 1, 6, 30, tzinfo=UTC)
CHF_TO_EUR = FxRate("CHF", "EUR", Decimal("1.0412345678"), date(2026, 5, 29), "ECB (cross via EUR)")


def vat(percent: str, treatment: VatTreatment = VatTreatment.DOMESTIC) -> VatDecision:
    rate_row = VatRate("CH", VatCategory.STANDARD, Decimal(percent), date(2024, 1, 1), "test", date(2024, 1, 1))
    charged = treatment == VatTreatment.DOMESTIC
    return VatDecision(treatment, "CH", rate_row if charged else None, "CHE-123.456.789 MWST", None)


TERMS = PartnerTerms("EUR", CommissionTerms(Decimal(8), Decimal("0.20"), Decimal("5.00")), CHF_TO_EUR, vat("8.1"))

prices = st.decimals(min_value=0, max_value=5, places=2)
steps = st.sampled_from([0, 1, 60, 300, 900])
energy_steps = st.sampled_from([0, 1, 100, 500])
kwhs = st.decimals(min_value=0, max_value=200, places=3)
minutes = st.integers(min_value=1, max_value=1440)
vat_percents = st.sampled_from(["0", "7.7", "8.1", "19", "25.5"])
treatments = st.sampled_from(list(VatTreatment))


@st.composite
def tariffs(draw: st.DrawFn) -> dict[str, Any]:
    """Day prices before 19:00 local, a fallback with a start fee and parking, sometimes a maximum price."""
    body: dict[str, Any] = {
        "id": "T1",
        "currency": "CHF",
        "elements": [
            {
                "price_components": [
                    {"type": "TIME", "price": draw(prices), "vat": "8.1", "step_size": draw(steps)},
                    {"type": "ENERGY", "price": draw(prices), "vat": "8.1", "step_size": draw(energy_steps)},
                ],
                "restrictions": {"start_time": "07:00", "end_time": "19:00"},
            },
            {
                "price_components": [
                    {"type": "PARKING_TIME", "price": draw(prices), "vat": "8.1", "step_size": draw(steps)},
                    {"type": "FLAT", "price": draw(prices), "vat": "8.1", "step_size": 1},
                    {"type": "ENERGY", "price": draw(prices), "vat": "8.1", "step_size": draw(energy_steps)},
                    {"type": "TIME", "price": draw(prices), "vat": "8.1", "step_size": draw(steps)},
                ]
            },
        ],
    }
    if draw(st.booleans()):
        body["max_price"] = {"excl_vat": draw(st.decimals(min_value=1, max_value=50, places=2))}
    return body


@st.composite
def terms(draw: st.DrawFn) -> PartnerTerms:
    fx = draw(st.sampled_from([None, CHF_TO_EUR]))
    return PartnerTerms(
        "CHF" if fx is None else "EUR",
        CommissionTerms(draw(st.decimals(min_value=0, max_value=30, places=1))),
        fx,
        vat(draw(vat_percents), draw(treatments)),
    )


@settings(max_examples=150, deadline=None)
@given(tariffs(), terms(), kwhs, minutes, st.integers(min_value=0, max_value=23))
def test_the_cpo_price_is_the_rating_engines_for_the_same_cdr(
    body: dict[str, Any], partner: PartnerTerms, kwh: Decimal, minutes_charged: int, hour: int
) -> None:
    tariff = parse_tariff(body)
    start = START.replace(hour=hour)
    quoted = session_price(tariff, kwh=kwh, minutes=minutes_charged, start=start, time_zone=ZONE, terms=partner)
    end = start + timedelta(minutes=minutes_charged)
    rated = rate(tariff, session_periods(kwh, minutes_charged, start), start=start, end=end, time_zone=ZONE)
    assert quoted.rated == rated
    assert quoted.total_incl_vat >= quoted.net_minor / Decimal(100)  # VAT only adds
    assert quoted.platform_fee_minor <= to_minor(rated.total_cost.excl_vat, "CHF")  # taken from the price


@settings(max_examples=150, deadline=None)
@given(tariffs(), terms(), kwhs, kwhs, minutes, minutes)
def test_the_total_is_monotonic_in_energy_and_minutes(
    body: dict[str, Any], partner: PartnerTerms, kwh_a: Decimal, kwh_b: Decimal, min_a: int, min_b: int
) -> None:
    tariff = parse_tariff(body)
    low = session_price(tariff, kwh=min(kwh_a, kwh_b), minutes=min(min_a, min_b), start=START, time_zone=ZONE,
                        terms=partner)  # fmt: skip
    high = session_price(tariff, kwh=max(kwh_a, kwh_b), minutes=max(min_a, min_b), start=START, time_zone=ZONE,
                         terms=partner)  # fmt: skip
    assert low.total_incl_vat <= high.total_incl_vat
    assert low.net_minor <= high.net_minor


@settings(max_examples=100, deadline=None)
@given(tariffs(), terms())
def test_unit_prices_come_in_the_afir_order_and_vat_only_adds(body: dict[str, Any], partner: PartnerTerms) -> None:
    tariff = parse_tariff(body)
    for element in tariff.elements:
        shown = unit_prices(element, tariff.currency, partner)
        order = [p.type for p in shown]
        assert order == sorted(
            order, key=[Dimension.ENERGY, Dimension.TIME, Dimension.FLAT, Dimension.PARKING_TIME].index
        )
        for price in shown:
            assert price.partner_incl_vat >= price.partner_excl_vat >= 0
            assert price.partner_incl_vat == price.partner_excl_vat + price.partner_vat


def test_a_quote_worked_by_hand() -> None:
    """0.50 CHF per kWh and 0.10 CHF per minute (6.00/h), 20 kWh over 30 minutes at 08:30 Zurich: 13.00 CHF.
    At 1.0412345678 EUR per CHF, 13.536049 → 13.54 EUR; 8.1 % VAT 1.0967 → 1.10; 14.64 EUR in all. The
    commission, 8 % of 13.00 = 1.04 CHF, is inside the CPO's price."""
    tariff = parse_tariff(
        {
            "id": "T2",
            "currency": "CHF",
            "elements": [
                {
                    "price_components": [
                        {"type": "TIME", "price": "6.00", "vat": "8.1", "step_size": 60},
                        {"type": "ENERGY", "price": "0.50", "vat": "8.1", "step_size": 1},
                    ]
                }
            ],
        }
    )
    quoted = session_price(tariff, kwh=Decimal(20), minutes=30, start=START, time_zone=ZONE, terms=TERMS)
    assert quoted.rated.total_cost.excl_vat == Decimal("13.00")
    assert quoted.platform_fee_minor == 104
    assert (quoted.currency, quoted.net_minor, quoted.vat_minor) == ("EUR", 1354, 110)
    assert quoted.total_incl_vat == Decimal("14.64")
    energy, time = unit_prices(tariff.elements[0], "CHF", TERMS)
    assert (energy.type, time.type) == (Dimension.ENERGY, Dimension.TIME)  # AFIR order, not the CPO's
    assert energy.partner_excl_vat == Decimal("0.5206")  # 0.50 x 1.0412345678
    assert energy.partner_vat == Decimal("0.0422")
    assert energy.partner_incl_vat == Decimal("0.5628")


def test_a_reverse_charged_partner_is_quoted_without_vat() -> None:
    tariff = parse_tariff({"id": "T3", "currency": "CHF", "elements": [{"price_components": [
        {"type": "FLAT", "price": "2.00", "vat": "8.1", "step_size": 1}]}]})  # fmt: skip
    reverse = PartnerTerms("CHF", CommissionTerms(Decimal(8)), None, vat("8.1", VatTreatment.REVERSE_CHARGE))
    quoted = session_price(tariff, kwh=Decimal(5), minutes=10, start=START, time_zone=ZONE, terms=reverse)
    assert (quoted.net_minor, quoted.vat_minor, quoted.total_incl_vat) == (200, 0, Decimal("2.00"))
    assert quoted.fx is None


def test_a_quote_beyond_what_the_evse_can_deliver_is_implausible() -> None:
    check_deliverable(Decimal(22), 60, 22_000)  # exactly its power for an hour
    check_deliverable(Decimal(500), 1, None)  # power unknown: not checked
    with pytest.raises(QuoteImplausible) as refused:
        check_deliverable(Decimal("22.0001"), 60, 22_000)
    assert refused.value.field == "kwh"


@settings(max_examples=150, deadline=None)
@given(tariffs(), terms(), kwhs, minutes)
def test_the_cost_so_far_of_a_report_with_energy_only_is_the_quote_for_it(
    body: dict[str, Any], partner: PartnerTerms, kwh: Decimal, minutes_charged: int
) -> None:
    tariff = parse_tariff(body)
    report = CpoSessionReport(start=START, last_updated=START + timedelta(minutes=minutes_charged), kwh=kwh)
    so_far = cost_so_far(tariff, report, time_zone=ZONE, terms=partner)
    quoted = session_price(tariff, kwh=kwh, minutes=minutes_charged, start=START, time_zone=ZONE, terms=partner)
    assert (so_far.currency, so_far.incl_vat) == (partner.billing_currency, quoted.total_incl_vat)
    assert so_far.excl_vat == Decimal(quoted.net_minor) / 100
    assert so_far.as_of == report.last_updated


HAND_TARIFF = {
    "id": "T4",
    "currency": "CHF",
    "elements": [{"price_components": [
        {"type": "TIME", "price": "6.00", "vat": "8.1", "step_size": 60},
        {"type": "ENERGY", "price": "0.50", "vat": "8.1", "step_size": 1}]}],
}  # fmt: skip


def test_the_cpos_own_total_cost_is_taken_as_reported() -> None:
    """10.00 CHF at 1.0412345678 is 10.41 EUR, with 8.1 % VAT 0.84: 11.25 EUR, whatever the tariff says."""
    report = CpoSessionReport(
        start=START, last_updated=START + timedelta(minutes=5), kwh=Decimal(1), total_cost_excl_vat=Decimal("10.00")
    )
    so_far = cost_so_far(parse_tariff(HAND_TARIFF), report, time_zone=ZONE, terms=TERMS)
    assert (so_far.currency, so_far.excl_vat, so_far.incl_vat) == ("EUR", Decimal("10.41"), Decimal("11.25"))


def test_the_cpos_charging_periods_are_rated_when_it_gave_no_total() -> None:
    """20 kWh over 30 minutes reported as two periods: 13.00 CHF as in the quote worked by hand, 14.64 EUR."""
    periods = (
        RatingPeriod(START, (("ENERGY", Decimal(5)), ("TIME", Decimal("0.25")))),
        RatingPeriod(START + timedelta(minutes=15), (("ENERGY", Decimal(15)), ("TIME", Decimal("0.25")))),
    )
    report = CpoSessionReport(start=START, last_updated=START + timedelta(minutes=30), kwh=Decimal(20), periods=periods)
    so_far = cost_so_far(parse_tariff(HAND_TARIFF), report, time_zone=ZONE, terms=TERMS)
    assert (so_far.excl_vat, so_far.incl_vat) == (Decimal("13.54"), Decimal("14.64"))


def test_a_report_before_any_charge_costs_nothing_yet() -> None:
    report = CpoSessionReport(start=START, last_updated=START, kwh=Decimal(0))
    so_far = cost_so_far(parse_tariff(HAND_TARIFF), report, time_zone=ZONE, terms=TERMS)
    assert (so_far.excl_vat, so_far.incl_vat, so_far.as_of) == (Decimal(0), Decimal(0), START)
