"""What every request handler needs, built once per process by ``create_app``."""

from __future__ import annotations

from dataclasses import dataclass, field

from temporalio.client import Client

from api.credentials import CredentialCache
from domain.parties import Cpo, DemandPartner
from messages.sessions import SessionTimeouts
from persistence.db import SessionFactory


@dataclass(frozen=True, slots=True)
class ApiContext:
    writes: SessionFactory
    reads: SessionFactory  # read-only: never takes SQLite's write lock
    temporal: Client
    task_queue: str
    timeouts: SessionTimeouts
    public_base_url: str
    partners: CredentialCache[DemandPartner] = field(default_factory=CredentialCache)
    cpos: CredentialCache[Cpo] = field(default_factory=CredentialCache)
