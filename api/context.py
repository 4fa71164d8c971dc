"""What every request handler needs, built once per process by ``create_app``."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.orm import Session, sessionmaker
from temporalio.client import Client

from api.credentials import CredentialCache
from domain.parties import Cpo, DemandPartner
from messages.sessions import SessionTimeouts


@dataclass(frozen=True, slots=True)
class ApiContext:
    sessions: sessionmaker[Session]
    reads: sessionmaker[Session]  # read-only: never takes SQLite's write lock
    temporal: Client
    task_queue: str
    timeouts: SessionTimeouts
    public_base_url: str
    partners: CredentialCache[DemandPartner] = field(default_factory=CredentialCache)
    cpos: CredentialCache[Cpo] = field(default_factory=CredentialCache)


def workflow_id(session_id: str) -> str:
    """The workflow id is derived from the business key: one session, one workflow, ever."""
    return f"session-{session_id}"
