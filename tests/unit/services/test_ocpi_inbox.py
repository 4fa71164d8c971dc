"""The OCPI inbox: every message is stored verbatim with the answer it got, whichever answer that is."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from adapters.token_cipher import TokenCipher
from cli.seed import CPOS, seed_database
from domain.parties import Cpo
from messages.ocpi import CommandResult, OcpiStatus
from persistence.tables import OcpiInboxRow
from services.ocpi.inbox import Inbox, Kind, Outcome, parse
from tests.conftest import TEST_TOKEN_KEY

SEEDED = CPOS[0]
CPO = Cpo(id=SEEDED.id, country_code=SEEDED.country_code, party_id=SEEDED.party_id, active=True)


@pytest.fixture(scope="module")
def seeded(writes: sessionmaker[Session]) -> sessionmaker[Session]:
    seed_database(writes, "http://127.0.0.1:1", token_cipher=TokenCipher(TEST_TOKEN_KEY))
    return writes


def _kept(db: Session, object_id: str) -> OcpiInboxRow:
    return db.scalars(select(OcpiInboxRow).where(OcpiInboxRow.object_id == object_id)).one()


def test_a_refusal_is_stored_with_the_message_as_received(seeded: sessionmaker[Session]) -> None:
    object_id, body = str(uuid.uuid4()), b'{"kwh": "not a number"}'
    with seeded.begin() as db:
        result = Inbox(db, CPO, Kind.SESSION_PATCH, object_id, body).reject("kwh: not a number")
    assert (result.status, result.message, result.http_status) == (
        OcpiStatus.INVALID_PARAMETERS,
        "kwh: not a number",
        200,
    )
    with seeded() as db:
        kept = _kept(db, object_id)
        assert (kept.kind, kept.outcome, kept.status_code) == ("SESSION_PATCH", "REJECTED", 2001)
        assert (kept.cpo_id, kept.message, kept.body) == (CPO.id, "kwh: not a number", body.decode())
        assert kept.our_session_id is None


def test_a_success_is_stored_with_its_outcome_and_answered_as_asked(seeded: sessionmaker[Session]) -> None:
    object_id = str(uuid.uuid4())
    with seeded.begin() as db:
        result = Inbox(db, CPO, Kind.TARIFF_PUT, object_id, b"{}").accept(
            Outcome.STALE, "older than the version we hold", http_status=201, location="https://x/1"
        )
    assert (result.status, result.http_status, result.location) == (OcpiStatus.SUCCESS, 201, "https://x/1")
    assert (result.signal, result.correction) == (None, None)
    with seeded() as db:
        kept = _kept(db, object_id)
        assert (kept.outcome, kept.status_code, kept.message) == ("STALE", 1000, "older than the version we hold")


def test_an_unknown_object_keeps_its_own_outcome(seeded: sessionmaker[Session]) -> None:
    object_id = str(uuid.uuid4())
    with seeded.begin() as db:
        Inbox(db, CPO, Kind.TARIFF_DELETE, object_id, b"").reject("unknown tariff", outcome=Outcome.UNKNOWN_TARIFF)
    with seeded() as db:
        assert (_kept(db, object_id).outcome, _kept(db, object_id).body) == ("UNKNOWN_TARIFF", "")


def test_a_long_id_is_cut_to_fit_and_bytes_that_are_not_utf8_are_still_kept(seeded: sessionmaker[Session]) -> None:
    object_id = "x" * 80 + str(uuid.uuid4())
    with seeded.begin() as db:
        Inbox(db, CPO, Kind.CDR, object_id, b'{"id": "\xff"}').reject("not UTF-8")
    with seeded() as db:
        assert _kept(db, object_id[:64]).body == '{"id": "\ufffd"}'


def test_parse_gives_the_message_or_names_every_field_that_is_wrong() -> None:
    parsed = parse(CommandResult, b'{"result": "ACCEPTED"}')
    assert isinstance(parsed, CommandResult)
    problem = parse(CommandResult, b'{"result": "MAYBE", "message": 3}')
    assert isinstance(problem, str)
    assert problem.startswith("result: ")
    assert "; message: " in problem
    assert parse(CommandResult, b"[]") == "body: Input should be an object"


@pytest.mark.parametrize("body", ['{"id": "Zürich"}'.encode("utf-16"), b"\x00\xff\xfe garbage \x00", b""])
def test_any_bytes_are_kept_as_received_and_readable_as_text(seeded: sessionmaker[Session], body: bytes) -> None:
    object_id = str(uuid.uuid4())
    with seeded.begin() as db:
        Inbox(db, CPO, Kind.TARIFF_PUT, object_id, body).refuse_unread(Outcome.UNREADABLE, "not UTF-8", 400)
    with seeded() as db:
        kept = _kept(db, object_id)
        assert (kept.raw_body, kept.outcome, kept.status_code, kept.message) == (body, "UNREADABLE", 2000, "not UTF-8")
        assert kept.body == body.decode("utf-8", errors="replace").replace("\x00", "\ufffd")
