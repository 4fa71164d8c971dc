"""Store, then signal: the workflow hears of a CPO message only once it is committed, and a message whose
workflow could not be told is still kept, with the CPO asked to retry."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, cast

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from adapters.token_cipher import TokenCipher
from cli.seed import CPOS, PARTNERS, seed_database
from domain.parties import Cpo
from domain.sessions.lifecycle import SessionStage
from messages.ocpi import OcpiStatus
from messages.sessions import CdrArrived
from persistence.tables import OcpiInboxRow, SessionRow
from services.ocpi.forwarding import NOT_PROCESSED, RETRY_LATER, receive
from services.ocpi.inbox import CpoMessage, Inbox, IntakeResult, Kind, Outcome, Signal
from tests.conftest import TEST_TOKEN_KEY

SEEDED = CPOS[0]
CPO = Cpo(id=SEEDED.id, country_code=SEEDED.country_code, party_id=SEEDED.party_id, active=True)
NOW = datetime(2026, 6, 1, tzinfo=UTC)


@dataclass
class FakeHandle:
    temporal: FakeTemporal
    workflow_id: str

    async def signal(self, _: Any, signal: Signal) -> None:
        self.temporal.on_signal(self.workflow_id, signal)


@dataclass
class FakeTemporal:
    """Calls ``on_signal`` for every signal sent, in place of a Temporal client."""

    on_signal: Any

    def get_workflow_handle(self, workflow_id: str) -> FakeHandle:
        return FakeHandle(self, workflow_id)


@dataclass
class Context:
    writes: sessionmaker[Session]
    temporal: Client
    task_queue: str = "unused"


@pytest.fixture(scope="module")
def seeded(writes: sessionmaker[Session]) -> sessionmaker[Session]:
    seed_database(writes, "http://127.0.0.1:1", token_cipher=TokenCipher(TEST_TOKEN_KEY))
    return writes


def _session(writes: sessionmaker[Session], stage: SessionStage) -> str:
    session_id = str(uuid.uuid4())
    with writes.begin() as db:
        db.add(
            SessionRow(
                id=session_id,
                demand_partner_id=PARTNERS[0].id,
                request_fingerprint="f",
                evse_id="DE*STN*E3001",
                driver_reference="d",
                stage=stage.value,
                needs_attention=False,
                cpo_id=CPO.id,
                kwh=Decimal(0),
                created_at=NOW,
                updated_at=NOW,
            )
        )
    return session_id


def _context(writes: sessionmaker[Session], on_signal: Any) -> Context:
    return Context(writes, cast(Client, FakeTemporal(on_signal)))


def _message(object_id: str) -> CpoMessage:
    return CpoMessage(CPO, Kind.CDR, object_id, b"{}")


def _cdr_intake(session_id: str, object_id: str) -> Callable[[Session], IntakeResult]:
    def intake(db: Session) -> IntakeResult:
        return Inbox(db, CPO, Kind.CDR, object_id, b"{}").accept(
            Outcome.ACCEPTED, http_status=201, our_session_id=session_id, signal=CdrArrived(cdr_key=1, cdr_id="c")
        )

    return intake


def _kept(writes: sessionmaker[Session], object_id: str) -> int:
    with writes() as db:
        return len(db.scalars(select(OcpiInboxRow).where(OcpiInboxRow.object_id == object_id)).all())


async def test_the_workflow_is_signalled_after_the_commit_and_then_the_delivery_recorded(
    seeded: sessionmaker[Session],
) -> None:
    session_id, object_id = _session(seeded, SessionStage.AWAITING_CDR), str(uuid.uuid4())
    seen: list[tuple[str, int]] = []
    context = _context(seeded, lambda workflow_id, _: seen.append((workflow_id, _kept(seeded, object_id))))
    forwarded: list[Signal] = []
    result = await receive(
        context,
        "CDR",
        _message(object_id),
        _cdr_intake(session_id, object_id),
        forwarded=lambda _, s: forwarded.append(s),
    )
    assert (result.status, result.http_status) == (OcpiStatus.SUCCESS, 201)
    assert seen == [(f"session-{session_id}", 1)]  # the message was committed before the signal went
    assert forwarded == [CdrArrived(cdr_key=1, cdr_id="c")]


async def test_a_workflow_that_cannot_be_told_leaves_the_message_stored_and_asks_for_a_retry(
    seeded: sessionmaker[Session],
) -> None:
    session_id, object_id = _session(seeded, SessionStage.AWAITING_CDR), str(uuid.uuid4())

    def unavailable(*_: Any) -> None:
        raise RPCError("unavailable", RPCStatusCode.UNAVAILABLE, b"")

    forwarded: list[Signal] = []
    result = await receive(
        _context(seeded, unavailable),
        "CDR",
        _message(object_id),
        _cdr_intake(session_id, object_id),
        forwarded=lambda _, s: forwarded.append(s),
    )
    assert result == RETRY_LATER
    assert _kept(seeded, object_id) == 1
    assert forwarded == []


async def test_a_message_for_a_finished_workflow_is_put_in_front_of_ops(seeded: sessionmaker[Session]) -> None:
    session_id, object_id = _session(seeded, SessionStage.START_FAILED), str(uuid.uuid4())

    def finished(*_: Any) -> None:
        raise RPCError("workflow not found", RPCStatusCode.NOT_FOUND, b"")

    result = await receive(_context(seeded, finished), "CDR", _message(object_id), _cdr_intake(session_id, object_id))
    assert result.status == OcpiStatus.SUCCESS
    with seeded() as db:
        session = db.get_one(SessionRow, session_id)
        assert (session.stage, session.needs_attention) == ("START_FAILED", True)
        assert session.reason == "CDR arrived after the session closed as START_FAILED; review it"


async def test_a_message_we_fail_on_is_still_stored_with_the_answer_it_got(seeded: sessionmaker[Session]) -> None:
    object_id = str(uuid.uuid4())
    signalled: list[str] = []

    def failing(db: Session) -> IntakeResult:
        Inbox(db, CPO, Kind.CDR, object_id, b"{}").accept(Outcome.ACCEPTED)  # rolled back with the failure
        raise RuntimeError("a bug")

    message = CpoMessage(CPO, Kind.CDR, object_id, b'{"id": "x"}')
    result = await receive(
        _context(seeded, lambda workflow_id, _: signalled.append(workflow_id)), "CDR", message, failing
    )

    assert result == NOT_PROCESSED
    assert (result.status, result.http_status) == (OcpiStatus.SERVER_ERROR, 500)
    assert signalled == []
    with seeded() as db:
        kept = db.scalars(select(OcpiInboxRow).where(OcpiInboxRow.object_id == object_id)).one()
        assert (kept.outcome, kept.status_code, kept.message) == ("FAILED", 3000, NOT_PROCESSED.message)
        assert kept.raw_body == b'{"id": "x"}'
