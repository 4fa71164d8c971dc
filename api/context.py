"""What every request handler needs, built once per process by ``create_app``."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker
from temporalio.client import Client

from messages.sessions import SessionTimeouts


@dataclass(frozen=True, slots=True)
class ApiContext:
    sessions: sessionmaker[Session]
    temporal: Client
    task_queue: str
    timeouts: SessionTimeouts
    public_base_url: str


def workflow_id(session_id: str) -> str:
    """The workflow id is derived from the business key: one session, one workflow, ever."""
    return f"session-{session_id}"
