"""The demo network's CPOs as the simulator plays them: what each runs (locations, EVSEs, its tariff,
published over OCPI when it registers) and the company details and contract terms its operator gives us
at onboarding (``networkcore partners invite-cpo`` options). Our own side of the demo (platform, demand
partners) is ``cli/seed.py``.

The VAT ids are fictitious but pass their country's check digits (python-stdnum).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from domain.partners import PostalAddress
from messages.ocpi import format_ocpi_datetime

PUBLISHED = datetime(2026, 1, 1, tzinfo=UTC)  # when the demo CPOs published their tariffs and locations


@dataclass(frozen=True)
class DemoEvse:
    uid: str
    evse_id: str
    max_power_kw: Decimal
    connector_standard: str = "IEC_62196_T2_COMBO"
    connector_format: str = "CABLE"
    power_type: str = "DC"


@dataclass(frozen=True)
class DemoLocation:
    id: str
    name: str
    address: str
    city: str
    postal_code: str
    country_alpha3: str
    latitude: str
    longitude: str
    time_zone: str
    evses: tuple[DemoEvse, ...]


@dataclass(frozen=True)
class DemoCpo:
    name: str
    country_code: str
    party_id: str
    vat_id: str
    address: PostalAddress
    currency: str
    tariff: dict[str, Any]
    locations: tuple[DemoLocation, ...] = field(default_factory=tuple)
    iban: str | None = None
    bic: str | None = None
    payout: dict[str, Any] = field(default_factory=dict)  # the contract's payout terms; {} takes the defaults

    @property
    def id(self) -> str:
        """The id invite-cpo gives it."""
        return f"cpo-{self.country_code}-{self.party_id}".lower()

    @property
    def party(self) -> str:
        """How the simulator's URLs name it, e.g. ``de-stn``."""
        return f"{self.country_code}-{self.party_id}".lower()


def _tariff(
    country_code: str, party_id: str, tariff_id: str, currency: str, elements: list[dict[str, Any]]
) -> dict[str, Any]:
    return {
        "country_code": country_code,
        "party_id": party_id,
        "id": tariff_id,
        "currency": currency,
        "type": "AD_HOC_PAYMENT",
        "elements": elements,
        "last_updated": format_ocpi_datetime(PUBLISHED),
    }


CPOS = (
    DemoCpo(
        name="VoltaSwiss AG",
        country_code="CH",
        party_id="VSW",
        vat_id="CHE-109.322.551 MWST",
        address=PostalAddress("Route de Meyrin", "1202", "Genève", building_number="12"),
        currency="CHF",
        iban="CH9300762011623852957",
        bic="POFICHBEXXX",
        payout={"schedule": "INSTANT"},
        tariff=_tariff(
            "CH",
            "VSW",
            "VSW-DC-STANDARD",
            "CHF",
            [
                {"price_components": [{"type": "ENERGY", "price": 0.62, "vat": 8.1, "step_size": 1}]},
                {"price_components": [{"type": "PARKING_TIME", "price": 6.00, "vat": 8.1, "step_size": 60}]},
            ],
        ),
        locations=(
            DemoLocation(
                "ZRH-HB",
                "Zürich Hauptbahnhof P+R",
                "Museumstrasse 1",
                "Zürich",
                "8001",
                "CHE",
                "47.378177",
                "8.540192",
                "Europe/Zurich",
                (
                    DemoEvse("ZRH-HB-1", "CH*VSW*E1001", Decimal("150")),
                    DemoEvse("ZRH-HB-2", "CH*VSW*E1002", Decimal("150")),
                ),
            ),
            DemoLocation(
                "GVA-AIR",
                "Genève Aéroport P51",
                "Route de l'Aéroport 21",
                "Genève",
                "1215",
                "CHE",
                "46.229217",
                "6.108960",
                "Europe/Zurich",
                (DemoEvse("GVA-AIR-1", "CH*VSW*E2001", Decimal("50")),),
            ),
        ),
    ),
    DemoCpo(
        name="Stromnetz Laden GmbH",
        country_code="DE",
        party_id="STN",
        vat_id="DE276543216",
        address=PostalAddress("Landsberger Strasse", "80339", "München", building_number="88"),
        currency="EUR",
        iban="DE89370400440532013000",
        payout={"schedule": "DAILY", "time": "06:00", "minimum": {"EUR": "50.00"}},
        tariff=_tariff(
            "DE",
            "STN",
            "STN-AC-DC",
            "EUR",
            [
                {"price_components": [{"type": "ENERGY", "price": 0.59, "vat": 19.0, "step_size": 1}]},
                {
                    "price_components": [{"type": "PARKING_TIME", "price": 6.00, "vat": 19.0, "step_size": 60}],
                    "restrictions": {"min_duration": 14400},
                },
            ],
        ),
        locations=(
            DemoLocation(
                "BER-ALEX",
                "Berlin Alexanderplatz Parkhaus",
                "Alexanderstraße 7",
                "Berlin",
                "10178",
                "DEU",
                "52.521918",
                "13.413215",
                "Europe/Berlin",
                (
                    DemoEvse("BER-ALEX-1", "DE*STN*E3001", Decimal("300")),
                    DemoEvse("BER-ALEX-2", "DE*STN*E3002", Decimal("300")),
                ),
            ),
            DemoLocation(
                "MUC-OST",
                "München Ostbahnhof",
                "Friedenstraße 10",
                "München",
                "81671",
                "DEU",
                "48.127357",
                "11.604587",
                "Europe/Berlin",
                (DemoEvse("MUC-OST-1", "DE*STN*E4001", Decimal("22"), "IEC_62196_T2", "SOCKET", "AC_3_PHASE"),),
            ),
        ),
    ),
    DemoCpo(
        name="Borneo Recharge SAS",
        country_code="FR",
        party_id="BRN",
        vat_id="FR19812345676",
        address=PostalAddress("quai Jules Courmont", "69002", "Lyon", building_number="5"),
        currency="EUR",
        iban="FR7630006000011234567890189",
        payout={"schedule": "WEEKLY", "weekday": "MONDAY", "time": "07:00"},
        tariff=_tariff(
            "FR",
            "BRN",
            "BRN-RAPIDE",
            "EUR",
            [
                {
                    "price_components": [
                        {"type": "FLAT", "price": 0.50, "vat": 20.0, "step_size": 1},
                        {"type": "ENERGY", "price": 0.49, "vat": 20.0, "step_size": 1},
                    ]
                },
            ],
        ),
        locations=(
            DemoLocation(
                "PAR-BERCY",
                "Paris Bercy Village",
                "28 Rue François Truffaut",
                "Paris",
                "75012",
                "FRA",
                "48.832670",
                "2.386720",
                "Europe/Paris",
                (
                    DemoEvse("PAR-BERCY-1", "FR*BRN*E5001", Decimal("100")),
                    DemoEvse("PAR-BERCY-2", "FR*BRN*E5002", Decimal("100")),
                ),
            ),
            DemoLocation(
                "LYS-PD",
                "Lyon Part-Dieu",
                "17 Rue du Docteur Bouchut",
                "Lyon",
                "69003",
                "FRA",
                "45.760570",
                "4.859500",
                "Europe/Paris",
                (DemoEvse("LYS-PD-1", "FR*BRN*E6001", Decimal("50")),),
            ),
        ),
    ),
)


# Every demo CPO's commission (amounts in its tariff's currency); its payout terms are its own.
COMMISSION: dict[str, Any] = {"percent": "8", "minimum": "0.20", "maximum": "5.00"}


def all_evse_ids() -> list[str]:
    return [evse.evse_id for cpo in CPOS for location in cpo.locations for evse in location.evses]


def simulator_config(
    public_url: str,
    *,
    state_file: str | None = None,
    charge_duration_s: float = 2.0,
    patch_interval_s: float = 0.5,
) -> dict[str, Any]:
    """The simulator's configuration (``simulator.config.SimulatorConfig``): it plays all three CPOs,
    reachable at ``public_url``, keeping its OCPI credentials in ``state_file`` (in memory without one)."""
    return {
        "public_url": public_url,
        "state_file": state_file,
        "charge_duration_s": charge_duration_s,
        "patch_interval_s": patch_interval_s,
        "cpos": [
            {
                "country_code": cpo.country_code,
                "party_id": cpo.party_id,
                "name": cpo.name,
                "locations": [
                    {
                        "id": loc.id,
                        "name": loc.name,
                        "address": loc.address,
                        "city": loc.city,
                        "postal_code": loc.postal_code,
                        "country_alpha3": loc.country_alpha3,
                        "latitude": loc.latitude,
                        "longitude": loc.longitude,
                        "time_zone": loc.time_zone,
                        "last_updated": format_ocpi_datetime(PUBLISHED),
                        "evses": [
                            {
                                "uid": evse.uid,
                                "evse_id": evse.evse_id,
                                "connector_id": "1",
                                "connector_standard": evse.connector_standard,
                                "connector_format": evse.connector_format,
                                "power_type": evse.power_type,
                                "max_power_kw": str(evse.max_power_kw),
                                "tariff": cpo.tariff,
                            }
                            for evse in loc.evses
                        ],
                    }
                    for loc in cpo.locations
                ],
            }
            for cpo in CPOS
        ],
    }
