"""CPOs' OCPI connections (``OcpiConnectionRow``): who a credentials token authenticates, invitations,
registrations, rotations and unregistrations, in the caller's transaction. Tokens we issued arrive here
as SHA-256 digests only."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.orm import Session

from domain.parties import Cpo
from persistence.parties import as_cpo
from persistence.repositories import same_ci_string
from persistence.tables import CpoRow, OcpiConnectionRoleRow, OcpiConnectionRow, OcpiEndpointRow


class ConnectionState(StrEnum):
    INVITED = "INVITED"
    REGISTERED = "REGISTERED"
    UNREGISTERED = "UNREGISTERED"


@dataclass(frozen=True, slots=True)
class OcpiCaller:
    """Who an OCPI credentials token authenticates."""

    connection_key: int
    cpo: Cpo | None  # None only while we register with a CPO whose reply names it
    registering: bool  # a registration token: versions and credentials only
    # The token a PUT replaced, within its grace: it may only repeat that PUT.
    superseded: bool = False
    # Every CPO party the connection's roles name (``cpo`` among them): each may push through it.
    parties: tuple[Cpo, ...] = ()


@dataclass(frozen=True, slots=True)
class PeerEndpoint:
    identifier: str
    role: str
    url: str


@dataclass(frozen=True, slots=True)
class PeerRole:
    role: str
    country_code: str
    party_id: str
    name: str


@dataclass(frozen=True, slots=True)
class RotationGrace:
    """What a PUT leaves behind for its repeat: the token it replaced, the digest of its body, the token
    C it answered with (sealed), and until when."""

    token_sha256: str
    put_sha256: str
    reply_token: str
    until: datetime


@dataclass(frozen=True, slots=True)
class Registration:
    """What a registration (or a rotation) stores: the token the CPO presents from now on, as a digest,
    and where and how we reach it."""

    inbound_token_sha256: str
    versions_url: str
    version: str
    endpoints: Sequence[PeerEndpoint]
    roles: Sequence[PeerRole]
    grace: RotationGrace | None = None  # a PUT's; a POST ends any grace


def caller_for_token(db: Session, token_sha256: str, *, now: datetime) -> OcpiCaller | None:
    """The connection a token digest opens: a registered connection's token; a registration token (our
    unexpired token A of an invitation, or of a re-issue to a registered CPO whose answer was lost, or the
    token B we gave a CPO we are registering with); or a token a PUT replaced, within its grace."""
    found = db.execute(
        select(OcpiConnectionRow, CpoRow)
        .outerjoin(CpoRow, CpoRow.id == OcpiConnectionRow.cpo_id)
        .where(
            or_(
                and_(
                    OcpiConnectionRow.inbound_token_sha256 == token_sha256,
                    OcpiConnectionRow.state.in_((ConnectionState.REGISTERED, ConnectionState.INVITED)),
                ),
                and_(
                    OcpiConnectionRow.token_a_sha256 == token_sha256,
                    OcpiConnectionRow.state.in_((ConnectionState.REGISTERED, ConnectionState.INVITED)),
                    OcpiConnectionRow.token_a_expires_at > now,
                ),
                and_(
                    OcpiConnectionRow.grace_token_sha256 == token_sha256,
                    OcpiConnectionRow.state == ConnectionState.REGISTERED,
                    OcpiConnectionRow.grace_until > now,
                ),
            )
        )
    ).first()
    if found is None:
        return None
    connection, cpo = found
    registering = connection.state == ConnectionState.INVITED or connection.token_a_sha256 == token_sha256
    # Its own CPO first (a connection registered out of band may carry no roles).
    parties = {party.id: party for party in [*([cpo] if cpo else []), *_parties(db, connection.key)]}
    return OcpiCaller(
        connection.key,
        None if cpo is None else as_cpo(cpo),
        registering,
        superseded=connection.grace_token_sha256 == token_sha256,
        parties=tuple(as_cpo(party) for party in parties.values()),
    )


def _parties(db: Session, connection_key: int) -> Sequence[CpoRow]:
    """The CPOs of the connection's CPO roles."""
    return db.scalars(
        select(CpoRow)
        .join(
            OcpiConnectionRoleRow,
            and_(
                func.upper(OcpiConnectionRoleRow.country_code) == func.upper(CpoRow.country_code),
                func.upper(OcpiConnectionRoleRow.party_id) == func.upper(CpoRow.party_id),
            ),
        )
        .where(OcpiConnectionRoleRow.connection_key == connection_key, OcpiConnectionRoleRow.role == "CPO")
        .order_by(CpoRow.id)
    ).all()


def grace_reply(
    db: Session, connection_key: int, presented_sha256: str, put_sha256: str, *, now: datetime
) -> str | None:
    """The token C (sealed) a PUT answered, when ``presented_sha256`` is the token it replaced, it is
    repeated with the same body, and its grace still runs."""
    return db.scalars(
        select(OcpiConnectionRow.grace_reply_token).where(
            OcpiConnectionRow.key == connection_key,
            OcpiConnectionRow.state == ConnectionState.REGISTERED,
            OcpiConnectionRow.grace_token_sha256 == presented_sha256,
            OcpiConnectionRow.grace_put_sha256 == put_sha256,
            OcpiConnectionRow.grace_until > now,
        )
    ).first()


def cpo_of_party(db: Session, country_code: str, party_id: str) -> CpoRow | None:
    return db.scalars(
        select(CpoRow).where(
            same_ci_string(CpoRow.country_code, country_code), same_ci_string(CpoRow.party_id, party_id)
        )
    ).first()


def connection_of(db: Session, cpo_id: str) -> OcpiConnectionRow | None:
    return db.scalars(select(OcpiConnectionRow).where(OcpiConnectionRow.cpo_id == cpo_id)).first()


def invite(db: Session, cpo_id: str, token_a_sha256: str, *, expires_at: datetime, now: datetime) -> None:
    """Open (or reopen, after an unregistration or a lost answer) the CPO's connection with a new token A;
    a previous token A stops working. A registered connection stays registered (its token keeps working
    until the CPO registers with the new token A, which replaces it)."""
    connection = connection_of(db, cpo_id)
    if connection is None:
        connection = OcpiConnectionRow(cpo_id=cpo_id, created_at=now)
        db.add(connection)
    if connection.state != ConnectionState.REGISTERED:
        connection.state = ConnectionState.INVITED
        connection.inbound_token_sha256 = None
    connection.token_a_sha256 = token_a_sha256
    connection.token_a_expires_at = expires_at
    connection.updated_at = now


def begin_registration_with_cpo(db: Session, inbound_token_sha256: str, versions_url: str, *, now: datetime) -> int:
    """A connection for a CPO we register with, before its reply tells who it is: the token B we send it
    works on versions and credentials while it calls us back."""
    connection = OcpiConnectionRow(
        cpo_id=None,
        state=ConnectionState.INVITED,
        inbound_token_sha256=inbound_token_sha256,
        versions_url=versions_url,
        created_at=now,
        updated_at=now,
    )
    db.add(connection)
    db.flush()
    return connection.key


def abandon(db: Session, connection_key: int) -> None:
    """Forget a registration with a CPO that did not complete: its token B stops working."""
    db.execute(delete(OcpiConnectionRow).where(OcpiConnectionRow.key == connection_key))


def adopt(db: Session, pending_key: int, cpo_id: str) -> int:
    """Give the pending connection to the CPO its reply named; when that CPO already has a connection
    (registered before, or invited), that one carries on and the pending one is dropped."""
    existing = connection_of(db, cpo_id)
    pending = db.get_one(OcpiConnectionRow, pending_key)
    if existing is None:
        pending.cpo_id = cpo_id
        return pending_key
    inbound, versions_url = pending.inbound_token_sha256, pending.versions_url
    db.delete(pending)
    db.flush()
    existing.state = ConnectionState.INVITED
    existing.inbound_token_sha256, existing.versions_url = inbound, versions_url
    return existing.key


def parties_of_others(db: Session, connection_key: int, roles: Sequence[PeerRole]) -> list[PeerRole]:
    """Those of ``roles`` another connection carries already (a party belongs to one connection): as one
    of its roles, or, for a CPO, as the connection of its own (invited, or registered without roles)."""
    taken = []
    for role in roles:
        owner = db.scalars(
            select(OcpiConnectionRoleRow.connection_key).where(
                same_ci_string(OcpiConnectionRoleRow.country_code, role.country_code),
                same_ci_string(OcpiConnectionRoleRow.party_id, role.party_id),
                OcpiConnectionRoleRow.role == role.role,
            )
        ).first()
        cpo = cpo_of_party(db, role.country_code, role.party_id) if role.role == "CPO" else None
        if owner is None and cpo is not None:
            owner = db.scalars(
                select(OcpiConnectionRow.key).where(
                    OcpiConnectionRow.cpo_id == cpo.id, OcpiConnectionRow.state != ConnectionState.UNREGISTERED
                )
            ).first()
        if owner is not None and owner != connection_key:
            taken.append(role)
    return taken


def record_registration(
    db: Session, connection_key: int, presented_sha256: str, registration: Registration, *, now: datetime
) -> bool:
    """Store a registration or a rotation, if the token it was asked with (token A, or the registered token
    being replaced) still opens the connection: two requests racing with one token store one. Token A is
    spent; the endpoints and roles are replaced by those just fetched."""
    grace = registration.grace
    registered = db.scalars(
        update(OcpiConnectionRow)
        .where(
            OcpiConnectionRow.key == connection_key,
            OcpiConnectionRow.state.in_((ConnectionState.REGISTERED, ConnectionState.INVITED)),
            or_(
                OcpiConnectionRow.token_a_sha256 == presented_sha256,
                OcpiConnectionRow.inbound_token_sha256 == presented_sha256,
            ),
        )
        .values(
            state=ConnectionState.REGISTERED,
            token_a_sha256=None,
            token_a_expires_at=None,
            inbound_token_sha256=registration.inbound_token_sha256,
            versions_url=registration.versions_url,
            version=registration.version,
            updated_at=now,
            registered_at=now,
            unregistered_at=None,
            grace_token_sha256=grace.token_sha256 if grace else None,
            grace_put_sha256=grace.put_sha256 if grace else None,
            grace_reply_token=grace.reply_token if grace else None,
            grace_until=grace.until if grace else None,
        )
        .returning(OcpiConnectionRow.key)
        .execution_options(synchronize_session=False)
    ).first()
    if registered is None:
        return False
    carried = {(r.country_code.upper(), r.party_id.upper()) for r in registration.roles if r.role == "CPO"}
    dropped = [
        p.id for p in _parties(db, connection_key) if (p.country_code.upper(), p.party_id.upper()) not in carried
    ]
    # A party the connection no longer carries gets no command with its token any more.
    db.execute(update(CpoRow).where(CpoRow.id.in_(dropped)).values(active=False))
    db.execute(delete(OcpiEndpointRow).where(OcpiEndpointRow.connection_key == connection_key))
    db.execute(delete(OcpiConnectionRoleRow).where(OcpiConnectionRoleRow.connection_key == connection_key))
    db.add_all(OcpiEndpointRow(connection_key=connection_key, **asdict(e)) for e in registration.endpoints)
    db.add_all(OcpiConnectionRoleRow(connection_key=connection_key, **asdict(r)) for r in registration.roles)
    return True


def unregister(db: Session, connection_key: int, presented_sha256: str, *, now: datetime) -> bool:
    """End the connection, if ``presented_sha256`` is still its token: no token of it works any more, and
    its CPOs are inactive (no session is started with them). Their data and their history stay."""
    parties = [party.id for party in _parties(db, connection_key)]
    cpo_id = db.scalars(
        update(OcpiConnectionRow)
        .where(
            OcpiConnectionRow.key == connection_key,
            OcpiConnectionRow.state == ConnectionState.REGISTERED,
            OcpiConnectionRow.inbound_token_sha256 == presented_sha256,
        )
        .values(
            state=ConnectionState.UNREGISTERED,
            inbound_token_sha256=None,
            token_a_sha256=None,
            token_a_expires_at=None,
            grace_token_sha256=None,
            grace_put_sha256=None,
            grace_reply_token=None,
            grace_until=None,
            updated_at=now,
            unregistered_at=now,
        )
        .returning(OcpiConnectionRow.cpo_id)
        .execution_options(synchronize_session=False)
    ).first()
    if cpo_id is None:
        return False
    db.execute(update(CpoRow).where(CpoRow.id.in_([cpo_id, *parties])).values(active=False))
    return True
