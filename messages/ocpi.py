"""OCPI 2.2.1 objects we send and receive (Sessions, CDRs, Commands, Tokens), as pydantic models.

Numbers are ``Decimal`` (parse raw JSON with ``model_validate_json`` so no float ever happens);
date-times are timezone-aware UTC. Unknown extra fields are kept (``extra="allow"``) because peers
send newer or custom fields and CDRs are stored verbatim anyway.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from enum import IntEnum, StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_serializer

from domain.sessions.cdr_bounds import CdrFigures
from domain.sessions.cdr_checks import CdrFacts, CdrPeriod
from domain.sessions.lifecycle import CpoSessionStatus
from domain.tokens import TokenType as TokenType  # re-exported: the OCPI enums are the domain's
from domain.tokens import WhitelistType as WhitelistType


def _as_utc(value: datetime) -> datetime:
    # OCPI DateTime is always UTC; a missing offset still means UTC.
    try:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except OverflowError as error:  # 9999-12-31T23:59:59-05:00 is past the last moment Python knows
        raise ValueError("is out of range") from error


# Beyond any figure an OCPI object carries (bounds that mean something are the checks' business): a
# number past them is malformed, and would make every later computation with it overflow or crawl.
NUMBER_MAGNITUDE_LIMIT = Decimal("1e15")
NUMBER_FINEST_EXPONENT = -20


def _sane_number(value: Decimal) -> Decimal:
    if abs(value) >= NUMBER_MAGNITUDE_LIMIT:
        raise ValueError(f"must be below {NUMBER_MAGNITUDE_LIMIT:f} in magnitude")
    if value and int(value.as_tuple().exponent) < NUMBER_FINEST_EXPONENT:
        raise ValueError(f"has more than {-NUMBER_FINEST_EXPONENT} decimals")
    return value


UtcDateTime = Annotated[datetime, AfterValidator(_as_utc)]
Number = Annotated[Decimal, AfterValidator(_sane_number)]
NonNegative = Annotated[Number, Field(ge=0)]


def format_ocpi_datetime(value: datetime) -> str:
    """OCPI's DateTime: a string(25), UTC with a ``Z`` (``+00:00`` is not UTC to OCPI), in one of the
    spec's patterns: whole seconds, or milliseconds when there is a fraction (``isoformat`` would give
    microseconds, which no pattern has)."""
    moment = _as_utc(value)
    timespec = "milliseconds" if moment.microsecond else "seconds"
    return moment.replace(tzinfo=None).isoformat(timespec=timespec) + "Z"


def ocpi_json(value: Any) -> str:
    """JSON text of an OCPI document: a ``Decimal`` is written as the JSON number OCPI's ``number`` is, digit
    for digit (pydantic's JSON dump writes it as a string, a float would round it), a ``datetime`` as OCPI's
    DateTime."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return json.dumps(format_ocpi_datetime(value))
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(name)}:{ocpi_json(item)}" for name, item in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(ocpi_json(item) for item in value) + "]"
    return json.dumps(value)


class OcpiModel(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)

    @field_serializer("*", when_used="json")
    def _serialise(self, value: Any) -> Any:
        if isinstance(value, datetime):
            return format_ocpi_datetime(value)
        return value

    def ocpi_json(self) -> str:
        """The object as we send or serve it over OCPI: its numbers JSON numbers (see ``ocpi_json``)."""
        return ocpi_json(self.model_dump(exclude_none=True))


class OcpiStatus(IntEnum):
    SUCCESS = 1000
    CLIENT_ERROR = 2000
    INVALID_PARAMETERS = 2001
    NOT_ENOUGH_INFORMATION = 2002
    UNKNOWN_LOCATION = 2003
    UNKNOWN_TOKEN = 2004
    SERVER_ERROR = 3000
    UNABLE_TO_USE_CLIENT_API = 3001
    UNSUPPORTED_VERSION = 3002
    NO_MATCHING_ENDPOINTS = 3003


def ocpi_envelope(status: int, message: str, data: Any = None, *, timestamp: datetime) -> dict[str, Any]:
    """The body of every OCPI response: data, a four-digit status code, a message and when it was sent."""
    return {
        "data": data,
        "status_code": int(status),
        "status_message": message,
        "timestamp": format_ocpi_datetime(timestamp),
    }


class Price(OcpiModel):
    excl_vat: Number
    incl_vat: Number | None = None


class CdrDimension(OcpiModel):
    type: str
    volume: Number


class ChargingPeriod(OcpiModel):
    start_date_time: UtcDateTime
    dimensions: list[CdrDimension] = Field(min_length=1)
    tariff_id: str | None = None


class CdrToken(OcpiModel):
    country_code: str = Field(min_length=2, max_length=2)
    party_id: str = Field(min_length=3, max_length=3)
    uid: str = Field(max_length=36)
    type: TokenType
    contract_id: str = Field(max_length=36)


class AuthMethod(StrEnum):
    AUTH_REQUEST = "AUTH_REQUEST"
    COMMAND = "COMMAND"
    WHITELIST = "WHITELIST"


class Session(OcpiModel):
    country_code: str = Field(min_length=2, max_length=2)
    party_id: str = Field(min_length=3, max_length=3)
    id: str = Field(max_length=36)
    start_date_time: UtcDateTime
    end_date_time: UtcDateTime | None = None
    kwh: NonNegative
    cdr_token: CdrToken
    auth_method: AuthMethod
    authorization_reference: str | None = Field(default=None, max_length=36)
    location_id: str = Field(max_length=36)
    evse_uid: str = Field(max_length=36)
    connector_id: str = Field(max_length=36)
    meter_id: str | None = None
    currency: str = Field(min_length=3, max_length=3)
    charging_periods: list[ChargingPeriod] = Field(default_factory=list)
    total_cost: Price | None = None
    status: CpoSessionStatus
    last_updated: UtcDateTime


class SessionPatch(OcpiModel):
    """A PATCH carries any subset of Session fields, but always ``last_updated``."""

    start_date_time: UtcDateTime | None = None
    end_date_time: UtcDateTime | None = None
    kwh: NonNegative | None = None
    authorization_reference: str | None = Field(default=None, max_length=36)
    charging_periods: list[ChargingPeriod] | None = None
    total_cost: Price | None = None
    status: CpoSessionStatus | None = None
    last_updated: UtcDateTime


class GeoLocation(OcpiModel):
    latitude: str
    longitude: str


class CdrLocation(OcpiModel):
    id: str = Field(max_length=36)
    name: str | None = None
    address: str = Field(max_length=255)
    city: str
    postal_code: str | None = None
    state: str | None = None
    country: str = Field(min_length=3, max_length=3)
    coordinates: GeoLocation
    evse_uid: str = Field(max_length=36)
    evse_id: str = Field(max_length=48)
    connector_id: str = Field(max_length=36)
    connector_standard: str
    connector_format: str
    connector_power_type: str


class Cdr(OcpiModel):
    country_code: str = Field(min_length=2, max_length=2)
    party_id: str = Field(min_length=3, max_length=3)
    id: str = Field(max_length=39)
    start_date_time: UtcDateTime
    end_date_time: UtcDateTime
    session_id: str | None = Field(default=None, max_length=36)
    cdr_token: CdrToken
    auth_method: AuthMethod
    authorization_reference: str | None = Field(default=None, max_length=36)
    cdr_location: CdrLocation
    meter_id: str | None = None
    currency: str = Field(min_length=3, max_length=3)
    tariffs: list[dict[str, Any]] = Field(default_factory=list)
    charging_periods: list[ChargingPeriod] = Field(min_length=1)
    total_cost: Price
    total_fixed_cost: Price | None = None
    total_energy: Number
    total_energy_cost: Price | None = None
    total_time: Number
    total_time_cost: Price | None = None
    total_parking_time: Number | None = None
    total_parking_cost: Price | None = None
    total_reservation_cost: Price | None = None
    remark: str | None = None
    invoice_reference_id: str | None = None
    credit: bool | None = None
    credit_reference_id: str | None = Field(default=None, max_length=39)
    home_charging_compensation: bool | None = None
    last_updated: UtcDateTime

    def figures(self) -> CdrFigures:
        """What the bounds on any CDR look at, each named by its field."""
        costs = {
            "total_cost": self.total_cost,
            "total_fixed_cost": self.total_fixed_cost,
            "total_energy_cost": self.total_energy_cost,
            "total_time_cost": self.total_time_cost,
            "total_parking_cost": self.total_parking_cost,
            "total_reservation_cost": self.total_reservation_cost,
        }
        return CdrFigures(
            credit=bool(self.credit),
            end=self.end_date_time,
            energy_kwh=self.total_energy,
            hours=(("total_time", self.total_time),)
            + ((("total_parking_time", self.total_parking_time),) if self.total_parking_time is not None else ()),
            costs=tuple(
                (f"{name}.{part}", amount)
                for name, price in costs.items()
                if price is not None
                for part, amount in (("excl_vat", price.excl_vat), ("incl_vat", price.incl_vat))
                if amount is not None
            ),
            volumes=tuple(
                (f"charging_periods[{p}].dimensions[{d}].volume", dimension.volume)
                for p, period in enumerate(self.charging_periods)
                for d, dimension in enumerate(period.dimensions)
            ),
        )

    def facts(self) -> CdrFacts:
        """What the CDR checks of stage 4 look at."""
        return CdrFacts(
            cdr_id=self.id,
            country_code=self.country_code,
            party_id=self.party_id,
            session_id=self.session_id,
            authorization_reference=self.authorization_reference,
            evse_uid=self.cdr_location.evse_uid,
            currency=self.currency,
            start=self.start_date_time,
            end=self.end_date_time,
            total_energy_kwh=self.total_energy,
            total_time_h=self.total_time,
            total_parking_time_h=self.total_parking_time,
            periods=tuple(
                CdrPeriod(p.start_date_time, tuple((d.type, d.volume) for d in p.dimensions))
                for p in self.charging_periods
            ),
        )


class Token(OcpiModel):
    country_code: str = Field(min_length=2, max_length=2)
    party_id: str = Field(min_length=3, max_length=3)
    uid: str = Field(max_length=36)
    type: TokenType
    contract_id: str = Field(max_length=36)
    issuer: str = Field(max_length=64)
    valid: bool
    whitelist: WhitelistType
    last_updated: UtcDateTime


class CommandType(StrEnum):
    CANCEL_RESERVATION = "CANCEL_RESERVATION"
    RESERVE_NOW = "RESERVE_NOW"
    START_SESSION = "START_SESSION"
    STOP_SESSION = "STOP_SESSION"
    UNLOCK_CONNECTOR = "UNLOCK_CONNECTOR"


class StartSession(OcpiModel):
    response_url: str = Field(max_length=255)
    token: Token
    location_id: str = Field(max_length=36)
    evse_uid: str | None = Field(default=None, max_length=36)
    connector_id: str | None = Field(default=None, max_length=36)
    authorization_reference: str | None = Field(default=None, max_length=36)


class StopSession(OcpiModel):
    response_url: str = Field(max_length=255)
    session_id: str = Field(max_length=36)


class CommandResponseType(StrEnum):
    ACCEPTED = "ACCEPTED"
    NOT_SUPPORTED = "NOT_SUPPORTED"
    REJECTED = "REJECTED"
    UNKNOWN_SESSION = "UNKNOWN_SESSION"


class CommandResponse(OcpiModel):
    result: CommandResponseType
    timeout: int = Field(ge=0)
    message: list[dict[str, str]] | None = None


class CommandResultType(StrEnum):
    ACCEPTED = "ACCEPTED"
    CANCELED_RESERVATION = "CANCELED_RESERVATION"
    EVSE_OCCUPIED = "EVSE_OCCUPIED"
    EVSE_INOPERATIVE = "EVSE_INOPERATIVE"
    FAILED = "FAILED"
    NOT_SUPPORTED = "NOT_SUPPORTED"
    REJECTED = "REJECTED"
    TIMEOUT = "TIMEOUT"
    UNKNOWN_RESERVATION = "UNKNOWN_RESERVATION"


class CommandResult(OcpiModel):
    result: CommandResultType
    message: list[dict[str, str]] | None = None


class LocationReferences(OcpiModel):
    """Where a CPO asks us to authorise a token (the body of a real-time authorisation)."""

    location_id: str = Field(min_length=1, max_length=36)
    evse_uids: list[Annotated[str, Field(min_length=1, max_length=36)]] = Field(default_factory=list)


class AllowedType(StrEnum):
    ALLOWED = "ALLOWED"
    BLOCKED = "BLOCKED"
    EXPIRED = "EXPIRED"
    NO_CREDIT = "NO_CREDIT"
    NOT_ALLOWED = "NOT_ALLOWED"
