"""The OCPI 2.2.1 objects a simulated CPO publishes: its Locations (one connector per EVSE, priced by the
EVSE's tariff) and its Tariffs, as it PUTs them to the eMSP and serves them on its Sender interfaces."""

from __future__ import annotations

from typing import Any

from messages.ocpi import format_ocpi_datetime
from simulator.config import SimCpo, SimEvse, SimLocation


def ocpi_location(cpo: SimCpo, location: SimLocation) -> dict[str, Any]:
    published = format_ocpi_datetime(location.last_updated)
    return {
        "country_code": cpo.country_code,
        "party_id": cpo.party_id,
        "id": location.id,
        "publish": True,
        "name": location.name,
        "address": location.address,
        "city": location.city,
        "postal_code": location.postal_code,
        "country": location.country_alpha3,
        "coordinates": {"latitude": location.latitude, "longitude": location.longitude},
        "time_zone": location.time_zone,
        "last_updated": published,
        "evses": [
            {
                "uid": evse.uid,
                "evse_id": evse.evse_id,
                "status": "AVAILABLE",
                "last_updated": published,
                "connectors": [
                    {
                        "id": evse.connector_id,
                        "standard": evse.connector_standard,
                        "format": evse.connector_format,
                        "power_type": evse.power_type,
                        **_rating_plate(evse),
                        "tariff_ids": [evse.tariff["id"]],
                        "last_updated": published,
                    }
                ],
            }
            for evse in location.evses
        ],
    }


def ocpi_locations(cpo: SimCpo) -> list[dict[str, Any]]:
    return [ocpi_location(cpo, location) for location in cpo.locations]


def _rating_plate(evse: SimEvse) -> dict[str, int]:
    """Voltage and current that give the EVSE's power: DC chargers at 1000 V, AC at 230 V per phase."""
    watts = int(evse.max_power_kw * 1000)
    volts, phases = (1000, 1) if evse.power_type == "DC" else (230, 3 if evse.power_type == "AC_3_PHASE" else 1)
    return {"max_voltage": volts, "max_amperage": -(-watts // (volts * phases)), "max_electric_power": watts}
