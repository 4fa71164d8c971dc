"""A CPO as the OCPI credentials handshake leaves it, for tests below the HTTP stack: invited through the
onboarding service, its registration recorded (the token C we issued, its Commands receiver, its role),
then a tariff and a location with one EVSE stored through the Tariffs and Locations receivers' services.
The e2e tests register the demo CPOs for real (``tests/e2e/conftest.py``); these CPOs are other parties,
so both can share a database."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy.orm import Session, sessionmaker

from adapters.token_cipher import TokenCipher
from domain.parties import Cpo
from domain.partners import PostalAddress
from messages.ocpi import OcpiStatus
from persistence import ocpi_connections as connections
from persistence.ocpi_connections import PeerEndpoint, PeerRole, Registration
from persistence.tables import CpoRow
from services import cpo_onboarding
from services.cpo_onboarding import CpoCompany, CpoTerms
from services.ocpi import locations, tariffs
from services.ocpi.credentials import new_token, token_sha256
from tests.conftest import TEST_TOKEN_KEY

PUBLISHED = "2026-01-01T00:00:00Z"
TEST_CPO = Cpo(id="cpo-de-tst", country_code="DE", party_id="TST", active=True)
COMMANDS_URL = "http://127.0.0.1:1/ocpi/2.2.1/commands/"
TEST_CIPHER = TokenCipher(TEST_TOKEN_KEY)


@dataclass(frozen=True, slots=True)
class RegisteredCpo:
    cpo: Cpo
    evse_id: str  # its one EVSE's, e.g. DE*TST*E0001
    location_id: str
    tariff_id: str


def registered_cpo(writes: sessionmaker[Session], cpo: Cpo = TEST_CPO) -> RegisteredCpo:
    """The CPO (its id as invite-cpo makes it), registered, with its tariff and location (made once per
    database)."""
    cpo_id, country_code, party_id = cpo.id, cpo.country_code, cpo.party_id
    name = f"Test CPO {country_code}*{party_id}"
    registered = RegisteredCpo(
        cpo,
        evse_id=f"{country_code}*{party_id}*E0001",
        location_id=f"{party_id}-1",
        tariff_id=f"{party_id}-TARIFF",
    )
    now = datetime.now(UTC)
    with writes.begin() as db:
        if cpo_onboarding.registered_catalogue(db, cpo_id).registered:
            return registered
        company = CpoCompany(
            vat_id="DE276543216", address=PostalAddress("Teststrasse", "10115", "Berlin", building_number="1")
        )
        invitation = cpo_onboarding.invite_cpo(
            db, country_code, party_id, name, company, CpoTerms(commission_percent=Decimal(8)), now=now
        )
        connection = connections.connection_of(db, cpo_id)
        assert connection is not None
        registration = Registration(
            inbound_token_sha256=token_sha256(new_token()),
            versions_url="http://127.0.0.1:1/ocpi/versions",
            version="2.2.1",
            endpoints=[PeerEndpoint("commands", "RECEIVER", COMMANDS_URL)],
            roles=[PeerRole("CPO", country_code, party_id, name)],
        )
        assert connections.record_registration(
            db, connection.key, token_sha256(invitation.token), registration, now=now
        )
        # What the credentials module stores with a registration: where and how to send it commands.
        row = db.get_one(CpoRow, cpo_id)
        row.commands_url, row.outbound_token, row.active = COMMANDS_URL, TEST_CIPHER.seal(new_token()), True
        db.flush()
        tariff = _tariff(registered)
        key = (country_code, party_id, registered.tariff_id)
        assert tariffs.put_tariff(db, registered.cpo, key, tariff).status == OcpiStatus.SUCCESS
        key = (country_code, party_id, registered.location_id)
        assert locations.put(db, registered.cpo, key, _location(registered)).status == OcpiStatus.SUCCESS
    return registered


def _tariff(registered: RegisteredCpo) -> bytes:
    cpo = registered.cpo
    tariff = {
        "country_code": cpo.country_code,
        "party_id": cpo.party_id,
        "id": registered.tariff_id,
        "currency": "EUR",
        "type": "AD_HOC_PAYMENT",
        "elements": [{"price_components": [{"type": "ENERGY", "price": 0.59, "vat": 19.0, "step_size": 1}]}],
        "last_updated": PUBLISHED,
    }
    return json.dumps(tariff).encode()


def _location(registered: RegisteredCpo) -> bytes:
    cpo = registered.cpo
    connector = {
        "id": "1",
        "standard": "IEC_62196_T2_COMBO",
        "format": "CABLE",
        "power_type": "DC",
        "max_voltage": 1000,
        "max_amperage": 150,
        "tariff_ids": [registered.tariff_id],
        "last_updated": PUBLISHED,
    }
    evse = {
        "uid": f"{registered.location_id}-1",
        "evse_id": registered.evse_id,
        "status": "AVAILABLE",
        "connectors": [connector],
        "last_updated": PUBLISHED,
    }
    location = {
        "country_code": cpo.country_code,
        "party_id": cpo.party_id,
        "id": registered.location_id,
        "publish": True,
        "name": "Test location",
        "address": "Teststrasse 1",
        "city": "Berlin",
        "postal_code": "10115",
        "country": "DEU",
        "coordinates": {"latitude": "52.520008", "longitude": "13.404954"},
        "time_zone": "Europe/Berlin",
        "evses": [evse],
        "last_updated": PUBLISHED,
    }
    return json.dumps(location).encode()
