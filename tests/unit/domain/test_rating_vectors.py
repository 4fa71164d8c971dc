"""The upstream ocpi-tariffs CDR vectors (tests/fixtures/ocpi-tariffs, in this repository), priced by our engine at 4
decimals in UTC, as upstream's harness does. Where we deliberately differ, the test says so and why."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from domain.tariffs.model import parse_tariff
from domain.tariffs.rating import FOUR_DECIMALS, RatedSession, RatingPeriod, rate
from tests.vectors import OCPI_TARIFFS

VECTORS = OCPI_TARIFFS
CDRS = sorted(VECTORS.glob("*/cdr*.json"))
UTC = ZoneInfo("UTC")

# Upstream 0.6.x ignores min_price; OCPI bills at least the minimum (0.50 / 0.55) below 2 kWh.
DEVIATIONS = {"025kwh_min_price/cdr2_less_than_2kWh": {"total_cost": (Decimal("0.50"), Decimal("0.55"))}}


def load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(), parse_float=Decimal)
    return data


def when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def price(cdr_path: Path) -> RatedSession:
    cdr = load(cdr_path)
    tariff = parse_tariff(load(cdr_path.parent / "tariff.json"))
    periods = [
        RatingPeriod(when(p["start_date_time"]), tuple((d["type"], Decimal(d["volume"])) for d in p["dimensions"]))
        for p in cdr["charging_periods"]
    ]
    return rate(
        tariff,
        periods,
        start=when(cdr["charging_periods"][0]["start_date_time"]),
        end=when(cdr["end_date_time"]),
        time_zone=UTC,
        policy=FOUR_DECIMALS,
    )


def test_the_vectors_are_there() -> None:
    assert len(CDRS) == 9


@pytest.mark.parametrize("cdr_path", CDRS, ids=[f"{p.parent.name}/{p.stem}" for p in CDRS])
def test_upstream_vector(cdr_path: Path) -> None:
    cdr = load(cdr_path)
    rated = price(cdr_path)
    name = f"{cdr_path.parent.name}/{cdr_path.stem}"
    expected_total = DEVIATIONS.get(name, {}).get(
        "total_cost", (Decimal(cdr["total_cost"]["excl_vat"]), Decimal(cdr["total_cost"]["incl_vat"]))
    )
    assert (rated.total_cost.excl_vat, rated.total_cost.incl_vat) == expected_total
    for field in ("total_fixed_cost", "total_energy_cost", "total_time_cost", "total_parking_cost"):
        if name in DEVIATIONS:
            continue
        expected = cdr.get(field) or {"excl_vat": 0, "incl_vat": 0}
        got = getattr(rated, field)
        assert (got.excl_vat, got.incl_vat) == (Decimal(expected["excl_vat"]), Decimal(expected["incl_vat"])), field
    assert rated.total_energy == Decimal(cdr["total_energy"])
    assert rated.total_time == Decimal(cdr["total_time"])
    assert rated.total_parking_time == Decimal(cdr.get("total_parking_time", 0))
