"""What every request handler needs, built once per process by ``create_app``."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from temporalio.client import Client

from adapters.token_cipher import TokenCipher
from api.credentials import CredentialCache
from config.settings import Settings, bank_floors, platform_party
from domain.parties import DemandPartner
from messages.ocpi_credentials import CredentialsRole
from messages.sessions import SessionTimeouts
from persistence.db import SessionFactory
from persistence.ocpi_connections import OcpiCaller
from services.ocpi.credentials import PeerAccess, platform_role
from services.prices import PriceSetup


@dataclass(frozen=True, slots=True)
class ApiContext:
    writes: SessionFactory
    reads: SessionFactory  # read-only: never takes SQLite's write lock
    temporal: Client
    task_queue: str
    timeouts: SessionTimeouts
    public_base_url: str
    # ``database_identity`` of the database served: ``/health/ready`` says it, so a tool reusing a running stack
    # (``networkcore demo``) can tell that it is its own.
    database: str = ""
    partners: CredentialCache[DemandPartner] = field(default_factory=CredentialCache)
    cpos: CredentialCache[OcpiCaller] = field(default_factory=CredentialCache)
    # Our party in OCPI credentials exchanges.
    ocpi_role: CredentialsRole = field(default_factory=lambda: settings_role(Settings()))
    # How we reach CPOs: the key the tokens we present are sealed with, and the URL policy.
    peers: PeerAccess = field(default_factory=lambda: settings_peer_access(Settings()))
    # What partners' prices and quotes are read with: the platform as the seller, the oldest reference rate.
    prices: PriceSetup = field(default_factory=lambda: settings_price_setup(Settings()))
    # The bank accounts' floors, which payouts wait for (``GET /v1/payouts`` says what waits).
    bank_floors: dict[str, Decimal] = field(default_factory=lambda: bank_floors(Settings()))


def settings_role(settings: Settings) -> CredentialsRole:
    return platform_role(settings.ocpi_country_code, settings.ocpi_party_id, settings.platform_legal_name)


def settings_peer_access(settings: Settings) -> PeerAccess:
    """Refuses (``TokenKeyMissing``) without a key: tokens are never kept in clear."""
    return PeerAccess(TokenCipher.configured(settings.ocpi_token_key), settings.ocpi_allow_insecure_peers)


def settings_price_setup(settings: Settings) -> PriceSetup:
    return PriceSetup(platform_party(settings), timedelta(days=settings.fx_max_age_days))
