"""OCPI 2.2.1 Locations, EVSEs and Connectors as a CPO pushes them to our Receiver (mod_locations).

Only what we act on is checked beyond its type: the keys, ``status``, ``tariff_ids``, ``time_zone`` (rating
reads it), ``country`` (VAT reads it) and ``last_updated``. Descriptive fields (facilities, images, opening
hours...) pass as received (``extra="allow"``), and so do descriptive enum values we do not know (connector
standards, formats, power types), as a Location is never refused for a newer enum value.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pycountry
from pydantic import AfterValidator, BeforeValidator, Field

from messages.ocpi import OcpiModel, UtcDateTime

CiId = Annotated[str, Field(min_length=1, max_length=36)]


class EvseStatus(StrEnum):
    AVAILABLE = "AVAILABLE"
    BLOCKED = "BLOCKED"
    CHARGING = "CHARGING"
    INOPERATIVE = "INOPERATIVE"
    OUTOFORDER = "OUTOFORDER"
    PLANNED = "PLANNED"
    REMOVED = "REMOVED"
    RESERVED = "RESERVED"
    UNKNOWN = "UNKNOWN"


def _coordinate_text(value: Any) -> Any:
    # Coordinates are strings in OCPI; some CPOs send JSON numbers, which mean the same place.
    return str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value


def _known_time_zone(value: str) -> str:
    # Rating reads tariff restrictions in this zone: a Location whose zone we cannot load cannot be rated.
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValueError("is not an IANA time zone") from error
    return value


def _known_alpha3(value: str) -> str:
    if pycountry.countries.get(alpha_3=value.upper()) is None:
        raise ValueError("is not an ISO 3166-1 alpha-3 country code")
    return value


Latitude = Annotated[str, BeforeValidator(_coordinate_text), Field(pattern=r"^-?[0-9]{1,2}\.[0-9]{5,7}$")]
Longitude = Annotated[str, BeforeValidator(_coordinate_text), Field(pattern=r"^-?[0-9]{1,3}\.[0-9]{5,7}$")]


class GeoLocation(OcpiModel):
    latitude: Latitude
    longitude: Longitude


class Connector(OcpiModel):
    id: CiId
    standard: str = Field(min_length=1, max_length=32)
    format: str = Field(min_length=1, max_length=16)
    power_type: str = Field(min_length=1, max_length=16)
    max_voltage: int = Field(ge=0)
    max_amperage: int = Field(ge=0)
    max_electric_power: int | None = Field(default=None, ge=0)
    tariff_ids: list[CiId] = Field(default_factory=list)  # empty: unknown, not free
    terms_and_conditions: str | None = Field(default=None, max_length=255)
    last_updated: UtcDateTime


class EvseFields(OcpiModel):
    """An EVSE's own fields: what a PATCH that leaves its connectors alone changes."""

    uid: CiId
    evse_id: str | None = Field(default=None, min_length=1, max_length=48)
    status: EvseStatus
    last_updated: UtcDateTime


class Evse(EvseFields):
    connectors: list[Connector] = Field(min_length=1)


class Location(OcpiModel):
    country_code: str = Field(min_length=2, max_length=2)
    party_id: str = Field(min_length=3, max_length=3)
    id: CiId
    publish: bool
    name: str | None = Field(default=None, max_length=255)
    address: str = Field(max_length=255)
    city: str = Field(max_length=45)
    postal_code: str | None = Field(default=None, max_length=10)
    country: Annotated[str, Field(min_length=3, max_length=3), AfterValidator(_known_alpha3)]
    coordinates: GeoLocation
    evses: list[Evse] = Field(default_factory=list)
    time_zone: Annotated[str, Field(max_length=255), AfterValidator(_known_time_zone)]
    last_updated: UtcDateTime

    @property
    def country_alpha2(self) -> str:
        """The country as our VAT rules name it (ISO 3166-1 alpha-2)."""
        country = pycountry.countries.get(alpha_3=self.country.upper())
        assert country is not None  # checked on parsing
        return str(country.alpha_2)


class ObjectPatch(OcpiModel):
    """A PATCH at any depth: only what changed, and when (OCPI requires ``last_updated`` on every PATCH).
    The object it leaves is checked as a whole, as a PUT would be."""

    last_updated: UtcDateTime
