"""Our side of the demo network: FX rates and demand partners billing in EUR and GBP, with their contracts.
Seeding is idempotent: rows that exist are left as they are. The demo CPOs (CH, DE, FR) are the
simulator's (``simulator/catalogue.py``) and register over OCPI like any CPO.

The API keys below are development credentials for the local demo database only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from adapters.fx_ecb import embedded_history
from domain.partners import NewDemandPartner, PostalAddress, einvoice_party
from domain.payouts.bank import bank_account
from domain.settlement.contracts import party_einvoicing, revenue_share_terms
from domain.tokens import TokenType, WhitelistType
from domain.vat.parties import validate_vat_id
from persistence import tokens
from persistence.contracts import ensure_contract
from persistence.fx import store_rates
from persistence.parties import set_postal_address
from persistence.tables import DemandPartnerRow
from services.partners import add_demand_partner, register_api_key
from services.tokens import TokenRequest, checked_fields

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


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
    einvoice: dict[str, Any] = field(default_factory=dict)  # its e-invoice terms; {} takes its country's defaults


# VAT ids are fictitious but pass their country's check digits (python-stdnum).
PARTNERS = (
    DemoPartner(
        "dp-roamly",
        "Roamly Charging App B.V.",
        "NL",
        "NL812345678B01",
        "EUR",
        "nc_dev_roamly_4c1f0a9e7b2d44e8",
        address=PostalAddress("Keizersgracht", "1015 CW", "Amsterdam", building_number="100"),
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
        address=PostalAddress("Wharf Road", "N1 7GR", "London", building_number="12"),
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
        address=PostalAddress("Leopoldstrasse", "80802", "München", building_number="12"),
        iban="DE75512108001245126199",
        einvoice={
            "format": "XRECHNUNG_CII",
            "buyer_reference": "FW-AP-2026",
            "contact": {
                "name": "Fahrwerk Buchhaltung",
                "telephone": "+49 89 2000 4711",
                "email": "ap@fahrwerk.example",
            },
        },
    ),
    DemoPartner(
        "dp-voyageo",
        "Voyageo Energie SAS",
        "FR",
        "FR44732829320",
        "EUR",
        "nc_dev_voyageo_8a3f2d61c9e04b77",
        address=PostalAddress("rue de la République", "69002", "Lyon", building_number="18"),
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
        address=PostalAddress("Mariahilfer Strasse", "1060", "Wien", building_number="1"),
        cadence="MONTHLY",
        iban="AT611904300234573201",
        bic="BKAUATWWXXX",
        einvoice={"format": "UBL"},
    ),
    DemoPartner(
        "dp-dormant",
        "Dormant Wallet Ltd",
        "IE",
        "IE9876543H",
        "EUR",
        "nc_dev_dormant_0d7e5a2f66c14b3a",
        active=False,
        address=PostalAddress("Dock Road", "D02 X285", "Dublin", building_number="1"),
    ),
)


@dataclass(frozen=True, slots=True)
class DemoToken:
    """A driver's token a demo partner registered: an RFID card (whose contract id a Plug & Charge car of the
    same contract presents too) or a blocked one."""

    partner_id: str
    uid: str
    contract_id: str
    visual_number: str
    valid: bool = True


# Cards the demo's drivers tap at the simulator's chargers (``cli/demo.py``); the car of the first one's
# contract plugs and charges with its eMA-ID.
DEMO_TOKENS = (
    DemoToken("dp-roamly", "04D0E0A0000001", "NL-RML-C00000001-Q", "RML-0001"),
    DemoToken("dp-roamly", "04D0E0A0000002", "NL-RML-C00000002-N", "RML-0002"),
    DemoToken("dp-motorbrit", "04D0E0B0000001", "GB-MBR-C00000001-7", "MBR-0001"),
    DemoToken("dp-motorbrit", "04D0E0B0000002", "GB-MBR-C00000002-4", "MBR-0002", valid=False),
)


def ensure_demo_token(db: Session, token: DemoToken, *, now: datetime) -> None:
    """Register the token where its partner has not yet (checked as ``/v1/tokens`` checks it)."""
    if tokens.partner_token(db, token.partner_id, token.uid, TokenType.RFID) is not None:
        return
    request = TokenRequest(
        uid=token.uid,
        type=TokenType.RFID,
        contract_id=token.contract_id,
        visual_number=token.visual_number,
        issuer=next(partner.name for partner in PARTNERS if partner.id == token.partner_id),
        whitelist=WhitelistType.ALLOWED,
        valid=token.valid,
        valid_until=None,
        language=None,
    )
    tokens.add_token(db, token.partner_id, checked_fields(request, now=now), now=now)


def demand_partner_terms(partner: DemoPartner) -> dict[str, Any]:
    return {
        "billing_currency": partner.currency,
        "revenue_share": {"percent": "15", "basis": "COMMISSION"},
        "credit": {"limit": "50000.00", "session_cap": "80.00", "hold_days": 7},
        "invoicing": {"model": "CHAIN", "cadence": partner.cadence, "taxable_dealer": partner.taxable_dealer},
        "payout": partner.payout,
    } | ({"einvoice": partner.einvoice} if partner.einvoice else {})


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
    # Checked now, as onboarding checks them, so that a seed lacking what a format needs fails here.
    sells = "revenue_share" in terms and revenue_share_terms(terms).percent > 0
    party_einvoicing(terms, einvoice_party(new, issues_in_its_name=sells))
    if existing is None:
        add_demand_partner(db, new, terms, now=EPOCH)
        register_api_key(db, partner.id, partner.api_key, now=EPOCH, expires_at=None)
        return
    # The demo network's identities follow the seed (databases seeded before addresses existed).
    set_postal_address(existing, partner.address)
    existing.vat_id = validate_vat_id(partner.country, partner.vat_id)
    existing.iban, existing.bic = iban, bic
    ensure_contract(db, "DEMAND_PARTNER", partner.id, terms, now=now, first_from=EPOCH)


def seed_fx_rates(db: Session) -> int:
    """The embedded ECB history's last two years (what sessions can need), where not yet stored."""
    rates = list(embedded_history())
    since = max(r.as_of for r in rates) - timedelta(days=730)
    return store_rates(db, (r for r in rates if r.as_of >= since))


def seed_database(writes: sessionmaker[Session]) -> None:
    """Insert our side of the demo network where it is missing (safe to run again): FX rates, the demand
    partners and their contracts (which move to the terms above as new versions), their drivers' demo
    tokens. The demo CPOs are not ours to write: they register over OCPI (``cli/devstack.py``,
    ``simulator/catalogue.py``)."""
    now = datetime.now(UTC)
    with writes.begin() as db:
        seed_fx_rates(db)
        for partner in PARTNERS:
            ensure_demand_partner(db, partner, demand_partner_terms(partner), now=now)
        for token in DEMO_TOKENS:
            ensure_demo_token(db, token, now=now)
