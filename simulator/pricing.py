"""How the simulated CPO prices its own CDRs: with the same OCPI rating rules as the platform, so a
well-behaved simulated CPO agrees with clearing to the cent (``sim-overcharge`` drivers make it not)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from domain.money import quantize
from domain.tariffs.model import parse_tariff
from domain.tariffs.rating import RatingPeriod, rate
from messages.ocpi import ChargingPeriod, Price

OVERCHARGE = Decimal("1.10")


def price_cdr(
    tariff: dict[str, Any], periods: list[ChargingPeriod], *, end: Any, time_zone: str, overcharge: bool = False
) -> Price:
    rated = rate(
        parse_tariff(tariff),
        [RatingPeriod(p.start_date_time, tuple((d.type, d.volume) for d in p.dimensions)) for p in periods],
        start=periods[0].start_date_time,
        end=end,
        time_zone=ZoneInfo(time_zone),
    )
    factor = OVERCHARGE if overcharge else Decimal(1)
    return Price(
        excl_vat=quantize(rated.total_cost.excl_vat * factor, rated.currency),
        incl_vat=quantize(rated.total_cost.incl_vat * factor, rated.currency),
    )
