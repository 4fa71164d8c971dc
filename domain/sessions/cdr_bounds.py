"""What any CDR may claim, checked at intake before it is stored: a figure past these bounds is a CPO's
bug (or a probe), never one charging session, and stored it would poison every total it enters."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from domain.errors import CdrRejected
from domain.sessions.cdr_checks import CLOCK_SKEW_TOLERANCE

# The fastest public chargers deliver about 400 kW: 10,000 kWh would be a whole day at full power, more
# than any vehicle's battery by two orders of magnitude.
MAX_ENERGY_KWH = Decimal(10_000)
# A charging session costs tens of euros; 100,000 in any currency we settle (EUR, CHF, GBP, ...) is no
# single session's price.
MAX_COST = Decimal(100_000)
# A session (and the parking after it) lasts hours, not months: 31 days, in hours as OCPI counts time.
MAX_HOURS = Decimal(31 * 24)
# A charging period's volumes are kWh, hours, A or kW: none is anywhere near the energy bound.
MAX_VOLUME = MAX_ENERGY_KWH


@dataclass(frozen=True, slots=True)
class CdrFigures:
    """The amounts and volumes of a CDR, each named by its field."""

    credit: bool
    end: datetime  # end_date_time
    energy_kwh: Decimal
    hours: tuple[tuple[str, Decimal], ...]  # total_time, total_parking_time
    costs: tuple[tuple[str, Decimal], ...]  # total_cost.excl_vat, total_energy_cost.incl_vat, ...
    volumes: tuple[tuple[str, Decimal], ...]  # charging_periods[0].dimensions[1].volume, ...


def check_cdr_bounds(figures: CdrFigures, *, received_at: datetime) -> None:
    """Raise ``CdrRejected`` naming every field past its bound. A credit CDR's costs are negative (it
    cancels a CDR); every other CDR's are not. A CDR bills a session that has ended: one ending after it
    reached us (beyond the clock drift we allow a CPO) would put a supply date after the invoice's."""
    problems: list[str] = []
    if figures.end > received_at + CLOCK_SKEW_TOLERANCE:
        problems.append(
            f"end_date_time: {figures.end.isoformat()} is in the future (received {received_at.isoformat()})"
        )
    if not 0 <= figures.energy_kwh <= MAX_ENERGY_KWH:
        problems.append(f"total_energy: {figures.energy_kwh} kWh is not between 0 and {MAX_ENERGY_KWH}")
    problems += [
        f"{field}: {hours} h is not between 0 and {MAX_HOURS}"
        for field, hours in figures.hours
        if not 0 <= hours <= MAX_HOURS
    ]
    sign = "negative" if figures.credit else "positive"
    for field, amount in figures.costs:
        if abs(amount) > MAX_COST:
            problems.append(f"{field}: {amount} is beyond {MAX_COST}")
        elif amount and (amount < 0) != figures.credit:
            problems.append(f"{field}: {amount} must be {sign} on a {'credit' if figures.credit else 'non-credit'} CDR")
    problems += [
        f"{field}: {volume} is beyond {MAX_VOLUME}" for field, volume in figures.volumes if abs(volume) > MAX_VOLUME
    ]
    if problems:
        raise CdrRejected(problems)
