"""OCPI 2.2.1 tariffs as frozen values, parsed strictly: unknown keys, negative prices and malformed
restrictions are refused with the name of the field, because a misspelt restriction silently makes an
element unconditional (ocpi.md §10.3)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from domain.errors import DomainError


class TariffInvalid(DomainError):
    code = "TARIFF_INVALID"

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field


class Dimension(StrEnum):
    ENERGY = "ENERGY"
    FLAT = "FLAT"
    TIME = "TIME"
    PARKING_TIME = "PARKING_TIME"


class Reservation(StrEnum):
    RESERVATION = "RESERVATION"
    RESERVATION_EXPIRES = "RESERVATION_EXPIRES"


WEEKDAYS = ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY")


@dataclass(frozen=True, slots=True)
class PriceComponent:
    type: Dimension
    price: Decimal  # per unit, excl. VAT
    vat: Decimal | None  # percent; None = no VAT applicable (not the same as 0 %)
    step_size: int


@dataclass(frozen=True, slots=True)
class Restrictions:
    start_time: time | None = None
    end_time: time | None = None  # exclusive; 00:00 means the end of the day
    start_date: date | None = None
    end_date: date | None = None  # exclusive
    min_kwh: Decimal | None = None
    max_kwh: Decimal | None = None
    min_current: Decimal | None = None
    max_current: Decimal | None = None
    min_power: Decimal | None = None
    max_power: Decimal | None = None
    min_duration: int | None = None
    max_duration: int | None = None
    day_of_week: frozenset[str] | None = None
    reservation: Reservation | None = None


@dataclass(frozen=True, slots=True)
class TariffElement:
    components: tuple[PriceComponent, ...]
    restrictions: Restrictions


NO_RESTRICTIONS = Restrictions()


@dataclass(frozen=True, slots=True)
class PricedBy:
    """An element that prices a dimension: its index in the tariff, its components of that dimension in
    list order, and its restrictions (None when it has none, so it holds outside reservations)."""

    element_index: int
    components: tuple[PriceComponent, ...]
    restrictions: Restrictions | None


@dataclass(frozen=True, slots=True)
class PriceLimit:
    excl_vat: Decimal
    incl_vat: Decimal | None


@dataclass(frozen=True, slots=True)
class Tariff:
    id: str
    currency: str
    elements: tuple[TariffElement, ...]
    min_price: PriceLimit | None = None
    max_price: PriceLimit | None = None
    start_date_time: datetime | None = None
    end_date_time: datetime | None = None
    # Derived from the elements once, at construction (neither compared nor shown): for each dimension the
    # elements that price it, in list order, so rating does not scan every element of the tariff per period.
    priced_by: Mapping[Dimension, tuple[PricedBy, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "priced_by", _priced_by(self.elements))


def _priced_by(elements: tuple[TariffElement, ...]) -> dict[Dimension, tuple[PricedBy, ...]]:
    found: dict[Dimension, list[PricedBy]] = {dimension: [] for dimension in Dimension}
    for index, element in enumerate(elements):
        restrictions = None if element.restrictions == NO_RESTRICTIONS else element.restrictions
        for dimension, priced in found.items():
            components = tuple(c for c in element.components if c.type == dimension)
            if components:
                priced.append(PricedBy(index, components, restrictions))
    return {dimension: tuple(priced) for dimension, priced in found.items()}


TARIFF_KEYS = frozenset(
    {
        "country_code",
        "party_id",
        "id",
        "currency",
        "type",
        "tariff_alt_text",
        "tariff_alt_url",
        "min_price",
        "max_price",
        "elements",
        "start_date_time",
        "end_date_time",
        "energy_mix",
        "last_updated",
    }
)
ELEMENT_KEYS = frozenset({"price_components", "restrictions"})
COMPONENT_KEYS = frozenset({"type", "price", "vat", "step_size"})
RESTRICTION_KEYS = frozenset(Restrictions.__dataclass_fields__)
PRICE_KEYS = frozenset({"excl_vat", "incl_vat"})


def _known(obj: Mapping[str, Any], allowed: frozenset[str], where: str) -> None:
    unknown = sorted(set(obj) - allowed)
    if unknown:
        raise TariffInvalid(f"{where}.{unknown[0]}", "unknown field")


def _decimal(value: Any, field: str, *, non_negative: bool = True) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise TariffInvalid(field, "must be a number")
    try:
        number = Decimal(str(value))
    except InvalidOperation as error:
        raise TariffInvalid(field, "must be a number") from error
    if not number.is_finite() or (non_negative and number < 0):
        raise TariffInvalid(field, "must be a non-negative number")
    return number


def _time(value: Any, field: str) -> time:
    try:
        hours, minutes = str(value).split(":")
        assert len(hours) == 2 and len(minutes) == 2  # noqa: PT018 - shape check, not a test
        return time(int(hours), int(minutes))
    except (ValueError, AssertionError) as error:
        raise TariffInvalid(field, "must be HH:MM") from error


def _date(value: Any, field: str) -> date:
    try:
        return date.fromisoformat(str(value))
    except ValueError as error:
        raise TariffInvalid(field, "must be YYYY-MM-DD") from error


def parse_datetime(value: Any, field: str) -> datetime:
    """An OCPI DateTime: RFC 3339, UTC when no offset is given (as OCPI says)."""
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError as error:
        raise TariffInvalid(field, "must be an RFC 3339 date-time") from error
    try:
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    except OverflowError as error:  # 9999-12-31T23:59:59-05:00 is past the last moment Python knows
        raise TariffInvalid(field, "is out of range") from error


def _int(value: Any, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise TariffInvalid(field, "must be a non-negative integer")
    return value


def _restrictions(obj: Any, where: str) -> Restrictions:
    if obj is None:
        return Restrictions()
    if not isinstance(obj, Mapping):
        raise TariffInvalid(where, "must be an object")
    _known(obj, RESTRICTION_KEYS, where)
    values: dict[str, Any] = {}
    for key in ("start_time", "end_time"):
        if obj.get(key) is not None:
            values[key] = _time(obj[key], f"{where}.{key}")
    for key in ("start_date", "end_date"):
        if obj.get(key) is not None:
            values[key] = _date(obj[key], f"{where}.{key}")
    for key in ("min_kwh", "max_kwh", "min_current", "max_current", "min_power", "max_power"):
        if obj.get(key) is not None:
            values[key] = _decimal(obj[key], f"{where}.{key}")
    for key in ("min_duration", "max_duration"):
        if obj.get(key) is not None:
            values[key] = _int(obj[key], f"{where}.{key}")
    if obj.get("day_of_week") is not None:
        days = obj["day_of_week"]
        if not isinstance(days, list) or any(d not in WEEKDAYS for d in days):
            raise TariffInvalid(f"{where}.day_of_week", f"must be a list of {', '.join(WEEKDAYS)}")
        values["day_of_week"] = frozenset(days)
    if obj.get("reservation") is not None:
        try:
            values["reservation"] = Reservation(obj["reservation"])
        except ValueError as error:
            raise TariffInvalid(f"{where}.reservation", "must be RESERVATION or RESERVATION_EXPIRES") from error
    return Restrictions(**values)


def _limit(obj: Any, field: str) -> PriceLimit | None:
    if obj is None:
        return None
    if not isinstance(obj, Mapping):
        raise TariffInvalid(field, "must be a Price object")
    _known(obj, PRICE_KEYS, field)
    if "excl_vat" not in obj:
        raise TariffInvalid(f"{field}.excl_vat", "is required")
    incl = obj.get("incl_vat")
    return PriceLimit(
        _decimal(obj["excl_vat"], f"{field}.excl_vat"),
        None if incl is None else _decimal(incl, f"{field}.incl_vat"),
    )


def parse_tariff(obj: Mapping[str, Any]) -> Tariff:
    """An OCPI 2.2.1 Tariff object as a ``Tariff``, or ``TariffInvalid`` naming the first bad field."""
    _known(obj, TARIFF_KEYS, "tariff")
    currency = obj.get("currency")
    if not isinstance(currency, str) or len(currency) != 3 or not currency.isalpha():
        raise TariffInvalid("tariff.currency", "must be an ISO 4217 code")
    raw_elements = obj.get("elements")
    if not isinstance(raw_elements, list) or not raw_elements:
        raise TariffInvalid("tariff.elements", "must be a non-empty list")
    elements = []
    for i, element in enumerate(raw_elements):
        where = f"tariff.elements[{i}]"
        if not isinstance(element, Mapping):
            raise TariffInvalid(where, "must be an object")
        _known(element, ELEMENT_KEYS, where)
        raw_components = element.get("price_components")
        if not isinstance(raw_components, list) or not raw_components:
            raise TariffInvalid(f"{where}.price_components", "must be a non-empty list")
        components = []
        for j, component in enumerate(raw_components):
            cw = f"{where}.price_components[{j}]"
            if not isinstance(component, Mapping):
                raise TariffInvalid(cw, "must be an object")
            _known(component, COMPONENT_KEYS, cw)
            try:
                dimension = Dimension(str(component.get("type")))
            except ValueError as error:
                raise TariffInvalid(f"{cw}.type", f"must be one of {', '.join(Dimension)}") from error
            vat = component.get("vat")
            components.append(
                PriceComponent(
                    type=dimension,
                    price=_decimal(component.get("price"), f"{cw}.price"),
                    vat=None if vat is None else _decimal(vat, f"{cw}.vat"),
                    step_size=_int(component.get("step_size", 1), f"{cw}.step_size"),
                )
            )
        elements.append(
            TariffElement(tuple(components), _restrictions(element.get("restrictions"), f"{where}.restrictions"))
        )
    return Tariff(
        id=str(obj.get("id", "")),
        currency=currency.upper(),
        elements=tuple(elements),
        min_price=_limit(obj.get("min_price"), "tariff.min_price"),
        max_price=_limit(obj.get("max_price"), "tariff.max_price"),
        start_date_time=None
        if obj.get("start_date_time") is None
        else parse_datetime(obj["start_date_time"], "tariff.start_date_time"),
        end_date_time=None
        if obj.get("end_date_time") is None
        else parse_datetime(obj["end_date_time"], "tariff.end_date_time"),
    )


def tariff_in_force(tariffs: list[Tariff], at: datetime) -> Tariff | None:
    """When a CDR lists several tariffs: the first one valid at session start (OCPI defines no priority
    among overlapping tariffs, ocpi/ocpi#519; this is the reference calculator's rule)."""
    for tariff in tariffs:
        if (tariff.start_date_time is None or tariff.start_date_time <= at) and (
            tariff.end_date_time is None or at < tariff.end_date_time
        ):
            return tariff
    return None
