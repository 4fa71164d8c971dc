"""The demo network: CPOs in CH, DE and FR (CHF and EUR tariffs, real time zones), demand partners
billing in EUR and GBP. Seeding is idempotent: rows that exist are left as they are.

The API keys and OCPI tokens below are development credentials for the local demo database only.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from adapters.fx_ecb import embedded_history
from adapters.token_cipher import TokenCipher
from domain.partners import NewDemandPartner, PostalAddress
from domain.payouts.bank import bank_account
from domain.vat.parties import validate_vat_id
from messages.ocpi import format_ocpi_datetime
from messages.ocpi_locations import Location
from persistence.contracts import ensure_contract
from persistence.fx import store_rates
from persistence.locations import store_location
from persistence.ocpi_connections import ConnectionState
from persistence.tables import (
    CpoRow,
    DemandPartnerRow,
    OcpiConnectionRow,
    TariffRow,
)
from services.partners import add_demand_partner, register_api_key

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
TARIFF_PUBLISHED = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class DemoPartner:
    id: str
    name: str
    country: str
    vat_id: str
    currency: str
    api_key: str
    active: bool = True
    address: PostalAddress | None = None
    cadence: str = "PER_SESSION"  # or MONTHLY: one statement a month
    taxable_dealer: bool = False  # Art. 38: reselling electricity is its main activity
    iban: str | None = None  # where its revenue share is paid
    bic: str | None = None
    payout: dict[str, Any] = field(default_factory=dict)  # the contract's payout terms; {} takes the defaults


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
    country: str  # alpha-2
    country_alpha3: str
    latitude: str
    longitude: str
    time_zone: str
    evses: tuple[DemoEvse, ...]


@dataclass(frozen=True)
class DemoCpo:
    id: str
    name: str
    country_code: str
    party_id: str
    vat_id: str
    address: str
    currency: str
    token_to_emsp: str  # what the CPO presents to us
    token_from_emsp: str  # what we present to the CPO
    tariff: dict[str, Any]
    locations: tuple[DemoLocation, ...] = field(default_factory=tuple)
    iban: str | None = None
    bic: str | None = None
    payout: dict[str, Any] = field(default_factory=dict)


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
        "last_updated": TARIFF_PUBLISHED.isoformat().replace("+00:00", "Z"),
    }


# VAT ids are fictitious but pass their country's check digits (python-stdnum).
PARTNERS = (
    DemoPartner(
        "dp-roamly",
        "Roamly Charging App B.V.",
        "NL",
        "NL812345678B01",
        "EUR",
        "nc_dev_roamly_4c1f0a9e7b2d44e8",
        address=PostalAddress("Keizersgracht 100", "1015 CW", "Amsterdam"),
        iban="NL91ABNA0417164300",
        payout={"schedule": "MONTHLY", "day": 1, "time": "06:00"},
    ),
    DemoPartner(
        "dp-motorbrit",
        "MotorBrit Fleet Ltd",
        "GB",
        "GB723456789",
        "GBP",
        "nc_dev_motorbrit_9e2b7c31d04a4f55",
        address=PostalAddress("12 Wharf Road", "N1 7GR", "London"),
        iban="GB29NWBK60161331926819",
        payout={"schedule": "WEEKLY", "weekday": "FRIDAY", "time": "09:00", "minimum": {"CHF": "1.00"}},
    ),
    DemoPartner(
        "dp-fahrwerk",
        "Fahrwerk Mobility GmbH",
        "DE",
        "DE281045677",
        "EUR",
        "nc_dev_fahrwerk_51c7e0b9a3d24f61",
        address=PostalAddress("Leopoldstrasse 12", "80802", "München"),
        iban="DE75512108001245126199",
    ),
    DemoPartner(
        "dp-voyageo",
        "Voyageo Energie SAS",
        "FR",
        "FR44732829320",
        "EUR",
        "nc_dev_voyageo_8a3f2d61c9e04b77",
        address=PostalAddress("18 rue de la République", "69002", "Lyon"),
        taxable_dealer=True,
        iban="FR1420041010050500013M02606",
    ),
    DemoPartner(
        "dp-alpenflotte",
        "Alpenflotte Leasing GmbH",
        "AT",
        "ATU12345675",
        "EUR",
        "nc_dev_alpenflotte_2e9b4c70d81f4a3c",
        address=PostalAddress("Mariahilfer Strasse 1", "1060", "Wien"),
        cadence="MONTHLY",
        iban="AT611904300234573201",
        bic="BKAUATWWXXX",
    ),
    DemoPartner(
        "dp-dormant",
        "Dormant Wallet Ltd",
        "IE",
        "IE9876543H",
        "EUR",
        "nc_dev_dormant_0d7e5a2f66c14b3a",
        active=False,
        address=PostalAddress("1 Dock Road", "D02 X285", "Dublin"),
    ),
)

CPOS = (
    DemoCpo(
        id="cpo-ch-voltaswiss",
        name="VoltaSwiss AG",
        country_code="CH",
        party_id="VSW",
        vat_id="CHE-109.322.551 MWST",
        address="Route de Meyrin 12, 1202 Genève",
        currency="CHF",
        token_to_emsp="ocpi-dev-voltaswiss-to-nc-5b8e",
        token_from_emsp="ocpi-dev-nc-to-voltaswiss-2d4a",
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
                "CH",
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
                "CH",
                "CHE",
                "46.229217",
                "6.108960",
                "Europe/Zurich",
                (DemoEvse("GVA-AIR-1", "CH*VSW*E2001", Decimal("50")),),
            ),
        ),
    ),
    DemoCpo(
        id="cpo-de-stromnetz",
        name="Stromnetz Laden GmbH",
        country_code="DE",
        party_id="STN",
        vat_id="DE276543216",
        address="Landsberger Strasse 88, 80339 München",
        currency="EUR",
        token_to_emsp="ocpi-dev-stromnetz-to-nc-7c1d",
        token_from_emsp="ocpi-dev-nc-to-stromnetz-8e3f",
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
                "DE",
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
                "DE",
                "DEU",
                "48.127357",
                "11.604587",
                "Europe/Berlin",
                (DemoEvse("MUC-OST-1", "DE*STN*E4001", Decimal("22"), "IEC_62196_T2", "SOCKET", "AC_3_PHASE"),),
            ),
        ),
    ),
    DemoCpo(
        id="cpo-fr-borneo",
        name="Borneo Recharge SAS",
        country_code="FR",
        party_id="BRN",
        vat_id="FR19812345676",
        address="5 quai Jules Courmont, 69002 Lyon",
        currency="EUR",
        token_to_emsp="ocpi-dev-borneo-to-nc-3a9b",
        token_from_emsp="ocpi-dev-nc-to-borneo-6f0c",
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
                "FR",
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
                "FR",
                "FRA",
                "45.760570",
                "4.859500",
                "Europe/Paris",
                (DemoEvse("LYS-PD-1", "FR*BRN*E6001", Decimal("50")),),
            ),
        ),
    ),
)


def all_evse_ids() -> list[str]:
    return [evse.evse_id for cpo in CPOS for location in cpo.locations for evse in location.evses]


def _sha256(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def demand_partner_terms(partner: DemoPartner) -> dict[str, Any]:
    return {
        "billing_currency": partner.currency,
        "revenue_share": {"percent": "15", "basis": "COMMISSION"},
        "credit": {"limit": "50000.00", "session_cap": "80.00", "hold_days": 7},
        "invoicing": {"model": "CHAIN", "cadence": partner.cadence, "taxable_dealer": partner.taxable_dealer},
        "payout": partner.payout,
    }


CPO_TERMS: dict[str, Any] = {"commission": {"percent": "8", "minimum": "0.20", "maximum": "5.00"}}


def cpo_terms(cpo: DemoCpo) -> dict[str, Any]:
    return CPO_TERMS | {"payout": cpo.payout}


def _bank_details(holder: str, country: str, iban: str | None, bic: str | None) -> tuple[str | None, str | None]:
    """Checked now, so a typo in the seed fails here rather than at the first payout."""
    if iban is None:
        return None, None
    account = bank_account(holder, country, iban, bic)
    return account.iban, account.bic


def ensure_demand_partner(db: Session, partner: DemoPartner, terms: dict[str, Any], *, now: datetime) -> None:
    """The partner, its API key and its contract on ``terms`` (tests add partners of their own with it)."""
    iban, bic = _bank_details(partner.name, partner.country, partner.iban, partner.bic)
    existing = db.get(DemandPartnerRow, partner.id)
    if existing is None:
        new = NewDemandPartner(
            id=partner.id,
            legal_entity=partner.name,
            country=partner.country,
            vat_id=validate_vat_id(partner.country, partner.vat_id),
            billing_currency=partner.currency,
            address=partner.address,
            iban=iban,
            bic=bic,
            active=partner.active,
        )
        add_demand_partner(db, new, terms, now=EPOCH)
        register_api_key(db, partner.id, partner.api_key, now=EPOCH, expires_at=None)
        return
    # The demo network's identities follow the seed (databases seeded before addresses existed).
    address = partner.address
    existing.address = None if address is None else address.line(partner.country)
    existing.street, existing.postal_code, existing.city = (
        (None, None, None) if address is None else (address.street, address.postal_code, address.city)
    )
    existing.vat_id = validate_vat_id(partner.country, partner.vat_id)
    existing.iban, existing.bic = iban, bic
    ensure_contract(db, "DEMAND_PARTNER", partner.id, terms, now=now, first_from=EPOCH)


def seed_fx_rates(db: Session) -> int:
    """The embedded ECB history's last two years (what sessions can need), where not yet stored."""
    rates = list(embedded_history())
    since = max(r.as_of for r in rates) - timedelta(days=730)
    return store_rates(db, (r for r in rates if r.as_of >= since))


def seed_database(writes: sessionmaker[Session], simulator_url: str, *, token_cipher: TokenCipher) -> None:
    """Insert the demo network where it is missing (safe to run again); the demo CPOs' commands URL
    always points at ``simulator_url``; contracts move to the terms below as new versions."""
    now = datetime.now(UTC)
    with writes.begin() as db:
        seed_fx_rates(db)
        for partner in PARTNERS:
            ensure_demand_partner(db, partner, demand_partner_terms(partner), now=now)
        for cpo in CPOS:
            ensure_contract(db, "CPO", cpo.id, cpo_terms(cpo), now=now, first_from=EPOCH)
        for cpo in CPOS:
            existing = db.get(CpoRow, cpo.id)
            if existing is not None:
                # The simulator may listen elsewhere this time: point the demo CPOs at it.
                existing.commands_url = f"{simulator_url}/ocpi/cpo/2.2.1/commands/"
                existing.address = cpo.address
                existing.vat_id = validate_vat_id(cpo.country_code, cpo.vat_id)
                existing.iban, existing.bic = _bank_details(cpo.name, cpo.country_code, cpo.iban, cpo.bic)
                continue
            iban, bic = _bank_details(cpo.name, cpo.country_code, cpo.iban, cpo.bic)
            db.add(
                CpoRow(
                    id=cpo.id,
                    name=cpo.name,
                    legal_entity=cpo.name,
                    country_code=cpo.country_code,
                    party_id=cpo.party_id,
                    country=cpo.country_code,
                    vat_id=validate_vat_id(cpo.country_code, cpo.vat_id),
                    address=cpo.address,
                    payout_currency=cpo.currency,
                    iban=iban,
                    bic=bic,
                    active=True,
                    commands_url=f"{simulator_url}/ocpi/cpo/2.2.1/commands/",
                    outbound_token=token_cipher.seal(cpo.token_from_emsp),
                )
            )
            db.flush()
            # Registered out of band: the token it presents to us, as OCPI registration would store it.
            db.add(
                OcpiConnectionRow(
                    cpo_id=cpo.id,
                    state=ConnectionState.REGISTERED,
                    inbound_token_sha256=_sha256(cpo.token_to_emsp),
                    created_at=now,
                    updated_at=now,
                    registered_at=now,
                )
            )
            db.add(
                TariffRow(
                    cpo_id=cpo.id,
                    tariff_id=cpo.tariff["id"],
                    currency=cpo.currency,
                    last_updated=TARIFF_PUBLISHED,
                    start_date_time=None,
                    end_date_time=None,
                    body=json.dumps(cpo.tariff),
                )
            )
            db.flush()
            for location in cpo.locations:
                document = ocpi_location(cpo, location)
                store_location(db, cpo.id, Location.model_validate(document), document, now=now)


def ocpi_location(cpo: DemoCpo, location: DemoLocation) -> dict[str, Any]:
    """The demo Location as its CPO would PUT it: one connector per EVSE, priced by the CPO's tariff."""
    published = format_ocpi_datetime(TARIFF_PUBLISHED)
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
                        "id": "1",
                        "standard": evse.connector_standard,
                        "format": evse.connector_format,
                        "power_type": evse.power_type,
                        **_rating_plate(evse),
                        "tariff_ids": [cpo.tariff["id"]],
                        "last_updated": published,
                    }
                ],
            }
            for evse in location.evses
        ],
    }


def _rating_plate(evse: DemoEvse) -> dict[str, int]:
    """Voltage and current that give the EVSE's power: DC chargers at 1000 V, AC at 230 V per phase."""
    watts = int(evse.max_power_kw * 1000)
    volts, phases = (1000, 1) if evse.power_type == "DC" else (230, 3 if evse.power_type == "AC_3_PHASE" else 1)
    return {"max_voltage": volts, "max_amperage": -(-watts // (volts * phases)), "max_electric_power": watts}


def simulator_config(
    emsp_base_url: str, *, charge_duration_s: float = 2.0, patch_interval_s: float = 0.5
) -> dict[str, Any]:
    """The simulator's view of the same network: it plays all three CPOs."""
    return {
        "emsp_base_url": emsp_base_url,
        "charge_duration_s": charge_duration_s,
        "patch_interval_s": patch_interval_s,
        "cpos": [
            {
                "country_code": cpo.country_code,
                "party_id": cpo.party_id,
                "name": cpo.name,
                "token_to_emsp": cpo.token_to_emsp,
                "token_from_emsp": cpo.token_from_emsp,
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
