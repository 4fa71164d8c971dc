"""Rating a charging session against an OCPI 2.2.1 tariff (ocpi.md §2-§3), pure and exact.

Choices where the spec is silent or contradicts itself (each is tested):
- Restrictions are evaluated at each period's start, in the Location's time zone, against energy and
  duration accumulated before the period; a missing current/power dimension passes (as ocpi-tariffs).
- One active component per dimension: the first element, in list order, that has the dimension and
  whose restrictions all hold. Reservation elements apply only to RESERVATION_TIME periods (EXPIRES ones
  only when the reservation expired), and other elements only outside them.
- FLAT: each distinct FLAT component is charged at most once per session (reading B, §3.7).
- step_size: once per session, on the billable part only, with the step of the last active component:
  ENERGY alone; PARKING_TIME if any parking was billable, else TIME (charging time is then not rounded);
  RESERVATION_TIME on its own (§3.5, bugfix-branch errata).
- min_price/max_price clamp excl. and incl. VAT independently. Rounding happens once, on output, as the
  policy says (default: half-up to the currency's minor unit).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from domain.money import minor_unit_places, round_to
from domain.tariffs.model import (
    WEEKDAYS,
    Dimension,
    PriceComponent,
    PricedBy,
    Reservation,
    Restrictions,
    Tariff,
    TariffElement,
)

HOUR_S = Decimal(3600)
WH_PER_KWH = Decimal(1000)
ZERO = Decimal(0)
ONE = Decimal(1)
TIME_DIMENSIONS = ("TIME", "PARKING_TIME", "RESERVATION_TIME")
MIDNIGHT = time(0, 0)


@dataclass(frozen=True, slots=True)
class RatingPeriod:
    start: datetime
    volumes: tuple[tuple[str, Decimal], ...]  # CdrDimensionType, volume

    def by_dimension(self) -> dict[str, Decimal]:
        totals: dict[str, Decimal] = {}
        for dimension, volume in self.volumes:
            totals[dimension] = totals.get(dimension, ZERO) + volume
        return totals


@dataclass(frozen=True, slots=True)
class RoundingPolicy:
    """Where the one rounding of a rated session happens: each output field, to ``places`` decimals
    (None = the currency's minor unit), with ``mode``."""

    places: int | None = None
    mode: str = ROUND_HALF_UP


MINOR_UNITS = RoundingPolicy()
FOUR_DECIMALS = RoundingPolicy(places=4)


@dataclass(frozen=True, slots=True)
class Amount:
    excl_vat: Decimal
    incl_vat: Decimal

    def __add__(self, other: Amount) -> Amount:
        return Amount(self.excl_vat + other.excl_vat, self.incl_vat + other.incl_vat)


@dataclass(frozen=True, slots=True)
class RatedLine:
    """One priced quantity: why a session costs what it costs."""

    period_index: int
    dimension: str  # ENERGY, FLAT, TIME, PARKING_TIME, RESERVATION_TIME
    volume: Decimal  # consumed (kWh or h; 1 for FLAT)
    billed_volume: Decimal  # after step_size
    price: Decimal
    vat: Decimal | None
    element_index: int
    cost: Amount


@dataclass(frozen=True, slots=True)
class RatedSession:
    currency: str
    total_cost: Amount
    total_fixed_cost: Amount
    total_energy_cost: Amount
    total_time_cost: Amount
    total_parking_cost: Amount
    total_reservation_cost: Amount
    total_energy: Decimal
    total_time: Decimal
    total_parking_time: Decimal
    lines: tuple[RatedLine, ...]
    min_price_applied: bool = False
    max_price_applied: bool = False


@dataclass(slots=True)
class _Billable:
    period_index: int
    dimension: str
    volume: Decimal
    component: PriceComponent
    element_index: int
    bucket: str  # the session total it counts towards: fixed, energy, time, parking or reservation
    # step_size adds whole units (seconds, Wh) to the last billable; the cost divides by the unit last, so a
    # step of 48 s is 48/3600 h exactly where it matters, not a repeating decimal rounded at 28 digits.
    unit: Decimal = ONE
    extra_units: Decimal = ZERO


@dataclass(slots=True)
class _Facts:
    local: datetime
    energy_before: Decimal
    duration_before_s: Decimal
    current: Decimal | None
    power: Decimal | None
    reservation: bool
    reservation_expired: bool


def _time_ok(r: Restrictions, at: time) -> bool:
    start, end = r.start_time, r.end_time
    if start is None and end is None:
        return True
    if end is None or end == MIDNIGHT:
        return start is None or at >= start
    if start is None:
        return at < end
    if start < end:
        return start <= at < end
    return at >= start or at < end  # wraps past midnight


def _holds(r: Restrictions, facts: _Facts) -> bool:
    if (r.reservation is not None) != facts.reservation:
        return False
    if r.reservation == Reservation.RESERVATION_EXPIRES and not facts.reservation_expired:
        return False
    checks = (
        (r.start_time is None and r.end_time is None) or _time_ok(r, facts.local.time()),
        r.start_date is None or facts.local.date() >= r.start_date,
        r.end_date is None or facts.local.date() < r.end_date,
        r.min_kwh is None or facts.energy_before >= r.min_kwh,
        r.max_kwh is None or facts.energy_before < r.max_kwh,
        r.min_duration is None or facts.duration_before_s >= r.min_duration,
        r.max_duration is None or facts.duration_before_s < r.max_duration,
        r.day_of_week is None or WEEKDAYS[facts.local.weekday()] in r.day_of_week,
        r.min_current is None or facts.current is None or facts.current >= r.min_current,
        r.max_current is None or facts.current is None or facts.current < r.max_current,
        r.min_power is None or facts.power is None or facts.power >= r.min_power,
        r.max_power is None or facts.power is None or facts.power < r.max_power,
    )
    return all(checks)


def _cost(component: PriceComponent, quantity: Decimal, per: Decimal) -> tuple[Decimal, Decimal]:
    """The price of ``quantity`` excl. and incl. VAT, counted in ``per``-ths of the priced unit (seconds of an
    hour: 3600)."""
    excl = component.price * quantity / per
    incl = excl if component.vat is None else excl * (1 + component.vat / 100)
    return excl, incl


def _step(billables: list[_Billable], unit: Decimal) -> None:
    """Round the total billable volume up to the last active component's step, surplus to that one."""
    if not billables:
        return
    last = billables[-1]
    step = last.component.step_size
    total = sum((b.volume for b in billables), ZERO)
    if step <= 0 or total <= 0:
        return
    units = total * unit
    billed = Decimal(math.ceil(units / step)) * step
    last.unit = unit
    last.extra_units = billed - units


ONE_MICROSECOND = timedelta(microseconds=1)
MICROSECONDS_PER_S = Decimal(1_000_000)


def _seconds(span: timedelta) -> Decimal:
    """Exact seconds of a timedelta (no float on the way)."""
    return Decimal(span // ONE_MICROSECOND) / MICROSECONDS_PER_S


def rate(
    tariff: Tariff,
    periods: Sequence[RatingPeriod],
    *,
    start: datetime,
    end: datetime,
    time_zone: ZoneInfo,
    policy: RoundingPolicy = MINOR_UNITS,
    reservation_expired: bool = False,
) -> RatedSession:
    """Price ``periods`` (each running to the next one's start, the last to ``end``) under ``tariff``."""
    assert all(p.start.tzinfo is not None for p in periods), "periods need aware timestamps"
    volumes_by_period = [period.by_dimension() for period in periods]
    billables = _billables(tariff, periods, volumes_by_period, start, time_zone, reservation_expired)
    _apply_step_sizes(billables)
    lines, buckets = _price(billables)
    # The session total adds the totals up in this order, each excl. and incl. VAT.
    total_excl = total_incl = ZERO
    for excl, incl in buckets.values():
        total_excl, total_incl = total_excl + excl, total_incl + incl
    total_excl, total_incl, min_applied, max_applied = _clamp(tariff, total_excl, total_incl)
    places = minor_unit_places(tariff.currency) if policy.places is None else policy.places
    mode = policy.mode

    def money(excl: Decimal, incl: Decimal) -> Amount:
        return Amount(round_to(excl, places, mode), round_to(incl, places, mode))

    def quantity(value: Decimal) -> Decimal:
        return round_to(value, 4, ROUND_HALF_UP)

    return RatedSession(
        currency=tariff.currency,
        total_cost=money(total_excl, total_incl),
        total_fixed_cost=money(*buckets["fixed"]),
        total_energy_cost=money(*buckets["energy"]),
        total_time_cost=money(*buckets["time"]),
        total_parking_cost=money(*buckets["parking"]),
        total_reservation_cost=money(*buckets["reservation"]),
        total_energy=quantity(sum((v.get("ENERGY", ZERO) for v in volumes_by_period), ZERO)),
        total_time=quantity(_seconds(end - start) / HOUR_S),
        total_parking_time=quantity(sum((v.get("PARKING_TIME", ZERO) for v in volumes_by_period), ZERO)),
        lines=tuple(lines),
        min_price_applied=min_applied,
        max_price_applied=max_applied,
    )


# The CDR dimensions priced per period, the tariff dimension each is priced as, and the total it counts towards.
_PRICED_VOLUMES = (
    ("ENERGY", Dimension.ENERGY, "energy"),
    ("TIME", Dimension.TIME, "time"),
    ("PARKING_TIME", Dimension.PARKING_TIME, "parking"),
    ("RESERVATION_TIME", Dimension.TIME, "reservation"),
)


class _PeriodConditions:
    """Whether an element's restrictions hold for one period. The facts they read (local time, duration) are
    worked out only for the first element that has restrictions (most elements have none), and each element's
    restrictions are checked once per period, though it may price several dimensions."""

    __slots__ = (
        "_energy_before",
        "_facts",
        "_held",
        "_period_start",
        "_session_start",
        "_time_zone",
        "_volumes",
        "reservation",
        "reservation_expired",
    )

    def __init__(
        self,
        period_start: datetime,
        session_start: datetime,
        time_zone: ZoneInfo,
        volumes: dict[str, Decimal],
        energy_before: Decimal,
        reservation_expired: bool,
    ) -> None:
        self._period_start = period_start
        self._session_start = session_start
        self._time_zone = time_zone
        self._volumes = volumes
        self._energy_before = energy_before
        self._facts: _Facts | None = None
        self._held: dict[int, bool] = {}  # by element index
        self.reservation = "RESERVATION_TIME" in volumes
        self.reservation_expired = reservation_expired

    def allow(self, priced: PricedBy) -> bool:
        if priced.restrictions is None:
            return not self.reservation  # an element without restrictions prices everything but reservations
        held = self._held.get(priced.element_index)
        if held is None:
            held = self._held[priced.element_index] = _holds(priced.restrictions, self._facts_now())
        return held

    def _facts_now(self) -> _Facts:
        if self._facts is None:
            volumes = self._volumes
            self._facts = _Facts(
                local=self._period_start.astimezone(self._time_zone),
                energy_before=self._energy_before,
                duration_before_s=_seconds(self._period_start - self._session_start),
                current=volumes.get("MAX_CURRENT", volumes.get("MIN_CURRENT")),
                power=volumes.get("MAX_POWER", volumes.get("MIN_POWER")),
                reservation=self.reservation,
                reservation_expired=self.reservation_expired,
            )
        return self._facts


def _billables(
    tariff: Tariff,
    periods: Sequence[RatingPeriod],
    volumes_by_period: list[dict[str, Decimal]],
    start: datetime,
    time_zone: ZoneInfo,
    reservation_expired: bool,
) -> list[_Billable]:
    """Phase 1: each period's volumes with the component active for them (the first of its dimension in the
    first element that has the dimension and whose restrictions hold), and each FLAT component of every such
    element the first time it is active, in the order they occur."""
    billables: list[_Billable] = []
    flat_charged: set[tuple[int, int]] = set()
    priced_by = tariff.priced_by
    energy_before = ZERO
    for index, period in enumerate(periods):
        volumes = volumes_by_period[index]
        conditions = _PeriodConditions(period.start, start, time_zone, volumes, energy_before, reservation_expired)
        for dimension, priced_as, bucket in _PRICED_VOLUMES:
            volume = volumes.get(dimension)
            if volume is None:
                continue
            for priced in priced_by[priced_as]:
                if conditions.allow(priced):
                    component = priced.components[0]
                    billables.append(_Billable(index, dimension, volume, component, priced.element_index, bucket))
                    break
        for priced in priced_by[Dimension.FLAT]:
            if not conditions.allow(priced):
                continue
            element = tariff.elements[priced.element_index]
            for component in priced.components:
                # Equal FLAT components of one element are one fee: keyed by the first of them.
                key = (priced.element_index, element.components.index(component))
                if key not in flat_charged:
                    flat_charged.add(key)
                    billables.append(
                        _Billable(index, "FLAT", ONE, component, priced.element_index, _flat_bucket(element))
                    )
        energy_before += volumes.get("ENERGY", ZERO)
    return billables


def _flat_bucket(element: TariffElement) -> str:
    """A FLAT fee counts towards reservation or parking when its element prices only that, else fixed."""
    if element.restrictions.reservation is not None:
        return "reservation"
    if any(c.type == Dimension.PARKING_TIME for c in element.components) and not any(
        c.type in (Dimension.ENERGY, Dimension.TIME) for c in element.components
    ):
        return "parking"
    return "fixed"


def _apply_step_sizes(billables: list[_Billable]) -> None:
    """Phase 2: step_size, once per session on the billable part (see the module's choices)."""
    by_dimension: dict[str, list[_Billable]] = {}
    for billable in billables:
        by_dimension.setdefault(billable.dimension, []).append(billable)
    _step(by_dimension.get("ENERGY", []), WH_PER_KWH)
    _step(by_dimension.get("PARKING_TIME") or by_dimension.get("TIME", []), HOUR_S)
    _step(by_dimension.get("RESERVATION_TIME", []), HOUR_S)


def _price(billables: list[_Billable]) -> tuple[list[RatedLine], dict[str, tuple[Decimal, Decimal]]]:
    """Phase 3: each billable's line, unrounded, and the sum of each session total excl. and incl. VAT."""
    lines: list[RatedLine] = []
    buckets = dict.fromkeys(("fixed", "energy", "time", "parking", "reservation"), (ZERO, ZERO))
    for b in billables:
        units = b.volume * b.unit + b.extra_units
        excl, incl = _cost(b.component, units, b.unit)
        bucket_excl, bucket_incl = buckets[b.bucket]
        buckets[b.bucket] = (bucket_excl + excl, bucket_incl + incl)
        lines.append(
            RatedLine(
                b.period_index,
                b.dimension,
                b.volume,
                units / b.unit,
                b.component.price,
                b.component.vat,
                b.element_index,
                Amount(excl, incl),
            )
        )
    return lines, buckets


def _clamp(tariff: Tariff, excl: Decimal, incl: Decimal) -> tuple[Decimal, Decimal, bool, bool]:
    """Phase 4: the total within min_price and max_price, excl. and incl. VAT each on its own; and
    whether the minimum or the maximum applied."""
    min_applied = max_applied = False
    if tariff.min_price is not None:
        if excl < tariff.min_price.excl_vat:
            excl, min_applied = tariff.min_price.excl_vat, True
        if tariff.min_price.incl_vat is not None and incl < tariff.min_price.incl_vat:
            incl, min_applied = tariff.min_price.incl_vat, True
    if tariff.max_price is not None:
        if excl > tariff.max_price.excl_vat:
            excl, max_applied = tariff.max_price.excl_vat, True
        if tariff.max_price.incl_vat is not None and incl > tariff.max_price.incl_vat:
            incl, max_applied = tariff.max_price.incl_vat, True
    return excl, incl, min_applied, max_applied
