"""The OCPI 2.2.1 Credentials module: how a CPO connects to us without a database edit, and we to it.

* An operator invites a CPO (``invite_cpo``): the CPO exists, inactive, with a single-use token A that
  expires after ``TOKEN_A_LIFETIME``.
* The CPO registers (``register``, POST with token A): we read its versions and its 2.2.1 details with the
  token B it sent, store them, and answer with a fresh token C; token A is spent at once. Refused: 3001
  (its API unusable), 3002 (no 2.2.1), 3003 (a module we need missing), 2001 (its body, or roles that do
  not name it), 405 when it is registered already; a refusal changes nothing and token A keeps working.
* It rotates (``rotate``, PUT with its token): we read its versions again with its new token B and issue a
  new C; the old C stops working, except to repeat that same PUT (same body) for ``ROTATION_GRACE``, which
  gets the same answer (its reply was lost). Its Locations and Tariffs are pulled again. It unregisters
  (``unregister``, DELETE): its token stops working, its CPOs become inactive, their data and history stay.
* An operator re-issues token A to a registered CPO whose answer was lost (``invite_cpo(reissue=True)``):
  its token C keeps working until it registers with the new A, which replaces its registration at once.
* We register with a CPO (``connect_cpo``) with the token A it gave us.
* One connection may carry several CPO roles (parties of one company): each is a CPO of ours, active while
  the connection is registered, reached at the connection's Commands receiver with its own routing headers.

Every URL of the CPO must be https on a public address (``adapters/ocpi_client.py`` ``check_peer_url``),
else 3001. Every message is stored in the inbox with its answer; the token a body carries is not
(``_without_token``). Tokens are never logged. Tokens we issue are kept as SHA-256 only; the tokens we
present to a CPO are kept sealed (``cpos.outbound_token``, ``adapters/token_cipher.py``)."""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Final

import httpx
from sqlalchemy.orm import Session

from adapters.ocpi_client import PeerUnusable, VersionUnsupported, fetch_version_details, post_credentials
from adapters.token_cipher import TokenCipher
from domain.parties import Cpo
from domain.partners import FieldInvalid
from domain.vat.parties import CountryUnknown, country_name, national_currency
from messages.ocpi import OcpiStatus
from messages.ocpi_credentials import BusinessDetails, Credentials, CredentialsRole, VersionDetails
from persistence import ocpi_connections as connections
from persistence.db import SessionFactory
from persistence.ocpi_connections import OcpiCaller, PeerEndpoint, PeerRole, Registration, RotationGrace
from persistence.tables import CpoRow
from services.context import WriteAndStart
from services.ocpi.cpo_sync import start_sync_after_registration
from services.ocpi.forwarding import receive
from services.ocpi.inbox import CpoMessage, Inbox, IntakeResult, Kind, Outcome, parse

OCPI_VERSION: Final = "2.2.1"
VERSIONS_PATH: Final = "/ocpi/versions"  # our versions list, under the public base URL
TOKEN_A_LIFETIME: Final = timedelta(days=7)
# How long the token a PUT replaced may repeat that PUT (ocpi-connect.md §3.4).
ROTATION_GRACE: Final = timedelta(minutes=5)
# The modules we need of a CPO (identifier, its interface's role; None: any). Its credentials endpoint,
# to tell it when ours change; its Commands receiver, where sessions are started and stopped.
REQUIRED_MODULES: Final = (("credentials", None), ("commands", "RECEIVER"))
# Each call to a CPO's API; a registration makes two while the CPO's POST waits, which OCPI suggests
# allowing 60 s.
PEER_TIMEOUT_S: Final = 30.0
PARTY_ID = re.compile(r"^[A-Z0-9]{3}$")
ALREADY_REGISTERED: Final = "you are registered already: PUT to update your credentials, DELETE to unregister"
NOT_REGISTERED: Final = "you are not registered: POST your credentials"
# Another request with the same token got there first (it registered, rotated or unregistered).
TOKEN_SPENT: Final = IntakeResult(OcpiStatus.CLIENT_ERROR, "this token is no longer valid", 401)


class AlreadyRegistered(Exception):
    pass


class ConnectionFailed(Exception):
    """Registering with a CPO failed; the message says where (tokens never appear)."""


@dataclass(frozen=True, slots=True)
class Invitation:
    cpo_id: str
    token: str  # token A: shown once, kept as SHA-256 only
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class PeerAccess:
    """How we reach CPOs: the cipher of the tokens we present to them, and whether their URLs may be http
    on loopback (the dev stack and the tests only)."""

    token_cipher: TokenCipher
    allow_insecure: bool


@dataclass(frozen=True, slots=True)
class OurPlatform:
    """Our side of a credentials exchange: our versions list and our party, and how we reach CPOs."""

    versions_url: str
    role: CredentialsRole
    peers: PeerAccess

    def credentials(self, token: str) -> Credentials:
        return Credentials(token=token, url=self.versions_url, roles=[self.role])


def platform_role(country_code: str, party_id: str, name: str) -> CredentialsRole:
    """Our party in a credentials exchange: the eMSP."""
    return CredentialsRole(
        role="EMSP", business_details=BusinessDetails(name=name), party_id=party_id, country_code=country_code
    )


def our_platform(public_base_url: str, role: CredentialsRole, peers: PeerAccess) -> OurPlatform:
    return OurPlatform(public_base_url + VERSIONS_PATH, role, peers)


class _Refusal(Exception):
    """A credentials message refused with this OCPI status (and HTTP status)."""

    def __init__(self, status: OcpiStatus, message: str, http_status: int = 200) -> None:
        super().__init__(message)
        self.status, self.message, self.http_status = status, message, http_status


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_sha256(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _body_sha256(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


# --- invitations and registration with a CPO (operators) -----------------------------------------


def invite_cpo(
    db: Session, country_code: str, party_id: str, name: str, *, now: datetime, reissue: bool = False
) -> Invitation:
    """The CPO (created inactive, paid in its country's currency, if it is new) and a new token A. A CPO
    that is registered is refused: it rotates its token itself, or unregisters first; unless ``reissue``
    (its answer to its registration was lost): then its token keeps working until it registers with the
    new token A."""
    cpo = _cpo_for_party(db, country_code, party_id, name, now=now)
    connection = connections.connection_of(db, cpo.id)
    if connection is not None and connection.state == connections.ConnectionState.REGISTERED and not reissue:
        raise AlreadyRegistered(f"{cpo.id} is registered already: --reissue gives it a new token A")
    token = new_token()
    expires_at = now + TOKEN_A_LIFETIME
    connections.invite(db, cpo.id, token_sha256(token), expires_at=expires_at, now=now)
    return Invitation(cpo.id, token, expires_at)


async def connect_cpo(
    writes: SessionFactory, versions_url: str, token_a: str, ours: OurPlatform, *, now: datetime
) -> str:
    """Register with a CPO that gave us ``token_a`` (OCPI's flow where we are the Sender of credentials):
    read its 2.2.1 details, POST our credentials with a new token B (already working: the CPO calls us
    back with it during the POST), store its token C, roles and endpoints. Returns the CPO's id. On
    failure nothing is kept and token B stops working."""
    correlation_id = str(uuid.uuid4())
    async with httpx.AsyncClient(timeout=2 * PEER_TIMEOUT_S) as http:
        try:
            details = await _version_details(http, versions_url, token_a, ours.peers, correlation_id)
        except _Refusal as refusal:
            raise ConnectionFailed(f"{int(refusal.status)}: {refusal.message}") from refusal
        credentials_url = _endpoint_url(details, "credentials", None)
        assert credentials_url is not None  # a required module
        token_b = new_token()
        with writes.begin() as db:
            pending = connections.begin_registration_with_cpo(db, token_sha256(token_b), versions_url, now=now)
        try:
            theirs = await post_credentials(
                http, credentials_url, token_a, ours.credentials(token_b), correlation_id=correlation_id
            )
            if theirs.url != versions_url:
                details = await _version_details(http, theirs.url, theirs.token, ours.peers, correlation_id)
            cpo_role = next((role for role in theirs.roles if role.role == "CPO"), None)
            if cpo_role is None:
                raise _Refusal(OcpiStatus.INVALID_PARAMETERS, "its credentials name no CPO role")
            with writes.begin() as db:
                cpo = _cpo_for_party(
                    db, cpo_role.country_code, cpo_role.party_id, cpo_role.business_details.name, now=now
                )
                key = connections.adopt(db, pending, cpo.id)
                token_b_sha256 = token_sha256(token_b)
                registration = _registration(token_b_sha256, theirs, details)
                if not _store(db, cpo, key, token_b_sha256, registration, theirs.token, ours.peers, now=now):
                    raise _Refusal(OcpiStatus.CLIENT_ERROR, "its connection changed while we registered")
                cpo_id = cpo.id
        except (PeerUnusable, _Refusal, FieldInvalid) as failure:
            with writes.begin() as db:
                connections.abandon(db, pending)
            raise ConnectionFailed(str(failure)) from failure
    return cpo_id


# --- the credentials module, as the CPO calls it --------------------------------------------------


async def register(
    context: WriteAndStart,
    caller: OcpiCaller,
    presented: str,
    body: bytes,
    ours: OurPlatform,
    *,
    correlation_id: str | None,
    now: datetime,
) -> IntakeResult:
    """POST: the CPO's first credentials, with token A (``presented``: its digest). A success carries our
    credentials, with the CPO's new token C."""
    if not caller.registering:
        return await _refuse(context, caller, "POST", body, _Refusal(OcpiStatus.CLIENT_ERROR, ALREADY_REGISTERED, 405))
    result = await _exchange(context, caller, presented, "POST", body, ours, correlation_id=correlation_id, now=now)
    if result.status == OcpiStatus.SUCCESS:
        # Committed: now pull its Locations and Tariffs (ocpi-connect.md §5).
        await start_sync_after_registration(context.temporal, context.task_queue, _caller_cpo(caller).id)
    return result


async def rotate(
    context: WriteAndStart,
    caller: OcpiCaller,
    presented: str,
    body: bytes,
    ours: OurPlatform,
    *,
    correlation_id: str | None,
    now: datetime,
) -> IntakeResult:
    """PUT: new credentials of a registered CPO (a new token B, maybe a new versions URL). A success
    carries our credentials, with its new token C; the token it called with then only repeats this PUT
    (same body, within ``ROTATION_GRACE``), answered alike. Its Locations and Tariffs are pulled again."""
    if caller.registering:
        return await _refuse(context, caller, "PUT", body, _Refusal(OcpiStatus.CLIENT_ERROR, NOT_REGISTERED, 405))
    if caller.superseded:
        return await _repeat_rotation(context, caller, presented, body, ours, now=now)
    result = await _exchange(context, caller, presented, "PUT", body, ours, correlation_id=correlation_id, now=now)
    if result.status == OcpiStatus.SUCCESS and not result.repeat:
        # Committed: its endpoints may have moved, and what it published meanwhile must not be missed.
        await start_sync_after_registration(context.temporal, context.task_queue, _caller_cpo(caller).id)
    return result


async def _repeat_rotation(
    context: WriteAndStart, caller: OcpiCaller, presented: str, body: bytes, ours: OurPlatform, *, now: datetime
) -> IntakeResult:
    """The PUT the superseded token made, again (its answer was lost): the same answer; anything else from
    that token is 401."""
    message = CpoMessage(_caller_cpo(caller), Kind.CREDENTIALS, "PUT", _without_token(body))

    def intake(db: Session) -> IntakeResult:
        repeated = _repeated_rotation(db, caller, presented, body, ours, now=now)
        if repeated is None:
            return message.inbox(db).answer(Outcome.REJECTED, TOKEN_SPENT)
        return repeated(message.inbox(db))

    return await receive(context, "credentials PUT", message, intake)


def _repeated_rotation(
    db: Session, caller: OcpiCaller, presented: str, body: bytes, ours: OurPlatform, *, now: datetime
) -> Callable[[Inbox], IntakeResult] | None:
    """How to answer a PUT that repeats the one ``presented`` made before it was replaced, if it does."""
    sealed = connections.grace_reply(db, caller.connection_key, presented, _body_sha256(body), now=now)
    if sealed is None:
        return None
    token_c = ours.peers.token_cipher.reveal(sealed)

    def answer(inbox: Inbox) -> IntakeResult:
        result = inbox.accept(Outcome.DUPLICATE, "updated already: the same answer")
        return replace(result, repeat=True, data=ours.credentials(token_c).model_dump(mode="json", exclude_none=True))

    return answer


async def unregister(context: WriteAndStart, caller: OcpiCaller, presented: str, *, now: datetime) -> IntakeResult:
    """DELETE: the CPO's token stops working and its CPOs are inactive from now on (no session starts)."""
    if caller.registering:
        refusal = _Refusal(OcpiStatus.CLIENT_ERROR, NOT_REGISTERED, 405)
        return await _refuse(context, caller, "DELETE", b"", refusal)
    message = CpoMessage(_caller_cpo(caller), Kind.CREDENTIALS, "DELETE", b"")

    def intake(db: Session) -> IntakeResult:
        inbox = message.inbox(db)
        if not connections.unregister(db, caller.connection_key, presented, now=now):
            return inbox.answer(Outcome.REJECTED, TOKEN_SPENT)
        return inbox.accept(Outcome.APPLIED, "unregistered")

    return await receive(context, "credentials DELETE", message, intake)


async def _exchange(
    context: WriteAndStart,
    caller: OcpiCaller,
    presented: str,
    method: str,
    body: bytes,
    ours: OurPlatform,
    *,
    correlation_id: str | None,
    now: datetime,
) -> IntakeResult:
    """Read the CPO's version with the token its credentials carry, then store them and a new token C."""
    cpo = _caller_cpo(caller)
    offered = parse(Credentials, body)
    if isinstance(offered, str):
        return await _refuse(context, caller, method, body, _Refusal(OcpiStatus.INVALID_PARAMETERS, offered))
    if not any(role.is_party("CPO", cpo.country_code, cpo.party_id) for role in offered.roles):
        refusal = _Refusal(OcpiStatus.INVALID_PARAMETERS, f"roles: no CPO role {cpo.country_code}*{cpo.party_id}")
        return await _refuse(context, caller, method, body, refusal)
    try:
        async with httpx.AsyncClient(timeout=PEER_TIMEOUT_S) as http:
            details = await _version_details(http, offered.url, offered.token, ours.peers, correlation_id)
    except _Refusal as refusal:
        return await _refuse(context, caller, method, body, refusal)
    token_c = new_token()
    registration = _registration(token_sha256(token_c), offered, details)
    if method == "PUT":
        grace = RotationGrace(
            presented, _body_sha256(body), ours.peers.token_cipher.seal(token_c), now + ROTATION_GRACE
        )
        registration = replace(registration, grace=grace)
    message = CpoMessage(cpo, Kind.CREDENTIALS, method, _without_token(body))

    def intake(db: Session) -> IntakeResult:
        inbox = message.inbox(db)
        row = db.get_one(CpoRow, cpo.id)
        try:
            stored = _store(db, row, caller.connection_key, presented, registration, offered.token, ours.peers, now=now)
        except _Refusal as refusal:
            return inbox.answer(Outcome.REJECTED, IntakeResult(refusal.status, refusal.message, refusal.http_status))
        if not stored:
            # The same PUT, sent again before its first answer came back, got there first: answer alike.
            repeated = _repeated_rotation(db, caller, presented, body, ours, now=now) if method == "PUT" else None
            return inbox.answer(Outcome.REJECTED, TOKEN_SPENT) if repeated is None else repeated(inbox)
        result = inbox.accept(Outcome.APPLIED, "registered" if method == "POST" else "updated")
        return replace(result, data=ours.credentials(token_c).model_dump(mode="json", exclude_none=True))

    return await receive(context, f"credentials {method}", message, intake)


def _registration(inbound_token_sha256: str, theirs: Credentials, details: VersionDetails) -> Registration:
    return Registration(
        inbound_token_sha256=inbound_token_sha256,
        versions_url=theirs.url,
        version=details.version,
        endpoints=[PeerEndpoint(e.identifier, e.role, e.url) for e in details.endpoints],
        roles=[PeerRole(r.role, r.country_code, r.party_id, r.business_details.name) for r in theirs.roles],
    )


def _store(
    db: Session,
    cpo: CpoRow,
    connection_key: int,
    presented: str,
    registration: Registration,
    outbound_token: str,
    peers: PeerAccess,
    *,
    now: datetime,
) -> bool:
    """Store the CPO's credentials and version on its connection, if ``presented`` still opens it. Each
    CPO role is a CPO of ours (created for a party new to us), active, reached at the connection's Commands
    receiver with the token we present (sealed)."""
    taken = connections.parties_of_others(db, connection_key, registration.roles)
    if taken:
        named = ", ".join(f"{r.role} {r.country_code}*{r.party_id}" for r in taken)
        raise _Refusal(OcpiStatus.INVALID_PARAMETERS, f"roles: {named} belong to another connection")
    cpo_roles = [r for r in registration.roles if r.role == "CPO"]
    for role in cpo_roles:
        if connections.cpo_of_party(db, role.country_code, role.party_id) is None:
            try:
                _new_party_currency(role.country_code, role.party_id, role.name, now=now)
            except FieldInvalid as invalid:
                raise _Refusal(OcpiStatus.INVALID_PARAMETERS, f"roles: {invalid}") from invalid
    if not connections.record_registration(db, connection_key, presented, registration, now=now):
        return False
    commands_url = next(e.url for e in registration.endpoints if (e.identifier, e.role) == ("commands", "RECEIVER"))
    sealed = peers.token_cipher.seal(outbound_token)
    parties = [cpo, *(_cpo_for_party(db, r.country_code, r.party_id, r.name, now=now) for r in cpo_roles)]
    for party in {party.id: party for party in parties}.values():
        # The adapter appends the command's name to this URL.
        party.commands_url = commands_url.rstrip("/") + "/"
        party.outbound_token = sealed
        party.active = True
    return True


async def _version_details(
    http: httpx.AsyncClient, versions_url: str, token: str, peers: PeerAccess, correlation_id: str | None
) -> VersionDetails:
    """The peer's 2.2.1 details, with every module we need; otherwise refused: 3001 (its API unusable, or
    a URL of it we do not call), 3002 (no 2.2.1), 3003 (a module missing)."""
    try:
        details = await fetch_version_details(
            http,
            versions_url,
            token,
            version=OCPI_VERSION,
            allow_insecure=peers.allow_insecure,
            correlation_id=correlation_id,
        )
    except PeerUnusable as error:
        raise _Refusal(OcpiStatus.UNABLE_TO_USE_CLIENT_API, f"cannot use your API: {error}") from error
    except VersionUnsupported as error:
        raise _Refusal(OcpiStatus.UNSUPPORTED_VERSION, str(error)) from error
    missing = [
        f"{identifier} ({role or 'any role'})"
        for identifier, role in REQUIRED_MODULES
        if _endpoint_url(details, identifier, role) is None
    ]
    if missing:
        raise _Refusal(OcpiStatus.NO_MATCHING_ENDPOINTS, f"your {OCPI_VERSION} lacks {', '.join(missing)}")
    return details


def _endpoint_url(details: VersionDetails, identifier: str, role: str | None) -> str | None:
    return next(
        (e.url for e in details.endpoints if e.identifier == identifier and (role is None or e.role == role)), None
    )


async def _refuse(
    context: WriteAndStart, caller: OcpiCaller, method: str, body: bytes, refusal: _Refusal
) -> IntakeResult:
    """Store the message with its refusal; nothing else changes (token A, if it was one, still works)."""
    message = CpoMessage(_caller_cpo(caller), Kind.CREDENTIALS, method, _without_token(body))
    answer = IntakeResult(refusal.status, refusal.message, refusal.http_status)
    return await receive(
        context, f"credentials {method}", message, lambda db: message.inbox(db).answer(Outcome.REJECTED, answer)
    )


def _without_token(body: bytes) -> bytes:
    """The body as stored: the token a Credentials object carries is a secret, kept only where it is used
    (a body that is not one is stored as it came)."""
    try:
        token = json.loads(body).get("token")
    except (ValueError, AttributeError):
        return body
    if not isinstance(token, str) or not token:
        return body
    return body.replace(json.dumps(token)[1:-1].encode(), b"[token]")


def _caller_cpo(caller: OcpiCaller) -> Cpo:
    # The door lets only connections of a known CPO reach the credentials module.
    assert caller.cpo is not None
    return caller.cpo


def _new_party_currency(country_code: str, party_id: str, name: str, *, now: datetime) -> str:
    """The currency a new CPO of that party is paid in, once its party and name are checked."""
    try:
        country_name(country_code)
        currency = national_currency(country_code, now.date())
    except CountryUnknown as error:
        raise FieldInvalid("country_code", str(error)) from error
    if not PARTY_ID.match(party_id.upper()):
        raise FieldInvalid("party_id", f"three letters or digits, not {party_id!r}")
    if not 0 < len(name) <= 100:
        raise FieldInvalid("name", "1 to 100 characters")
    return currency


def _cpo_for_party(db: Session, country_code: str, party_id: str, name: str, *, now: datetime) -> CpoRow:
    """The CPO of that party, created inactive (until it registers) if it is new; its id is
    ``cpo-<country code>-<party id>``, it is paid in its country's currency."""
    existing = connections.cpo_of_party(db, country_code, party_id)
    if existing is not None:
        return existing
    currency = _new_party_currency(country_code, party_id, name, now=now)
    cpo = CpoRow(
        id=f"cpo-{country_code}-{party_id}".lower(),
        name=name,
        legal_entity=name,
        country_code=country_code.upper(),
        party_id=party_id.upper(),
        country=country_code.upper(),
        payout_currency=currency,
        active=False,
        # Until it registers: an inactive CPO is never sent a command.
        commands_url="",
        outbound_token="",
    )
    db.add(cpo)
    db.flush()
    return cpo
