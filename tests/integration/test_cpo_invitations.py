"""Inviting a CPO (``networkcore partners invite-cpo``) and what its token A opens, on both databases:
fields checked, token A single-use within its lifetime and kept as SHA-256 only, a registered CPO not
invited again unless a token A is re-issued (its token works until the new A is used), an unregistered one
invited afresh; the token a PUT replaced repeats that PUT only, within its grace."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cli import partners as cli_partners
from cli.main import parser
from persistence.ocpi_connections import (
    ConnectionState,
    PeerEndpoint,
    PeerRole,
    Registration,
    RotationGrace,
    caller_for_token,
    grace_reply,
    record_registration,
    unregister,
)
from persistence.tables import CpoRow, OcpiConnectionRow
from services.ocpi.credentials import (
    ROTATION_GRACE,
    TOKEN_A_LIFETIME,
    invite_cpo,
    our_platform,
    platform_role,
    token_sha256,
)
from tests.conftest import TEST_PEERS, fresh_party_id

NOW = datetime(2026, 12, 3, 9, tzinfo=UTC)
OURS = our_platform("https://emsp.example.com", platform_role("CH", "NWC", "NetworkCore GmbH"), TEST_PEERS)
NO_TEMPORAL = cli_partners.TemporalTarget("127.0.0.1:1", "default", "unused")  # invitations never start workflows


def _cli(writes: sessionmaker[Session], *argv: str) -> int:
    return cli_partners.run(writes, parser().parse_args(["partners", "invite-cpo", *argv]), OURS, NO_TEMPORAL)


def test_the_cli_refuses_what_is_not_an_ocpi_party(
    writes: sessionmaker[Session], capsys: pytest.CaptureFixture[str]
) -> None:
    assert _cli(writes, "--country-code", "XX", "--party-id", fresh_party_id(), "--name", "Nowhere") == 2
    assert "country_code" in capsys.readouterr().err
    assert _cli(writes, "--country-code", "NL", "--party-id", "A!", "--name", "Odd") == 2
    assert "party_id" in capsys.readouterr().err

    party_id = fresh_party_id()
    assert _cli(writes, "--country-code", "nl", "--party-id", party_id.lower(), "--name", "Laadpaal B.V.") == 0
    printed = capsys.readouterr().out
    assert "https://emsp.example.com/ocpi/versions" in printed
    with writes() as db:
        cpo = db.scalars(select(CpoRow).where(CpoRow.party_id == party_id)).one()
        connection = db.scalars(select(OcpiConnectionRow).where(OcpiConnectionRow.cpo_id == cpo.id)).one()
    assert (cpo.id, cpo.country_code, cpo.payout_currency, cpo.active) == (
        f"cpo-nl-{party_id.lower()}",
        "NL",
        "EUR",
        False,
    )
    token_a = printed.rsplit("token A: ", 1)[1].strip()
    assert connection.token_a_sha256 == token_sha256(token_a), "only the digest is kept"


def test_token_a_opens_registration_until_it_expires_or_is_spent(writes: sessionmaker[Session]) -> None:
    with writes.begin() as db:
        invitation = invite_cpo(db, "DE", fresh_party_id(), "Ladenetz GmbH", now=NOW)
    digest = token_sha256(invitation.token)
    with writes() as db:
        caller = caller_for_token(db, digest, now=NOW + TOKEN_A_LIFETIME - timedelta(seconds=1))
        assert caller is not None
        assert caller.registering
        assert caller_for_token(db, digest, now=NOW + TOKEN_A_LIFETIME) is None, "expired"

    token_c = token_sha256("its token C")
    registration = Registration(
        token_c, "https://cpo.example.com/versions", "2.2.1", [PeerEndpoint("commands", "RECEIVER", "u")], []
    )
    with writes.begin() as db:
        assert record_registration(db, caller.connection_key, digest, registration, now=NOW)
    with writes.begin() as db:
        assert not record_registration(db, caller.connection_key, digest, registration, now=NOW), "spent"
        assert caller_for_token(db, digest, now=NOW) is None
        registered = caller_for_token(db, token_c, now=NOW)
        assert registered is not None
        assert not registered.registering


def test_a_registered_cpo_is_not_invited_again_until_it_unregisters(
    writes: sessionmaker[Session], capsys: pytest.CaptureFixture[str]
) -> None:
    party_id = fresh_party_id()
    with writes.begin() as db:
        first = invite_cpo(db, "FR", party_id, "Borne SAS", now=NOW)
    with writes() as db:
        caller = caller_for_token(db, token_sha256(first.token), now=NOW)
    assert caller is not None
    roles = [PeerRole("CPO", "FR", party_id, "Borne SAS")]
    registration = Registration(token_sha256(f"c-{party_id}"), "https://cpo.example.com", "2.2.1", [], roles)
    with writes.begin() as db:
        assert record_registration(db, caller.connection_key, token_sha256(first.token), registration, now=NOW)

    assert _cli(writes, "--country-code", "FR", "--party-id", party_id, "--name", "Borne SAS") == 1
    assert "registered already" in capsys.readouterr().err

    with writes.begin() as db:
        assert unregister(db, caller.connection_key, token_sha256(f"c-{party_id}"), now=NOW)
    with writes.begin() as db:
        again = invite_cpo(db, "FR", party_id, "Borne SAS", now=NOW)
        connection = db.scalars(select(OcpiConnectionRow).where(OcpiConnectionRow.key == caller.connection_key)).one()
        assert connection.state == ConnectionState.INVITED
    with writes() as db:
        assert caller_for_token(db, token_sha256(f"c-{party_id}"), now=NOW) is None
        assert caller_for_token(db, token_sha256(again.token), now=NOW) is not None


def registered_connection(writes: sessionmaker[Session], party_id: str, token: str) -> int:
    """A CPO invited and registered with ``token`` (its token C): its connection's key."""
    with writes.begin() as db:
        invitation = invite_cpo(db, "DE", party_id, "Ladenetz GmbH", now=NOW)
    with writes() as db:
        caller = caller_for_token(db, token_sha256(invitation.token), now=NOW)
    assert caller is not None
    registration = Registration(token_sha256(token), "https://cpo.example.com", "2.2.1", [], [])
    with writes.begin() as db:
        assert record_registration(db, caller.connection_key, token_sha256(invitation.token), registration, now=NOW)
    return caller.connection_key


def test_the_token_a_put_replaced_repeats_that_put_only_within_its_grace(writes: sessionmaker[Session]) -> None:
    key = registered_connection(writes, fresh_party_id(), "old-c")
    old, put = token_sha256("old-c"), "digest-of-the-put"
    grace = RotationGrace(old, put, "sealed-new-c", NOW + ROTATION_GRACE)
    rotation = Registration(token_sha256("new-c"), "https://cpo.example.com", "2.2.1", [], [], grace=grace)
    with writes.begin() as db:
        assert record_registration(db, key, old, rotation, now=NOW)
    with writes() as db:
        within = NOW + ROTATION_GRACE - timedelta(seconds=1)
        caller = caller_for_token(db, old, now=within)
        assert caller is not None
        assert (caller.superseded, caller.registering) == (True, False)
        assert grace_reply(db, key, old, put, now=within) == "sealed-new-c"
        assert grace_reply(db, key, old, "another-put", now=within) is None, "only the same PUT"
        assert grace_reply(db, key, token_sha256("new-c"), put, now=within) is None
        assert caller_for_token(db, old, now=NOW + ROTATION_GRACE) is None, "the grace is over"
        assert grace_reply(db, key, old, put, now=NOW + ROTATION_GRACE) is None
        current = caller_for_token(db, token_sha256("new-c"), now=within)
        assert current is not None
        assert not current.superseded


def test_a_reissued_token_a_leaves_the_registration_working_until_it_is_used(writes: sessionmaker[Session]) -> None:
    party_id = fresh_party_id()
    key = registered_connection(writes, party_id, "its-c")
    with writes.begin() as db:
        reissued = invite_cpo(db, "DE", party_id, "Ladenetz GmbH", now=NOW, reissue=True)
    with writes() as db:
        current = caller_for_token(db, token_sha256("its-c"), now=NOW)
        by_a = caller_for_token(db, token_sha256(reissued.token), now=NOW)
        connection = db.get_one(OcpiConnectionRow, key)
        assert connection.state == ConnectionState.REGISTERED
    assert current is not None
    assert not current.registering
    assert by_a is not None
    assert (by_a.connection_key, by_a.registering) == (key, True)

    roles = [PeerRole("CPO", "DE", party_id, "Ladenetz GmbH")]
    again = Registration(token_sha256("its-new-c"), "https://cpo.example.com/v2", "2.2.1", [], roles)
    with writes.begin() as db:
        assert record_registration(db, key, token_sha256(reissued.token), again, now=NOW)
    with writes() as db:
        assert caller_for_token(db, token_sha256("its-c"), now=NOW) is None, "replaced"
        assert caller_for_token(db, token_sha256(reissued.token), now=NOW) is None, "spent"
        assert caller_for_token(db, token_sha256("its-new-c"), now=NOW) is not None
