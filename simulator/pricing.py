"""How the simulated CPO prices its own CDRs: the first element's components, applied naively, as many
real back ends do. Our own rating engine (clearing) is the authority; this is the CPO's claim."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from messages.ocpi import ChargingPeriod, Price

CENT = Decimal("0.01")


def _volume(periods: list[ChargingPeriod], dimension: str) -> Decimal:
    return sum((d.volume for p in periods for d in p.dimensions if d.type == dimension), Decimal(0))


def price_cdr(tariff: dict[str, Any], periods: list[ChargingPeriod]) -> Price:
    """ENERGY * kWh + TIME * charging hours + PARKING_TIME * parking hours + FLAT once, rounded half-up."""
    volumes = {
        "ENERGY": _volume(periods, "ENERGY"),
        "TIME": _volume(periods, "TIME"),
        "PARKING_TIME": _volume(periods, "PARKING_TIME"),
        "FLAT": Decimal(1),
    }
    excl, incl = Decimal(0), Decimal(0)
    seen: set[str] = set()
    for element in tariff["elements"]:
        for component in element["price_components"]:
            kind = component["type"]
            if kind in seen:
                continue
            seen.add(kind)
            amount = Decimal(str(component["price"])) * volumes[kind]
            vat = component.get("vat")
            excl += amount
            incl += amount if vat is None else amount * (1 + Decimal(str(vat)) / 100)
    return Price(excl_vat=excl.quantize(CENT, ROUND_HALF_UP), incl_vat=incl.quantize(CENT, ROUND_HALF_UP))
