"""Which element and component prices each volume, to the cent: the first element in list order that has the
dimension and whose restrictions hold, its first component of that dimension, each distinct FLAT fee once,
and elements without restrictions never pricing a reservation."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from domain.tariffs.model import Dimension, parse_tariff
from domain.tariffs.rating import RatingPeriod, rate

START = datetime(2026, 6, 1, 8, tzinfo=UTC)
D = Decimal

BODY: dict[str, Any] = {
    "currency": "EUR",
    "elements": [
        {
            "price_components": [{"type": "ENERGY", "price": "0.20", "vat": "10", "step_size": 1}],
            "restrictions": {"min_kwh": 10},
        },
        {
            "price_components": [
                {"type": "ENERGY", "price": "0.30", "vat": "20", "step_size": 1},
                {"type": "ENERGY", "price": "0.40", "vat": "20", "step_size": 1},
                {"type": "FLAT", "price": "1.00", "step_size": 1},
                {"type": "FLAT", "price": "1.00", "step_size": 1},
                {"type": "FLAT", "price": "0.50", "step_size": 1},
            ]
        },
        {
            "price_components": [
                {"type": "TIME", "price": "2.00", "step_size": 1},
                {"type": "FLAT", "price": "3.00", "step_size": 1},
            ],
            "restrictions": {"reservation": "RESERVATION"},
        },
    ],
}


def test_each_volume_is_priced_by_the_first_element_that_holds_and_each_flat_fee_once() -> None:
    periods = [
        RatingPeriod(START, (("RESERVATION_TIME", D("0.5")),)),
        RatingPeriod(START + timedelta(minutes=30), (("ENERGY", D(12)),)),
        RatingPeriod(START + timedelta(minutes=90), (("ENERGY", D(5)),)),
    ]
    rated = rate(
        parse_tariff(BODY), periods, start=START, end=START + timedelta(minutes=120), time_zone=ZoneInfo("UTC")
    )
    assert [(line.period_index, line.dimension, line.element_index, line.price) for line in rated.lines] == [
        (0, "RESERVATION_TIME", 2, D("2.00")),
        (0, "FLAT", 2, D("3.00")),
        (1, "ENERGY", 1, D("0.30")),  # 0 kWh before: the 10 kWh element does not hold yet
        (1, "FLAT", 1, D("1.00")),  # the equal second 1.00 fee is the same fee
        (1, "FLAT", 1, D("0.50")),
        (2, "ENERGY", 0, D("0.20")),
    ]
    assert (rated.total_reservation_cost.excl_vat, rated.total_reservation_cost.incl_vat) == (D("4.00"), D("4.00"))
    assert (rated.total_energy_cost.excl_vat, rated.total_energy_cost.incl_vat) == (D("4.60"), D("5.42"))
    assert (rated.total_fixed_cost.excl_vat, rated.total_fixed_cost.incl_vat) == (D("1.50"), D("1.50"))
    assert (rated.total_cost.excl_vat, rated.total_cost.incl_vat) == (D("10.10"), D("10.92"))


def test_the_elements_pricing_each_dimension_follow_the_elements() -> None:
    tariff = parse_tariff(BODY)
    assert [priced.element_index for priced in tariff.priced_by[Dimension.ENERGY]] == [0, 1]
    assert [priced.element_index for priced in tariff.priced_by[Dimension.PARKING_TIME]] == []
    assert tariff.priced_by[Dimension.FLAT][0].restrictions is None  # element 1 has none
    without_first = replace(tariff, elements=tariff.elements[1:])
    assert [priced.element_index for priced in without_first.priced_by[Dimension.ENERGY]] == [0]
    assert "priced_by" not in repr(tariff)
