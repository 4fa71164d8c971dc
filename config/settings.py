"""Settings, read only by the entry points (api, workers, cli) and passed down as plain values."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from domain.einvoice.build import PartyDetails
from domain.einvoice.model import Contact, ElectronicAddress
from domain.einvoice.recipients import EAS_CODES, electronic_address_from_vat_id
from domain.partners import PostalAddress, checked_address, checked_country
from domain.payouts.bank import BankAccount, bank_account
from domain.vat.parties import validate_vat_id
from domain.vat.treatment import TaxParty

DATA_DIR = Path(".data")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NETWORKCORE_", env_file=".env", extra="ignore")

    # DATABASE_URL (no prefix) is the conventional name; SQLite file by default.
    database_url: str = Field(
        default=f"sqlite:///{DATA_DIR / 'networkcore.db'}",
        validation_alias="DATABASE_URL",
    )

    temporal_address: str = "127.0.0.1:7233"
    temporal_namespace: str = "default"
    task_queue: str = "charging-sessions"
    temporal_ui_port: int = 8233
    temporal_db_file: Path = DATA_DIR / "temporal.db"

    api_host: str = "127.0.0.1"
    api_port: int = 8000
    # How long the API (and the simulator) keep an idle connection open: longer than the idle timeout of a
    # client's pool (httpx 5 s) or of a load balancer in front (often 60 s). Whichever side closes first must
    # be the client's: a request sent on a connection the server is closing fails (httpx.ReadError, or a 502).
    http_keep_alive_s: int = Field(default=75, gt=0)
    # Where CPOs reach our OCPI endpoints (response_url of commands is built from it).
    public_base_url: str = "http://127.0.0.1:8000"

    simulator_host: str = "127.0.0.1"
    simulator_port: int = 8100

    # Our own OCPI identity (the eMSP role towards CPOs).
    ocpi_country_code: str = "CH"
    ocpi_party_id: str = "NWC"
    # The key the tokens we present to CPOs are encrypted with at rest (adapters/token_cipher.py; make one
    # with `networkcore token-key`). Required by the API and the worker; `networkcore dev` makes one.
    ocpi_token_key: str = ""
    # A CPO's URLs must be https on a public address (no SSRF into our network); the dev stack and the
    # tests, whose CPOs listen on http://127.0.0.1, allow http and loopback with this.
    ocpi_allow_insecure_peers: bool = False

    start_confirmation_s: int = 180
    max_duration_s: int = 24 * 3600
    cdr_wait_s: int = 3600

    # The platform as it appears on its invoices and payment files: its legal entity, its structured postal
    # address (street, building number, postcode, town; the country is where it is established), and the VAT
    # ids it holds by country (it must be registered where it resells charging under domestic VAT).
    platform_legal_name: str = "NetworkCore GmbH"
    platform_street: str = "Torstrasse"
    platform_building_number: str = "49"
    platform_postcode: str = "10119"
    platform_town: str = "Berlin"
    platform_country: str = "DE"
    platform_vat_ids: dict[str, str] = {
        "DE": "DE312987657",
        "FR": "FR44732829320",
        "CH": "CHE-301.845.272 MWST",
    }

    # What the platform's e-invoices state about it besides the above (EN 16931 BT-30, BG-6, BT-34): its
    # commercial register entry (identifies it where no VAT id may be stated, BR-CO-26), the contact XRechnung
    # asks for (BR-DE-2/5/6/7), and its electronic address as "<EAS scheme>:<id>" (empty: derived from its VAT
    # id where it is established, 9930:DE... for a German one).
    platform_legal_registration: str = "HRB 000000 B"
    platform_contact_name: str = "NetworkCore Billing"
    platform_contact_telephone: str = "+49 30 0000000"
    platform_contact_email: str = "billing@networkcore.example"
    platform_electronic_address: str = ""
    # Every issued document's e-invoice is also written here, one folder per recipient (unset: no delivery;
    # Peppol transport is an access point's job), by a Schedule every einvoice_delivery_s.
    einvoice_outbox: Path | None = None
    einvoice_delivery_s: int = 60

    # A reference rate older than this (days before the charging day) parks the settlement for ops.
    # Five days cover a weekend plus the TARGET Easter holidays.
    fx_max_age_days: int = 5

    # Payouts (stage 9). The platform pays from one account per currency (pain.001 supports EUR via SEPA
    # and CHF via the Swiss Payment Standards) and is paid into them: its invoices ask demand partners to pay
    # into the account of their currency, and statements are read per account. The rail is "simulated" (a
    # bank in our database, for the demo and tests) or "file" (pain.001 written to the outbox, pain.002 read
    # from the inbox).
    platform_bank_accounts: dict[str, dict[str, str]] = {
        "EUR": {"iban": "DE02100500000054540402", "bic": "BELADEBEXXX"},
        "CHF": {"iban": "CH5604835012345678009", "bic": "UBSWCHZH80A"},
        "GBP": {"iban": "GB33BUKB20201555555555", "bic": "BUKBGB22"},  # collects from GBP-billed partners
    }
    # No payout takes the platform's bank account in a currency below its floor, e.g. {"EUR": "10000.00"}:
    # the account's book balance, less the payouts in flight, stays at or above it, and what does not fit
    # waits (BANK_FLOOR). A currency not listed has no floor (payouts as before funding existed).
    bank_floor: dict[str, Decimal] = {}
    payout_rail: Literal["simulated", "file"] = "simulated"
    payout_outbox: Path = Path(".data/payouts/outbox")
    payout_inbox: Path = Path(".data/payouts/inbox")
    # How often INSTANT payees are released and a rail's status is asked, and how often the sweep looks
    # for payees without a payout workflow.
    payout_poll_s: int = 60
    payout_sweep_s: int = 60
    # The simulated bank: seconds before it settles, and rejections by creditor IBAN, e.g.
    # {"FR7630006000011234567890189": ["AC04"]} rejects the first transfer to that account.
    simulated_bank_delay_s: int = 0
    simulated_bank_rejections: dict[str, list[str]] = {}

    # SEPA Direct Debit (demand partners whose contract says collection.method DIRECT_DEBIT): our creditor
    # identifier (AT-02, checked with its ISO 7064 digits at start), and where the daily run writes its
    # pain.008 files (the bank's upload channel; the simulated bank reads them from there) and ops put the
    # bank's pain.002 on them. Collections are credited to the EUR account of platform_bank_accounts.
    sepa_creditor_id: str = "DE98ZZZ09999999999"
    collection_outbox: Path = Path(".data/collections/outbox")
    collection_inbox: Path = Path(".data/collections/inbox")

    # Metrics and logs. The API always serves /metrics on its own port, with the last `ledger check`, which
    # the worker runs every ledger_check_interval_s (0: never) by a Schedule. The worker serves its metrics
    # only on the ports given (0: off, so tests and several workers on one host never collide): ours, and
    # the Temporal SDK's (activity
    # failures, task latencies), e.g. 9464 and 9465. "auto" logs JSON lines for `networkcore api|worker|
    # simulator` and text for the other commands.
    metrics_host: str = "127.0.0.1"
    worker_metrics_port: int = 0
    temporal_metrics_port: int = 0
    ledger_check_interval_s: int = 300
    log_format: Literal["auto", "json", "text"] = "auto"

    # Rate limits of the API (token buckets per API process), unless the party's contract sets
    # {"rate_limit": {"per_second": ..., "burst": ...}}: session starts per demand partner, OCPI messages
    # per CPO (a CPO sends several per session: PUT, PATCHes, CDR, command results).
    session_starts_per_s: float = 10
    session_starts_burst: int = 50
    cpo_messages_per_s: float = 100
    cpo_messages_burst: int = 1000
    # Failed authentications (401) per client address: past them, its unknown credentials get 429.
    auth_failures_per_s: float = 1
    auth_failures_burst: int = 20
    # Backpressure: new session starts get 503 while more workflow tasks than this wait for a worker on the
    # task queue (or the Temporal server does not answer), checked every backlog_check_s.
    max_session_backlog: int = 200
    backlog_check_s: float = 1.0
    backpressure_retry_after_s: int = 5
    # Starts in flight per API process adapt to their latency: fewer while starts take longer than this (ms),
    # more while they do not; past the limit a start gets 503 at once (api/backpressure.py). 0 turns it off.
    session_start_latency_target_ms: float = 250

    @property
    def simulator_url(self) -> str:
        return f"http://{self.simulator_host}:{self.simulator_port}"


def platform_address(settings: Settings) -> PostalAddress:
    """The platform's postal address, checked as onboarding checks a partner's."""
    return checked_address(
        PostalAddress(
            street=settings.platform_street,
            postal_code=settings.platform_postcode,
            city=settings.platform_town,
            building_number=settings.platform_building_number or None,
        )
    )


def platform_bank_accounts(settings: Settings) -> dict[str, BankAccount]:
    """The accounts payouts are paid from and invoices are paid into, by currency, checked at start rather
    than at the first payout or invoice."""
    address = platform_address(settings)
    return {
        currency.upper(): bank_account(
            settings.platform_legal_name, settings.platform_country, a.get("iban"), a.get("bic"), address
        )
        for currency, a in settings.platform_bank_accounts.items()
    }


def platform_party(settings: Settings) -> TaxParty:
    """The platform's identity from the settings, its VAT ids and address checked now rather than on an
    invoice."""
    country = checked_country(settings.platform_country)
    address = platform_address(settings)
    return TaxParty(
        name=settings.platform_legal_name,
        address=address.line(country),
        country=country,
        vat_ids={code.upper(): validate_vat_id(code, vat_id) for code, vat_id in settings.platform_vat_ids.items()},
        postal_address=address,
        payment_accounts=platform_bank_accounts(settings),
    )


def bank_floors(settings: Settings) -> dict[str, Decimal]:
    """The floor of each currency's bank account, currency codes upper case; a floor is never negative."""
    floors = {currency.upper(): floor for currency, floor in settings.bank_floor.items()}
    for currency, floor in floors.items():
        if not floor.is_finite() or floor < 0:
            raise ValueError(f"NETWORKCORE_BANK_FLOOR: the {currency} floor must be 0 or more, not {floor}")
    return floors


def platform_einvoice_details(settings: Settings) -> PartyDetails:
    """What the platform's e-invoices state about it beyond its documents, checked at start."""
    country = checked_country(settings.platform_country)
    if settings.platform_electronic_address:
        scheme, _, value = settings.platform_electronic_address.partition(":")
        if scheme not in EAS_CODES or not value:
            raise ValueError(
                "NETWORKCORE_PLATFORM_ELECTRONIC_ADDRESS must be <EAS scheme>:<id>, e.g. 9930:DE312987657, not "
                f"{settings.platform_electronic_address!r}"
            )
        address: ElectronicAddress | None = ElectronicAddress(scheme, value)
    else:
        home = settings.platform_vat_ids.get(country)
        address = electronic_address_from_vat_id(None if home is None else validate_vat_id(country, home))
    if address is None:
        raise ValueError("NETWORKCORE_PLATFORM_ELECTRONIC_ADDRESS is needed: none derives from the platform's VAT id")
    contact = Contact(
        settings.platform_contact_name, settings.platform_contact_telephone, settings.platform_contact_email
    )
    if not all(part.strip() for part in (contact.name, contact.telephone, contact.email)):
        raise ValueError("the platform's e-invoice contact needs a name, a telephone and an email (XRechnung BR-DE-2)")
    if not settings.platform_legal_registration.strip():
        raise ValueError("NETWORKCORE_PLATFORM_LEGAL_REGISTRATION is needed (out-of-scope invoices, BR-CO-26)")
    return PartyDetails(
        legal_registration_id=settings.platform_legal_registration.strip(),
        electronic_address=address,
        contact=contact,
    )
