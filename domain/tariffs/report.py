"""Rating input from an OCPI CDR (or just the fields rating needs) and the rated result as plain JSON."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from domain.tariffs.model import TariffInvalid, parse_datetime
from domain.tariffs.partner_price import CpoSessionReport
from domain.tariffs.rating import Amount, RatedSession, RatingPeriod


def rating_input(cdr: Mapping[str, Any]) -> tuple[datetime, datetime, list[RatingPeriod]]:
    """``start_date_time``, ``end_date_time`` and ``charging_periods`` of a CDR, checked."""
    for field in ("start_date_time", "end_date_time", "charging_periods"):
        if field not in cdr:
            raise TariffInvalid(f"cdr.{field}", "is required")
    start, end = (
        parse_datetime(cdr["start_date_time"], "cdr.start_date_time"),
        parse_datetime(cdr["end_date_time"], "cdr.end_date_time"),
    )
    if end < start:
        raise TariffInvalid("cdr.end_date_time", "is before start_date_time")
    periods = _periods(cdr["charging_periods"], "cdr")
    if not periods:
        raise TariffInvalid("cdr.charging_periods", "must not be empty")
    return start, end, periods


def _periods(charging_periods: list[Mapping[str, Any]], owner: str) -> list[RatingPeriod]:
    periods = []
    for i, period in enumerate(charging_periods):
        where = f"{owner}.charging_periods[{i}]"
        volumes = []
        for j, dimension in enumerate(period.get("dimensions", [])):
            try:
                volumes.append((str(dimension["type"]), Decimal(str(dimension["volume"]))))
            except (KeyError, ArithmeticError) as error:
                raise TariffInvalid(f"{where}.dimensions[{j}]", "needs a type and a numeric volume") from error
        periods.append(
            RatingPeriod(parse_datetime(period.get("start_date_time"), f"{where}.start_date_time"), tuple(volumes))
        )
    return periods


def cpo_session_report(session: Mapping[str, Any]) -> CpoSessionReport:
    """What an OCPI Session (as we hold it) says of the cost so far; ``TariffInvalid`` when unreadable."""
    total_cost = session.get("total_cost")
    try:
        kwh = Decimal(str(session.get("kwh", 0)))
        total = None if total_cost is None else Decimal(str(total_cost["excl_vat"]))
    except (KeyError, TypeError, ArithmeticError) as error:
        raise TariffInvalid("session.kwh", "kwh and total_cost.excl_vat must be numbers") from error
    return CpoSessionReport(
        start=parse_datetime(session.get("start_date_time"), "session.start_date_time"),
        last_updated=parse_datetime(session.get("last_updated"), "session.last_updated"),
        kwh=kwh,
        total_cost_excl_vat=total,
        periods=tuple(_periods(session.get("charging_periods") or [], "session")),
    )


def _price(amount: Amount) -> dict[str, str]:
    return {"excl_vat": str(amount.excl_vat), "incl_vat": str(amount.incl_vat)}


def rated_report(rated: RatedSession) -> dict[str, Any]:
    """Totals in OCPI CDR field names, plus the breakdown per period and dimension. Numbers as strings."""
    return {
        "currency": rated.currency,
        "total_cost": _price(rated.total_cost),
        "total_fixed_cost": _price(rated.total_fixed_cost),
        "total_energy": str(rated.total_energy),
        "total_energy_cost": _price(rated.total_energy_cost),
        "total_time": str(rated.total_time),
        "total_time_cost": _price(rated.total_time_cost),
        "total_parking_time": str(rated.total_parking_time),
        "total_parking_cost": _price(rated.total_parking_cost),
        "total_reservation_cost": _price(rated.total_reservation_cost),
        "min_price_applied": rated.min_price_applied,
        "max_price_applied": rated.max_price_applied,
        "breakdown": [
            {
                "period": line.period_index,
                "dimension": line.dimension,
                "volume": str(line.volume),
                "billed_volume": str(line.billed_volume),
                "price": str(line.price),
                "vat": None if line.vat is None else str(line.vat),
                "tariff_element": line.element_index,
                "cost_excl_vat": str(line.cost.excl_vat),
                "cost_incl_vat": str(line.cost.incl_vat),
            }
            for line in rated.lines
        ],
    }
