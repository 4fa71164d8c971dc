"""Invariants of rating: never negative, monotonic in energy and time, clamps hold, step rounding never
bills less than consumed, and splitting a period where nothing changes does not change the price."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.tariffs.model import parse_tariff
from domain.tariffs.rating import FOUR_DECIMALS, RatedSession, RatingPeriod, rate

ZONE = ZoneInfo("Europe/Zurich")
START = datetime(2026, 6, 1, 8, tzinfo=UTC)

prices = st.decimals(min_value=0, max_value=5, places=2)
vats = st.one_of(st.none(), st.decimals(min_value=0, max_value=25, places=1))
steps = st.sampled_from([0, 1, 60, 300, 900, 1800])
energy_steps = st.sampled_from([0, 1, 25, 100, 500, 1000])
kwh = st.decimals(min_value=0, max_value=120, places=3)
minutes = st.integers(min_value=1, max_value=600)


@st.composite
def tariffs(draw: st.DrawFn) -> dict[str, Any]:
    return {
        "currency": "EUR",
        "elements": [
            {
                "price_components": [
                    {"type": "ENERGY", "price": draw(prices), "vat": draw(vats), "step_size": draw(energy_steps)},
                    {"type": "TIME", "price": draw(prices), "vat": draw(vats), "step_size": draw(steps)},
                ],
                "restrictions": {"start_time": "07:00", "end_time": "19:00"},
            },
            {
                "price_components": [
                    {"type": "FLAT", "price": draw(prices), "vat": draw(vats), "step_size": 1},
                    {"type": "ENERGY", "price": draw(prices), "vat": draw(vats), "step_size": draw(energy_steps)},
                    {"type": "TIME", "price": draw(prices), "vat": draw(vats), "step_size": draw(steps)},
                    {"type": "PARKING_TIME", "price": draw(prices), "vat": draw(vats), "step_size": draw(steps)},
                ]
            },
        ],
    }


def session(body: dict[str, Any], energy: Decimal, charge_min: int, park_min: int) -> RatedSession:
    periods = [RatingPeriod(START, (("ENERGY", energy), ("TIME", Decimal(charge_min) / 60)))]
    end = START + timedelta(minutes=charge_min)
    if park_min:
        periods.append(RatingPeriod(end, (("PARKING_TIME", Decimal(park_min) / 60),)))
        end += timedelta(minutes=park_min)
    return rate(parse_tariff(body), periods, start=START, end=end, time_zone=ZONE, policy=FOUR_DECIMALS)


@settings(max_examples=150, deadline=None)
@given(tariffs(), kwh, kwh, minutes, st.integers(0, 120))
def test_more_energy_never_costs_less(body: dict[str, Any], a: Decimal, b: Decimal, charge: int, park: int) -> None:
    low, high = sorted((a, b))
    cheap, dear = session(body, low, charge, park), session(body, high, charge, park)
    assert dear.total_cost.excl_vat >= cheap.total_cost.excl_vat >= 0
    assert dear.total_cost.incl_vat >= cheap.total_cost.incl_vat >= 0


@settings(max_examples=150, deadline=None)
@given(tariffs(), kwh, minutes, minutes, st.integers(0, 120))
def test_more_time_never_costs_less(body: dict[str, Any], energy: Decimal, a: int, b: int, park: int) -> None:
    low, high = sorted((a, b))
    assert session(body, energy, high, park).total_cost.excl_vat >= session(body, energy, low, park).total_cost.excl_vat


@settings(max_examples=150, deadline=None)
@given(tariffs(), kwh, minutes, st.integers(0, 120), prices, prices)
def test_min_and_max_price_clamp(
    body: dict[str, Any], energy: Decimal, charge: int, park: int, a: Decimal, b: Decimal
) -> None:
    low, high = sorted((a, b))
    body = {**body, "min_price": {"excl_vat": low}, "max_price": {"excl_vat": high}}
    rated = session(body, energy, charge, park)
    assert low <= rated.total_cost.excl_vat <= high


@settings(max_examples=150, deadline=None)
@given(tariffs(), kwh, minutes, st.integers(0, 120))
def test_step_rounding_never_bills_less_than_consumed(
    body: dict[str, Any], energy: Decimal, charge: int, park: int
) -> None:
    rated = session(body, energy, charge, park)
    for line in rated.lines:
        assert line.billed_volume >= line.volume


@settings(max_examples=150, deadline=None)
@given(tariffs(), kwh, st.integers(2, 800), st.data())
def test_splitting_a_period_where_nothing_changes_keeps_the_price(
    body: dict[str, Any], energy: Decimal, charge: int, data: st.DataObject
) -> None:
    # Durations in hundredths of an hour (36 s), so every volume is exact; 08:00 UTC is 10:00 in Zurich,
    # inside the 07-19 window for the whole session (at most 8 h).
    cut = data.draw(st.integers(1, charge - 1))
    share = data.draw(st.decimals(min_value=0, max_value=energy, places=3))
    unit = timedelta(seconds=36)
    whole = rate(
        parse_tariff(body),
        [RatingPeriod(START, (("ENERGY", energy), ("TIME", Decimal(charge) / 100)))],
        start=START,
        end=START + charge * unit,
        time_zone=ZONE,
        policy=FOUR_DECIMALS,
    )
    split = rate(
        parse_tariff(body),
        [
            RatingPeriod(START, (("ENERGY", share), ("TIME", Decimal(cut) / 100))),
            RatingPeriod(START + cut * unit, (("ENERGY", energy - share), ("TIME", Decimal(charge - cut) / 100))),
        ],
        start=START,
        end=START + charge * unit,
        time_zone=ZONE,
        policy=FOUR_DECIMALS,
    )
    assert split.total_cost == whole.total_cost


def test_a_time_step_is_priced_exactly_and_ties_round_half_up() -> None:
    """1.72 h stepped to the minute is 1.7333... h; priced as 6240 s x 2.55 / 3600 it is 4.42 exactly, so
    with 0.00115 of energy the total 4.42115 rounds up (found by the property above when the stepped hours
    were a repeating decimal cut at 28 digits: 4.4211)."""
    body = {
        "currency": "EUR",
        "elements": [
            {
                "price_components": [
                    {"type": "ENERGY", "price": Decimal("1.15"), "step_size": 0},
                    {"type": "TIME", "price": Decimal("2.55"), "step_size": 60},
                ]
            }
        ],
    }
    rated = rate(
        parse_tariff(body),
        [RatingPeriod(START, (("ENERGY", Decimal("0.001")), ("TIME", Decimal("1.72"))))],
        start=START,
        end=START + timedelta(seconds=6192),
        time_zone=ZONE,
        policy=FOUR_DECIMALS,
    )
    assert rated.total_cost.excl_vat == Decimal("4.4212")
