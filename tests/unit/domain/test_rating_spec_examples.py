"""The worked examples of OCPI 2.2.1 (ocpi.md §4, bugfix-branch errata), to the cent."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from domain.tariffs.model import TariffInvalid, parse_tariff
from domain.tariffs.rating import FOUR_DECIMALS, MINOR_UNITS, RatedSession, RatingPeriod, RoundingPolicy, rate
from tests.vectors import OCPI_TARIFFS

VECTORS = OCPI_TARIFFS
UTC = ZoneInfo("UTC")
D = Decimal


def tariff(case: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((VECTORS / case / "tariff.json").read_text(), parse_float=Decimal)
    return data


def hours(minutes: int) -> Decimal:
    return D(minutes) / 60


def run(
    case: str | dict[str, Any],
    start: datetime,
    segments: list[tuple[int, dict[str, Decimal]]],
    *,
    policy: RoundingPolicy = MINOR_UNITS,
    time_zone: ZoneInfo = UTC,
    reservation_expired: bool = False,
) -> RatedSession:
    """``segments``: (minutes long, volumes) one after the other from ``start``."""
    periods, at = [], start
    for minutes, volumes in segments:
        periods.append(RatingPeriod(at, tuple(volumes.items())))
        at += timedelta(minutes=minutes)
    parsed = parse_tariff(tariff(case) if isinstance(case, str) else case)
    return rate(
        parsed,
        periods,
        start=start,
        end=at,
        time_zone=time_zone,
        policy=policy,
        reservation_expired=reservation_expired,
    )


def total(rated: RatedSession) -> tuple[Decimal, Decimal]:
    return rated.total_cost.excl_vat, rated.total_cost.incl_vat


MONDAY = datetime(2026, 6, 1, 9, 30, tzinfo=UTC)
SATURDAY = datetime(2026, 6, 6, 13, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("case", "segments", "expected"),
    [
        ("simple_025kwh", [(60, {"ENERGY": D(20)})], (D("5.00"), D("5.50"))),
        ("025kwh_start", [(60, {"ENERGY": D(20)})], (D("5.50"), D("6.10"))),
        ("025kwh_min_price", [(60, {"ENERGY": D(20)})], (D("5.00"), D("5.50"))),
        ("025kwh_min_price", [(60, {"ENERGY": D("1.2")})], (D("0.50"), D("0.55"))),
        (
            "025kwh_parking_start",
            [(60, {"ENERGY": D(20), "TIME": hours(60)}), (40, {"PARKING_TIME": hours(40)})],
            (D("7.00"), D("7.90")),
        ),
        ("simple_2hour", [(150, {"TIME": hours(150)})], (D("5.00"), D("5.50"))),
        (
            "simple_3hour_5parking",
            [(150, {"TIME": hours(150)}), (42, {"PARKING_TIME": hours(42)})],
            (D("11.25"), D("12.75")),
        ),
        ("alt_text", [(150, {"TIME": hours(150)})], (D("4.75"), D("5.00"))),
        ("alt_url", [(60, {"ENERGY": D("20.45")})], (D("5.63"), D("6.24"))),
        ("free_of_charge", [(60, {"ENERGY": D(30), "TIME": D(1)})], (D("0.00"), D("0.00"))),
    ],
)
def test_simple_examples(
    case: str, segments: list[tuple[int, dict[str, Decimal]]], expected: tuple[Decimal, Decimal]
) -> None:
    assert total(run(case, MONDAY, segments)) == expected


def test_max_price_caps_excl_and_incl_independently() -> None:
    body = tariff("025kwh_start_max_price")
    body.pop("end_date_time")  # the example tariff ended in 2019; rate it as if in force
    capped = run(body, MONDAY, [(60, {"ENERGY": D(50)})])
    assert total(capped) == (D("10.00"), D("11.00"))
    assert capped.max_price_applied
    assert total(run(body, MONDAY, [(60, {"ENERGY": D(30)})])) == (D("8.00"), D("8.85"))


def test_complex_tariff_on_a_monday() -> None:
    rated = run(
        "complex", MONDAY, [(165, {"TIME": hours(165), "MAX_CURRENT": D(16)}), (42, {"PARKING_TIME": hours(42)})]
    )
    assert total(rated) == (D("9.00"), D("10.30"))
    assert (rated.total_parking_cost.excl_vat, rated.total_time_cost.excl_vat) == (D("3.75"), D("2.75"))


def test_complex_tariff_on_a_saturday_differs_from_the_printed_errata_on_purpose() -> None:
    # d2 and the bugfix branch print 12.28 / 13.861: they priced 114 min at 1.25/h as 2.28 instead of 2.375.
    rated = run(
        "complex",
        SATURDAY,
        [(114, {"TIME": hours(114), "MAX_CURRENT": D(43)}), (71, {"PARKING_TIME": hours(71)})],
        policy=FOUR_DECIMALS,
    )
    assert total(rated) == (D("12.3750"), D("13.9750"))


STEP_DAY = datetime(2026, 6, 1, tzinfo=UTC)


def test_step_size_charging_across_a_boundary_then_parking() -> None:
    start = STEP_DAY.replace(hour=16, minute=55)
    segments = [(5, {"TIME": hours(5)}), (5, {"TIME": hours(5)}), (2, {"PARKING_TIME": hours(2)})]
    assert total(run("step_size", start, segments)) == (D("0.55"), D("0.55"))


def test_step_size_rounds_the_session_total_at_the_last_price() -> None:
    start = STEP_DAY.replace(hour=16, minute=35)
    assert total(run("step_size", start, [(25, {"TIME": hours(25)}), (10, {"TIME": hours(10)})])) == (
        D("1.30"),
        D("1.30"),
    )


def test_step_size_rounds_only_the_billable_part() -> None:
    # Bugfix-branch errata (ocpi/ocpi#546): 0.73, where older texts printed 0.78 and 0.80.
    start = STEP_DAY.replace(hour=19, minute=40)
    segments = [(12, {"TIME": hours(12)}), (8, {"PARKING_TIME": hours(8)}), (12, {"PARKING_TIME": hours(12)})]
    assert total(run("step_size", start, segments)) == (D("0.73"), D("0.73"))


def test_power_restrictions_pick_the_band_per_period() -> None:
    segments = [
        (10, {"ENERGY": D(1), "MAX_POWER": D(6)}),
        (50, {"ENERGY": D(40), "MAX_POWER": D(48)}),
        (10, {"ENERGY": D("0.5"), "MAX_POWER": D(4)}),
    ]
    assert total(run("restriction_example_max_power", MONDAY, segments)) == (D("20.30"), D("24.36"))


def test_duration_restrictions_count_from_session_start() -> None:
    segments = [(30, {"ENERGY": D(5)}), (10, {"ENERGY": D("1.2")})]
    assert total(run("restriction_example_max_duration", MONDAY, segments)) == (D("0.30"), D("0.36"))


@pytest.mark.parametrize(
    ("case", "reservation_min", "expected", "expired_min", "expired"),
    [
        ("reservation_5_euro_per_hour", 15, (D("6.75"), D("7.60")), None, None),
        ("reservation_2_euro_fee_5_euro_per_hour", 13, (D("8.75"), D("10.00")), None, None),
        ("reservation_with_expire_fee", 22, (D("6.50"), D("7.30")), 60, (D("6.00"), D("7.20"))),
        ("reservation_with_expire_time", 22, (D("7.00"), D("7.90")), 90, (D("9.00"), D("10.80"))),
    ],
)
def test_reservations(
    case: str,
    reservation_min: int,
    expected: tuple[Decimal, Decimal],
    expired_min: int | None,
    expired: tuple[Decimal, Decimal] | None,
) -> None:
    used = [(reservation_min, {"RESERVATION_TIME": hours(reservation_min)}), (60, {"ENERGY": D(20), "TIME": D(1)})]
    assert total(run(case, MONDAY, used)) == expected
    if expired_min is not None:
        lapsed = [(expired_min, {"RESERVATION_TIME": hours(expired_min)})]
        assert total(run(case, MONDAY, lapsed, reservation_expired=True)) == expired


def test_step_size_examples_from_the_price_component_note() -> None:
    body = {"currency": "EUR", "elements": [{"price_components": [{"type": "ENERGY", "price": 0.25, "step_size": 1}]}]}
    for step, expected in ((1, "0.029"), (25, "0.031"), (500, "0.125")):
        body["elements"][0]["price_components"][0]["step_size"] = step  # type: ignore[index]
        assert total(run(body, MONDAY, [(60, {"ENERGY": D("0.1152")})], policy=RoundingPolicy(places=3)))[0] == D(
            expected
        )


def test_time_of_day_is_local_to_the_charger_across_daylight_saving() -> None:
    body = {
        "currency": "EUR",
        "elements": [
            {
                "price_components": [{"type": "ENERGY", "price": 1, "step_size": 1}],
                "restrictions": {"start_time": "02:00", "end_time": "03:00"},
            },
            {"price_components": [{"type": "ENERGY", "price": 0.5, "step_size": 1}]},
        ],
    }
    berlin = ZoneInfo("Europe/Berlin")
    # 2026-03-29 01:30 UTC is 03:30 CEST (the 02:00-03:00 hour does not exist that night): fallback price.
    assert total(run(body, datetime(2026, 3, 29, 1, 30, tzinfo=UTC), [(10, {"ENERGY": D(1)})], time_zone=berlin))[
        0
    ] == D("0.50")
    # 2026-10-25 00:30 UTC is 02:30 CEST, inside the window.
    assert total(run(body, datetime(2026, 10, 25, 0, 30, tzinfo=UTC), [(10, {"ENERGY": D(1)})], time_zone=berlin))[
        0
    ] == D("1.00")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"dayOfWeek": ["MONDAY"]}, "tariff.elements[0].restrictions.dayOfWeek"),
        ({"start_time": "9:00"}, "tariff.elements[0].restrictions.start_time"),
        ({"day_of_week": ["MON"]}, "tariff.elements[0].restrictions.day_of_week"),
        ({"min_kwh": -1}, "tariff.elements[0].restrictions.min_kwh"),
    ],
)
def test_a_malformed_restriction_is_refused_by_name(change: dict[str, Any], field: str) -> None:
    body = {
        "currency": "EUR",
        "elements": [{"price_components": [{"type": "ENERGY", "price": 0.25, "step_size": 1}], "restrictions": change}],
    }
    with pytest.raises(TariffInvalid) as refused:
        parse_tariff(body)
    assert refused.value.field == field


def test_negative_prices_and_unknown_dimensions_are_refused() -> None:
    with pytest.raises(TariffInvalid, match="price"):
        parse_tariff({"currency": "EUR", "elements": [{"price_components": [{"type": "ENERGY", "price": -1}]}]})
    with pytest.raises(TariffInvalid, match="type"):
        parse_tariff({"currency": "EUR", "elements": [{"price_components": [{"type": "KWH", "price": 1}]}]})
    with pytest.raises(TariffInvalid, match="currency"):
        parse_tariff({"currency": "EU", "elements": [{"price_components": [{"type": "ENERGY", "price": 1}]}]})


def test_cdr_example_rounds_charging_time_up_to_five_minutes() -> None:
    body = {
        "currency": "EUR",
        "elements": [{"price_components": [{"type": "TIME", "price": 2, "vat": 10, "step_size": 300}]}],
    }
    rated = run(body, MONDAY, [(119, {"TIME": D("1.973")})])
    assert total(rated) == (D("4.00"), D("4.40"))
    assert rated.lines[-1].billed_volume == D(2)


def test_step_size_prose_of_the_cdrs_module() -> None:
    energy = {
        "currency": "EUR",
        "elements": [
            {
                "price_components": [{"type": "ENERGY", "price": 0.20, "step_size": 500}],
                "restrictions": {"max_kwh": 4.3},
            },
            {"price_components": [{"type": "ENERGY", "price": 0.27, "step_size": 500}]},
        ],
    }
    rated = run(energy, MONDAY, [(30, {"ENERGY": D("4.3")}), (10, {"ENERGY": D("1.1")})], policy=FOUR_DECIMALS)
    assert [line.billed_volume for line in rated.lines] == [D("4.3"), D("1.2")]  # 5.4 kWh billed as 5.5
    charging_then_parking = {
        "currency": "EUR",
        "elements": [
            {
                "price_components": [
                    {"type": "TIME", "price": 1, "step_size": 600},
                    {"type": "PARKING_TIME", "price": 1, "step_size": 600},
                ]
            }
        ],
    }
    lines = run(charging_then_parking, MONDAY, [(21, {"TIME": hours(21)}), (16, {"PARKING_TIME": hours(16)})]).lines
    assert [line.billed_volume * 60 for line in lines] == [D(21), D(20)]  # TIME not rounded, parking 16 -> 20


def test_the_tariff_in_force_at_session_start_is_picked_from_several() -> None:
    from domain.tariffs.model import tariff_in_force

    old = parse_tariff({**tariff("simple_025kwh"), "end_date_time": "2026-06-01T00:00:00Z"})
    new = parse_tariff({**tariff("025kwh_start"), "start_date_time": "2026-06-01T00:00:00Z"})
    assert tariff_in_force([old, new], MONDAY) is new
    assert tariff_in_force([old, new], MONDAY - timedelta(days=2)) is old
    assert tariff_in_force([old], MONDAY) is None
