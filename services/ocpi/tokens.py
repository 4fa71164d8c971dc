"""OCPI Tokens, our Sender: CPOs pull the drivers' tokens our demand partners registered, and authorise
them in real time (ocpi-connect.md §7); a Plug & Charge car is found by its eMA-ID when the CPO sends that as the
uid (§7.4).

A real-time authorisation is decided as a remote start is (``persistence/authorisations.py``): the token
first (unknown: 404 with 2004; ``valid`` false: BLOCKED; past ``valid_until``: EXPIRED), then the partner
and the EVSEs of the Location the CPO names (an inactive partner, an unknown, removed or otherwise unusable
EVSE, no contract or tariff in force: NOT_ALLOWED), then the credit (a hold of the session cap that the
partner's limit cannot take: NO_CREDIT). ALLOWED comes with a fresh ``authorization_reference`` and the hold
placed under it, in the same transaction (the partner's row locked: parallel authorisations never take the
same credit twice). The reference is the id the session will have; a hold no session follows expires as
any hold does (``persistence.holds.expire_holds``). Every authorisation is stored with its answer."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from domain.errors import AuthorisationRefused, RefusalReason
from domain.parties import Cpo
from domain.partners import FieldInvalid
from domain.tokens import (
    EMAID_LENGTH_WITHOUT_CHECK,
    TokenType,
    WhitelistType,
    emaid_check_character,
    normalised_contract_id,
)
from messages.ocpi import AllowedType, LocationReferences, format_ocpi_datetime
from persistence import authorisations, tokens
from persistence import locations as stored_locations
from persistence.tokens import StoredToken

Document = dict[str, Any]


@dataclass(frozen=True, slots=True)
class OurParty:
    """Who issues the tokens towards CPOs: the platform's OCPI party."""

    country_code: str
    party_id: str


def ocpi_token(token: StoredToken, party: OurParty, *, now: datetime) -> Document:
    """The OCPI Token: ``valid`` is false for a blocked token and for one past its ``valid_until``, so a
    CPO's cache never accepts it."""
    fields = token.fields
    document: Document = {
        "country_code": party.country_code,
        "party_id": party.party_id,
        "uid": fields.uid,
        "type": fields.type.value,
        "contract_id": fields.contract_id,
        "issuer": fields.issuer,
        "valid": fields.valid and not _expired(token, now),
        "whitelist": fields.whitelist.value,
        "last_updated": format_ocpi_datetime(token.last_updated),
    }
    if fields.visual_number is not None:
        document["visual_number"] = fields.visual_number
    if fields.language is not None:
        document["language"] = fields.language
    return document


def _expired(token: StoredToken, now: datetime) -> bool:
    return token.fields.valid_until is not None and token.fields.valid_until <= now


def tokens_page(
    db: Session, party: OurParty, *, date_from: datetime | None, date_to: datetime | None, offset: int, limit: int
) -> tuple[list[Document], int]:
    """One page of every partner's tokens (blocked ones included: the CPO must learn of the block)."""
    found, total = tokens.tokens_page(db, date_from=date_from, date_to=date_to, offset=offset, limit=limit)
    now = datetime.now(UTC)
    return [ocpi_token(token, party, now=now) for token in found], total


@dataclass(frozen=True, slots=True)
class AuthorisationAnswer:
    """An OCPI AuthorizationInfo, ready for JSON."""

    allowed: AllowedType
    info: Document


class LocationNeeded(Exception):
    """The token may charge, but where decides the rest (OCPI 2002): the CPO sent no LocationReferences."""


def authorise_token(
    db: Session,
    cpo: Cpo,
    party: OurParty,
    uid: str,
    token_type: TokenType,
    location: LocationReferences | None,
    *,
    now: datetime,
) -> AuthorisationAnswer | None:
    """The answer to a CPO's real-time authorisation, stored; None for a token we do not know. Raises
    ``LocationNeeded`` (nothing stored, nothing held) for a valid token without a Location."""
    token = _known_token(db, uid, token_type)
    if token is None:
        return None
    decision = _decided_and_recorded(db, cpo, token, location, now=now)
    info: Document = {"allowed": decision.allowed.value, "token": ocpi_token(token, party, now=now)}
    if location is not None:
        info["location"] = {"location_id": location.location_id, "evse_uids": decision.evse_uids}
    if decision.reference is not None:
        info["authorization_reference"] = decision.reference
    if decision.reason is not None:
        info["info"] = {"language": "en", "text": decision.reason[:512]}
    return AuthorisationAnswer(decision.allowed, info)


# OCPI 2.2.1 has no ISO 15118 token type: a CPO authorises a Plug & Charge car by putting its eMA-ID in
# ``uid`` with type OTHER, some with RFID (ocpi-connect.md §7.4).
PLUG_AND_CHARGE_TYPES = (TokenType.OTHER, TokenType.RFID)


def _plug_and_charge_token(db: Session, uid: str, token_type: TokenType) -> StoredToken | None:
    """The token whose contract id is this uid, when the uid is an eMA-ID: matched normalised, with or
    without its check character (ISO 15118-2 may carry either)."""
    if token_type not in PLUG_AND_CHARGE_TYPES:
        return None
    try:
        contract_id = normalised_contract_id(uid)
    except FieldInvalid:
        return None
    without_check = contract_id[:EMAID_LENGTH_WITHOUT_CHECK]
    return tokens.token_by_contract_id(db, [without_check, without_check + emaid_check_character(without_check)])


def _known_token(db: Session, uid: str, token_type: TokenType) -> StoredToken | None:
    return tokens.token_by_uid(db, uid, token_type) or _plug_and_charge_token(db, uid, token_type)


def _decided_and_recorded(
    db: Session, cpo: Cpo, token: StoredToken, location: LocationReferences | None, *, now: datetime
) -> _Decision:
    decision = _decide(db, cpo, token, location, now=now)
    tokens.record_authorisation(
        db,
        tokens.AuthorisationRecord(
            token_key=token.key,
            demand_partner_id=token.demand_partner_id,
            cpo_id=cpo.id,
            location_id=None if location is None else location.location_id,
            evse_uids=decision.evse_uids if decision.reference else ([] if location is None else location.evse_uids),
            allowed=decision.allowed.value,
            reason=decision.reason,
            authorization_reference=decision.reference,
            hold_key=decision.hold_key,
            requested_at=now,
        ),
    )
    return decision


@dataclass(frozen=True, slots=True)
class WhitelistedStart:
    """A session a CPO started on its whitelist, authorised as it arrives: the reference of an ALLOWED one
    (the id our session takes), or why not."""

    reference: str | None
    refusal: str | None = None


def authorise_whitelisted(
    db: Session, cpo: Cpo, uid: str, token_type: TokenType, location: LocationReferences, *, at: datetime
) -> WhitelistedStart | None:
    """A CPO may start a session without asking us for a token whose whitelist lets it (ALWAYS, ALLOWED,
    ALLOWED_OFFLINE): its Session is then the authorisation request, decided at the session's start as a
    real-time one is (hold placed, stored). None for a token we do not know or that must be asked for."""
    token = _known_token(db, uid, token_type)
    if token is None or token.fields.whitelist == WhitelistType.NEVER:
        return None
    decision = _decided_and_recorded(db, cpo, token, location, now=at)
    if decision.reference is None:
        return WhitelistedStart(None, f"{decision.allowed.value}: {decision.reason}")
    return WhitelistedStart(decision.reference)


@dataclass(frozen=True, slots=True)
class _Decision:
    allowed: AllowedType
    reason: str | None = None  # why not ALLOWED
    evse_uids: list[str] = field(default_factory=list)  # the EVSEs allowed
    reference: str | None = None  # an ALLOWED's, the id of the session to come
    hold_key: int | None = None  # the credit hold placed under the reference


def _decide(
    db: Session, cpo: Cpo, token: StoredToken, location: LocationReferences | None, *, now: datetime
) -> _Decision:
    if not token.fields.valid:
        return _Decision(AllowedType.BLOCKED, "this token is blocked")
    if _expired(token, now):
        return _Decision(AllowedType.EXPIRED, "this token has expired")
    if location is None:
        raise LocationNeeded("name the Location (LocationReferences): the EVSE decides the tariff and the hold")
    allowed: list[str] = []
    decided: authorisations.Decided | None = None
    no_evse = AuthorisationRefused(RefusalReason.UNKNOWN_EVSE, f"no EVSE of yours at {location.location_id}")
    first_refusal: AuthorisationRefused | None = None
    for evse_uid, evse_id in _evse_ids(db, cpo, location):
        try:
            if evse_id is None:
                raise AuthorisationRefused(RefusalReason.UNKNOWN_EVSE, f"no EVSE {evse_uid} at {location.location_id}")
            decision = authorisations.decide(db, token.demand_partner_id, evse_id, at=now)
        except AuthorisationRefused as refused:
            first_refusal = first_refusal or refused
            continue
        decided = decided or decision  # the hold is the partner's: any allowed EVSE's decision places it
        allowed.append(evse_uid)
    if decided is None:
        return _refused(first_refusal or no_evse)
    reference = str(uuid.uuid4())
    try:
        hold = authorisations.hold_credit(db, decided, session_id=reference, max_amount=None, at=now, now=now)
    except AuthorisationRefused as refused:
        return _refused(refused)
    return _Decision(AllowedType.ALLOWED, evse_uids=allowed, reference=reference, hold_key=hold.key)


# OCPI 2.2.1 AllowedType: NO_CREDIT is "the token belongs to an account that has not enough credits to charge",
# NOT_ALLOWED "is not allowed to charge at the given location". A partner over its credit limit, or with an
# invoice overdue (its account is suspended for non-payment, wherever the driver plugs in), has no credit.
NO_CREDIT_REASONS = frozenset({RefusalReason.CREDIT_LIMIT_EXCEEDED, RefusalReason.OVERDUE})


def _refused(refused: AuthorisationRefused) -> _Decision:
    """The answer to a refusal: its reason code, and for OVERDUE what is overdue (the driver's app can say)."""
    allowed = AllowedType.NO_CREDIT if refused.reason in NO_CREDIT_REASONS else AllowedType.NOT_ALLOWED
    text = str(refused) if refused.reason == RefusalReason.OVERDUE else refused.reason.value
    return _Decision(allowed, text)


def _evse_ids(db: Session, cpo: Cpo, location: LocationReferences) -> list[tuple[str, str | None]]:
    """Each EVSE asked for (all of the Location's when none is named), with its EVSE id: None when the CPO's
    Location has no such EVSE, or the EVSE no id a session can start on."""
    asked = location.evse_uids
    row = stored_locations.location_row(db, cpo.id, location.location_id)
    if row is None:
        return [(evse_uid, None) for evse_uid in asked]
    if not asked:
        return [(evse.evse_uid, evse.evse_id) for evse in stored_locations.location_evses(db, row)]
    found = [(evse_uid, stored_locations.evse_row(db, row, evse_uid)) for evse_uid in asked]
    return [(evse_uid, None if evse is None else evse.evse_id) for evse_uid, evse in found]
