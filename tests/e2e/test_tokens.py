"""Drivers' tokens over the real stack: partners register, read, list and block them (``/v1/tokens``, one
partner never sees another's), CPOs pull them (OCPI Tokens, our Sender) and authorise them in real time,
with a credit hold per ALLOWED that parallel authorisations never overdraw and that expires when no
session follows."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from adapters.cpo import ocpi_token_header
from cli.seed import DemoPartner, ensure_demand_partner
from domain.ledger.holds import HoldState
from domain.sessions.lifecycle import SessionStage
from domain.tokens import TokenType, WhitelistType, emaid_check_character
from persistence import holds, tokens
from persistence.tables import OcpiSessionRow, SessionRow, TokenAuthorisationRow, TokenRow
from persistence.tokens import TokenFields
from tests.e2e.conftest import DORMANT, MOTORBRIT, ROAMLY, STROMNETZ, Stack
from tests.e2e.test_ocpi_intake import cdr_for, stamp

pytestmark = pytest.mark.asyncio(loop_scope="session")

TOKENS = "/v1/tokens"
OCPI_TOKENS = "/ocpi/emsp/2.2.1/tokens"
AT_BERLIN = {"location_id": "BER-ALEX", "evse_uids": ["BER-ALEX-1"]}
CONTRACT_ID = "NL-NWC-C12345678-H"  # its check character is H


def rfid_uid() -> str:
    return uuid.uuid4().hex[:14].upper()


def token_body(uid: str, **fields: Any) -> dict[str, Any]:
    return {
        "uid": uid,
        "type": "RFID",
        "contract_id": CONTRACT_ID,
        "issuer": "Roamly",
        "whitelist": "ALLOWED",
        "visual_number": "RML-0001",
    } | fields


async def register(stack: Stack, uid: str, api_key: str = ROAMLY.api_key, **fields: Any) -> dict[str, Any]:
    reply = await stack.http.post(TOKENS, json=token_body(uid, **fields), headers=stack.headers(api_key))
    assert reply.status_code == 201, reply.text
    body: dict[str, Any] = reply.json()
    return body


def cpo_headers(stack: Stack) -> dict[str, str]:
    return {"Authorization": ocpi_token_header(stack.cpo_token(STROMNETZ.id))}


async def authorize(
    stack: Stack, uid: str, location: dict[str, Any] | None = AT_BERLIN, token_type: str = "RFID"
) -> httpx.Response:
    return await stack.http.post(
        f"{OCPI_TOKENS}/{uid}/authorize", params={"type": token_type}, json=location, headers=cpo_headers(stack)
    )


async def test_a_partner_registers_reads_lists_and_blocks_its_token(stack: Stack) -> None:
    uid = rfid_uid()
    created = await register(stack, uid, contract_id="nl-nwc-c12345678-h", language="de")
    assert created["uid"] == uid
    assert (created["contract_id"], created["normalised_contract_id"]) == ("nl-nwc-c12345678-h", "NLNWCC12345678H")
    assert (created["valid"], created["whitelist"], created["valid_until"]) == (True, "ALLOWED", None)

    read = await stack.http.get(f"{TOKENS}/{uid.lower()}", headers=stack.headers())  # a uid ignores case
    assert read.status_code == 200, read.text
    assert read.json() == created

    blocked = await stack.http.patch(
        f"{TOKENS}/{uid}", json={"valid": False, "whitelist": "NEVER"}, headers=stack.headers()
    )
    assert blocked.status_code == 200, blocked.text
    assert (blocked.json()["valid"], blocked.json()["whitelist"]) == (False, "NEVER")
    assert blocked.json()["last_updated"] > created["last_updated"]

    await register(stack, rfid_uid())
    first = await stack.http.get(TOKENS, params={"limit": 1}, headers=stack.headers())
    assert first.status_code == 200
    assert len(first.json()["data"]) == 1
    assert first.json()["next_cursor"]
    seen: list[str] = []
    cursor = None
    while True:
        page = await stack.http.get(
            TOKENS, params={"limit": 50, **({"cursor": cursor} if cursor else {})}, headers=stack.headers()
        )
        seen += [token["uid"] for token in page.json()["data"]]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
    assert uid in seen
    assert (await stack.http.get(TOKENS, params={"cursor": "nope"}, headers=stack.headers())).status_code == 400


async def test_another_partner_never_sees_a_token_and_cannot_take_its_uid(stack: Stack) -> None:
    uid = rfid_uid()
    await register(stack, uid)
    theirs = stack.headers(MOTORBRIT.api_key)
    assert (await stack.http.get(f"{TOKENS}/{uid}", headers=theirs)).status_code == 404
    assert (await stack.http.patch(f"{TOKENS}/{uid}", json={"valid": False}, headers=theirs)).status_code == 404
    listed = (await stack.http.get(TOKENS, params={"limit": 200}, headers=theirs)).json()["data"]
    assert uid not in [token["uid"] for token in listed]
    # uid + type is unique across the platform, in any spelling; another type is another token.
    taken = await stack.http.post(TOKENS, json=token_body(uid.lower()), headers=theirs)
    assert taken.status_code == 409, taken.text
    await register(stack, uid, MOTORBRIT.api_key, type="APP_USER")
    still = await stack.http.get(f"{TOKENS}/{uid}", headers=stack.headers())
    assert still.json()["valid"] is True


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"contract_id": "NL-NWC-C12345678-X"}, "contract_id"),  # wrong check character
        ({"contract_id": "NL-NWCC12345678H"}, "contract_id"),  # hyphens in some places only
        ({"contract_id": "NL-N_C-C12345678"}, "contract_id"),
        ({"contract_id": "NL-NWC"}, "contract_id"),
        ({"uid": "NOT-HEX-AT-ALL"}, "uid"),
        ({"uid": "04A1B2"}, "uid"),  # 3 bytes: no RFID uid
        ({"valid_until": "2020-01-01T00:00:00Z"}, "valid_until"),
        ({"valid_until": "2030-01-01T00:00:00"}, "valid_until"),  # no zone
        ({"whitelist": "SOMETIMES"}, "whitelist"),
        ({"type": "EMAID"}, "type"),
    ],
)
async def test_malformed_input_is_refused_naming_the_field_and_nothing_is_stored(
    stack: Stack, fields: dict[str, Any], named: str
) -> None:
    body = token_body(rfid_uid()) | fields  # the parameters are shared by both databases: never changed
    reply = await stack.http.post(TOKENS, json=body, headers=stack.headers())
    assert reply.status_code == 422, reply.text
    assert named in str(reply.json()["detail"])
    assert (await stack.http.get(f"{TOKENS}/{body['uid']}", headers=stack.headers())).status_code in (404, 422)


async def test_a_contract_id_without_check_character_and_app_users_are_taken(stack: Stack) -> None:
    created = await register(stack, f"app-user-{uuid.uuid4().hex[:8]}", type="APP_USER", contract_id="DE8AA001234567")
    assert created["normalised_contract_id"] == "DE8AA001234567"
    patched = await stack.http.patch(
        f"{TOKENS}/{created['uid']}",
        params={"type": "APP_USER"},
        json={"valid_until": "2020-01-01T00:00:00Z"},
        headers=stack.headers(),
    )
    assert patched.status_code == 422
    assert "valid_until" in patched.json()["detail"]


async def test_cpos_pull_every_partners_tokens_page_by_page(stack: Stack) -> None:
    before = datetime.now(UTC) - timedelta(seconds=1)
    ours = [await register(stack, rfid_uid()), await register(stack, rfid_uid(), MOTORBRIT.api_key)]
    since = before.strftime("%Y-%m-%dT%H:%M:%SZ")
    first = await stack.http.get(OCPI_TOKENS, params={"date_from": since, "limit": 1}, headers=cpo_headers(stack))
    assert first.status_code == 200, first.text
    assert first.json()["status_code"] == 1000
    assert int(first.headers["X-Total-Count"]) >= 2
    assert first.headers["X-Limit"] == "100"
    assert 'rel="next"' in first.headers["Link"]
    pulled = await stack.http.get(OCPI_TOKENS, params={"date_from": since}, headers=cpo_headers(stack))
    documents = {document["uid"]: document for document in pulled.json()["data"]}
    for token in ours:
        document = documents[token["uid"]]
        assert (document["country_code"], document["party_id"], document["type"]) == ("CH", "NWC", "RFID")
        assert (document["contract_id"], document["valid"], document["whitelist"]) == (CONTRACT_ID, True, "ALLOWED")
    refused = await stack.http.get(OCPI_TOKENS, params={"offset": "-1"}, headers=cpo_headers(stack))
    assert refused.json()["status_code"] == 2001
    unknown_cpo = await stack.http.get(OCPI_TOKENS, headers={"Authorization": ocpi_token_header("nope")})
    assert unknown_cpo.status_code == 401
    details = await stack.http.get("/ocpi/emsp/2.2.1", headers=cpo_headers(stack))
    assert {"identifier": "tokens", "role": "SENDER", "url": f"{stack.api_url}{OCPI_TOKENS}"} in details.json()["data"][
        "endpoints"
    ]


async def test_realtime_authorisation_allows_with_a_reference_and_a_hold(stack: Stack) -> None:
    uid = rfid_uid()
    await register(stack, uid)
    reply = await authorize(stack, uid.lower())
    assert reply.status_code == 200, reply.text
    info = reply.json()["data"]
    assert reply.json()["status_code"] == 1000
    assert info["allowed"] == "ALLOWED"
    assert info["location"] == AT_BERLIN
    assert info["token"]["uid"] == uid
    assert info["token"]["party_id"] == "NWC"
    reference = info["authorization_reference"]
    assert len(reference) == 36
    with stack.writes() as db:
        hold = holds.hold_for_session(db, reference)
        assert hold is not None
        assert (hold.amount_minor, hold.currency) == (8000, "EUR")  # Roamly's session cap
        assert holds.hold_state(db, hold) == HoldState.PENDING
    again = await authorize(stack, uid)
    assert again.json()["data"]["authorization_reference"] != reference  # a fresh one every time


async def test_realtime_authorisation_refusals(stack: Stack) -> None:
    unknown = await authorize(stack, rfid_uid())
    assert unknown.status_code == 404
    assert (unknown.json()["status_code"], unknown.json()["data"]) == (2004, None)

    blocked = rfid_uid()
    await register(stack, blocked, valid=False)
    assert (await authorize(stack, blocked)).json()["data"]["allowed"] == "BLOCKED"

    expiring = rfid_uid()
    await register(stack, expiring, valid_until=(datetime.now(UTC) + timedelta(seconds=1)).isoformat())
    await asyncio.sleep(1.1)
    assert (await authorize(stack, expiring)).json()["data"]["allowed"] == "EXPIRED"

    uid = rfid_uid()
    await register(stack, uid)
    for location in (
        {"location_id": "BER-ALEX", "evse_uids": ["NO-SUCH-EVSE"]},
        {"location_id": "NOWHERE", "evse_uids": ["BER-ALEX-1"]},
        {"location_id": "NOWHERE"},
    ):
        refused = (await authorize(stack, uid, location)).json()["data"]
        assert refused["allowed"] == "NOT_ALLOWED", location
        assert refused["info"]["text"] == "UNKNOWN_EVSE"
        assert "authorization_reference" not in refused
    whole_location = (await authorize(stack, uid, {"location_id": "BER-ALEX"})).json()["data"]
    assert whole_location["allowed"] == "ALLOWED"
    assert whole_location["location"]["evse_uids"] == ["BER-ALEX-1", "BER-ALEX-2"]

    needs_location = await authorize(stack, uid, None)
    assert (needs_location.status_code, needs_location.json()["status_code"]) == (200, 2002)
    bad_body = await authorize(stack, uid, {"evse_uids": ["BER-ALEX-1"]})
    assert bad_body.json()["status_code"] == 2001
    bad_type = await authorize(stack, uid, token_type="EMAID")
    assert bad_type.json()["status_code"] == 2001

    dormant = rfid_uid()
    with stack.writes.begin() as db:
        tokens.add_token(db, DORMANT.id, _fields(dormant), now=datetime.now(UTC))
    inactive = (await authorize(stack, dormant)).json()["data"]
    assert (inactive["allowed"], inactive["info"]["text"]) == ("NOT_ALLOWED", "DEMAND_PARTNER_INACTIVE")


def _fields(uid: str) -> TokenFields:
    return TokenFields(
        uid=uid,
        type=TokenType.RFID,
        contract_id=CONTRACT_ID,
        normalised_contract_id="NLNWCC12345678H",
        visual_number=None,
        issuer="Dormant",
        whitelist=WhitelistType.ALLOWED,
        valid=True,
        valid_until=None,
        language=None,
    )


async def test_parallel_authorisations_never_overdraw_and_unfollowed_holds_expire(stack: Stack) -> None:
    suffix = uuid.uuid4().hex[:8]
    partner = DemoPartner(f"dp-taps-{suffix}", "Taps test", "DE", "DE281045677", "EUR", f"k-taps-{suffix}")
    with stack.writes.begin() as db:
        # Room for three sessions of 80.00 under a limit of 250.00.
        ensure_demand_partner(db, partner, {"credit": {"limit": "250", "session_cap": "80"}}, now=datetime.now(UTC))
    uid = rfid_uid()
    await register(stack, uid, partner.api_key)

    answers = await asyncio.gather(*(authorize(stack, uid) for _ in range(8)))
    allowed = [answer.json()["data"] for answer in answers if answer.json()["data"]["allowed"] == "ALLOWED"]
    refused = [answer.json()["data"] for answer in answers if answer.json()["data"]["allowed"] != "ALLOWED"]
    assert len(allowed) == 3
    assert {info["allowed"] for info in refused} == {"NO_CREDIT"}
    references = [info["authorization_reference"] for info in allowed]
    with stack.writes() as db:
        placed = [holds.hold_for_session(db, reference) for reference in references]
        assert [hold.amount_minor for hold in placed if hold is not None] == [8000, 8000, 8000]

    # No session follows: past their expiry the holds are released, and the credit is there again.
    with stack.writes.begin() as db:
        assert holds.expire_holds(db, now=datetime.now(UTC) + timedelta(days=8)) >= 3
        assert all(holds.hold_state(db, hold) == HoldState.EXPIRED for hold in placed if hold is not None)
    with stack.writes() as db:
        limited = [hold for hold in placed if hold is not None]
        assert sum(hold.amount_minor for hold in limited) == int(Decimal("240") * 100)
    assert (await authorize(stack, uid)).json()["data"]["allowed"] == "ALLOWED"


def cpo_session(reference: str | None, cpo_session_id: str, uid: str, status: str, **fields: Any) -> dict[str, Any]:
    """The Session a CPO sends when a driver started charging with a token we authorised."""
    now = datetime.now(UTC)
    return {
        "country_code": "DE",
        "party_id": "STN",
        "id": cpo_session_id,
        "start_date_time": stamp(now - timedelta(seconds=1)),
        "kwh": 0,
        "cdr_token": {"country_code": "CH", "party_id": "NWC", "uid": uid, "type": "RFID", "contract_id": CONTRACT_ID},
        "auth_method": "AUTH_REQUEST",
        "authorization_reference": reference,
        "location_id": "BER-ALEX",
        "evse_uid": "BER-ALEX-1",
        "connector_id": "1",
        "currency": "EUR",
        "status": status,
        "last_updated": stamp(now),
    } | fields


async def test_a_session_the_cpo_starts_on_an_authorisation_settles_on_the_tokens_partner(stack: Stack) -> None:
    uid = rfid_uid()
    await register(stack, uid)
    reference = (await authorize(stack, uid)).json()["data"]["authorization_reference"]
    cpo_session_id = f"tap-{uuid.uuid4().hex[:12]}"
    url = f"/ocpi/emsp/2.2.1/sessions/DE/STN/{cpo_session_id}"
    headers = {**cpo_headers(stack), "Content-Type": "application/json"}

    # A CiString: the CPO may send our reference in upper case.
    started = await stack.http.put(
        url, json=cpo_session(reference.upper(), cpo_session_id, uid, "ACTIVE"), headers=headers
    )
    assert started.status_code == 201, started.text
    assert started.json()["status_code"] == 1000
    session = await stack.wait_for(reference, SessionStage.CHARGING)  # the partner sees it under the reference
    assert (session["evse_id"], session["driver_reference"], session["cpo_session_id"]) == (
        "DE*STN*E3001",
        uid,
        cpo_session_id,
    )
    assert (
        await stack.http.get(f"/v1/sessions/{reference}", headers=stack.headers(MOTORBRIT.api_key))
    ).status_code == 404

    ended = cpo_session(reference, cpo_session_id, uid, "COMPLETED", kwh=20.5, end_date_time=stamp(datetime.now(UTC)))
    assert (await stack.http.put(url, json=ended, headers=headers)).json()["status_code"] == 1000
    session = await stack.wait_for(
        reference, SessionStage.AWAITING_CDR, SessionStage.CDR_RECEIVED, SessionStage.SETTLED
    )
    cdr = cdr_for(session) | {
        "cdr_token": {"country_code": "CH", "party_id": "NWC", "uid": uid, "type": "RFID", "contract_id": CONTRACT_ID},
        "auth_method": "AUTH_REQUEST",
    }
    posted = await stack.http.post("/ocpi/emsp/2.2.1/cdrs", json=cdr, headers=headers)
    assert posted.status_code == 201, posted.text
    result = await stack.result(reference)
    assert result.stage == SessionStage.SETTLED
    settled = await stack.get(reference)
    assert settled["billing"]["currency"] == "EUR"
    assert Decimal(settled["clearing"]["total_cost"]["excl_vat"]) > 0
    with stack.writes() as db:
        hold = holds.hold_for_session(db, reference)  # the authorisation's hold, captured by the session
        assert hold is not None
        assert holds.hold_state(db, hold) == HoldState.POSTED


async def test_a_session_naming_a_refused_authorisation_or_none_is_still_refused(stack: Stack) -> None:
    uid = rfid_uid()
    await register(stack, uid, valid=False)
    refused = (await authorize(stack, uid)).json()["data"]
    assert "authorization_reference" not in refused
    headers = {**cpo_headers(stack), "Content-Type": "application/json"}
    for reference in (str(uuid.uuid4()), None):
        cpo_session_id = f"tap-{uuid.uuid4().hex[:12]}"
        body = cpo_session(reference, cpo_session_id, uid, "ACTIVE")
        reply = await stack.http.put(f"/ocpi/emsp/2.2.1/sessions/DE/STN/{cpo_session_id}", json=body, headers=headers)
        assert reply.json()["status_code"] == 2001
        # Its whitelist let the CPO start on its own, so the Session was decided as it came: blocked.
        assert reply.json()["status_message"] == f"token {uid} may not charge here: BLOCKED: this token is blocked"
    with stack.writes() as db:
        assert db.scalar(select(SessionRow).where(SessionRow.driver_reference == uid)) is None


@pytest.mark.parametrize("whitelist", ["ALWAYS", "ALLOWED_OFFLINE"])
async def test_a_session_the_cpo_starts_on_its_whitelist_is_authorised_as_it_arrives_and_settles(
    stack: Stack, whitelist: str
) -> None:
    uid = rfid_uid()
    await register(stack, uid, whitelist=whitelist)
    cpo_session_id = f"wl-{uuid.uuid4().hex[:12]}"
    url = f"/ocpi/emsp/2.2.1/sessions/DE/STN/{cpo_session_id}"
    headers = {**cpo_headers(stack), "Content-Type": "application/json"}
    body = cpo_session(None, cpo_session_id, uid, "ACTIVE", auth_method="WHITELIST")
    started = await stack.http.put(url, json=body, headers=headers)
    assert started.status_code == 201, started.text
    assert (await stack.http.put(url, json=body, headers=headers)).status_code == 200  # a retry: the same session
    with stack.writes() as db:
        ours = (
            db.scalars(select(OcpiSessionRow).where(OcpiSessionRow.session_id == cpo_session_id)).one().our_session_id
        )
        authorisation = db.scalars(
            select(TokenAuthorisationRow).where(TokenAuthorisationRow.authorization_reference == ours)
        ).one()
        assert (authorisation.allowed, authorisation.cpo_id) == ("ALLOWED", STROMNETZ.id)
        hold = holds.hold_for_session(db, ours)
        assert hold is not None
        assert (hold.currency, hold.amount_minor) == ("EUR", 8000)  # the contract's session cap, as a tap's
        assert authorisation.demand_partner_id == ROAMLY.id
    session = await stack.wait_for(ours, SessionStage.CHARGING)
    assert (session["evse_id"], session["driver_reference"]) == ("DE*STN*E3001", uid)

    ended = cpo_session(
        None,
        cpo_session_id,
        uid,
        "COMPLETED",
        auth_method="WHITELIST",
        kwh=12,
        end_date_time=stamp(datetime.now(UTC)),
    )
    assert (await stack.http.put(url, json=ended, headers=headers)).json()["status_code"] == 1000
    session = await stack.wait_for(ours, SessionStage.AWAITING_CDR, SessionStage.CDR_RECEIVED, SessionStage.SETTLED)
    cdr = cdr_for(session) | {
        "cdr_token": {"country_code": "CH", "party_id": "NWC", "uid": uid, "type": "RFID", "contract_id": CONTRACT_ID},
        "auth_method": "WHITELIST",
        "authorization_reference": None,
        "session_id": cpo_session_id,
    }
    posted = await stack.http.post("/ocpi/emsp/2.2.1/cdrs", json=cdr, headers=headers)
    assert posted.status_code == 201, posted.text
    assert (await stack.result(ours)).stage == SessionStage.SETTLED


async def test_a_token_the_cpo_must_ask_for_is_refused_without_an_authorisation(stack: Stack) -> None:
    uid = rfid_uid()
    await register(stack, uid, whitelist="NEVER")
    cpo_session_id = f"wl-{uuid.uuid4().hex[:12]}"
    body = cpo_session(None, cpo_session_id, uid, "ACTIVE", auth_method="WHITELIST")
    headers = {**cpo_headers(stack), "Content-Type": "application/json"}
    reply = await stack.http.put(f"/ocpi/emsp/2.2.1/sessions/DE/STN/{cpo_session_id}", json=body, headers=headers)
    assert reply.json()["status_code"] == 2001
    assert "unknown session" in reply.json()["status_message"]
    with stack.writes() as db:
        assert db.scalar(select(TokenAuthorisationRow).join(TokenRow).where(TokenRow.uid == uid)) is None


def fresh_contract_id() -> str:
    """An eMA-ID no other test uses, without its check character."""
    return f"DE8AC{uuid.uuid4().int % 10**9:09d}"


async def test_plug_and_charge_authorises_the_cars_contract_id_as_uid(stack: Stack) -> None:
    contract = fresh_contract_id()
    check = emaid_check_character(contract)
    card = rfid_uid()
    await register(stack, card, contract_id=f"{contract[:2]}-{contract[2:5]}-{contract[5:]}-{check}")
    for spelling in (contract + check, contract.lower(), f"{contract[:2]}-{contract[2:5]}-{contract[5:]}-{check}"):
        allowed = (await authorize(stack, spelling, token_type="OTHER")).json()["data"]
        assert allowed["allowed"] == "ALLOWED", spelling
        assert allowed["token"]["uid"] == card  # the CPO learns the token it charges
        with stack.writes() as db:
            assert holds.hold_for_session(db, allowed["authorization_reference"]) is not None
    rfid_reader = (await authorize(stack, contract + check, token_type="RFID")).json()["data"]
    assert rfid_reader["allowed"] == "ALLOWED"

    app_user = await authorize(stack, contract + check, token_type="APP_USER")
    assert app_user.status_code == 404  # only OTHER and RFID carry an eMA-ID
    wrong_check = "X" if check != "X" else "Y"
    assert (await authorize(stack, contract + wrong_check, token_type="OTHER")).status_code == 404
    assert (await authorize(stack, fresh_contract_id(), token_type="OTHER")).status_code == 404


async def test_plug_and_charge_refusals_are_the_tokens(stack: Stack) -> None:
    blocked_contract = fresh_contract_id()
    await register(stack, rfid_uid(), contract_id=blocked_contract, valid=False)
    blocked = (await authorize(stack, blocked_contract, token_type="OTHER")).json()["data"]
    assert (blocked["allowed"], "authorization_reference" in blocked) == ("BLOCKED", False)

    shared_contract = fresh_contract_id()
    await register(stack, rfid_uid(), contract_id=shared_contract, valid=False)
    spare_card = rfid_uid()
    await register(stack, spare_card, contract_id=shared_contract)
    car = (await authorize(stack, shared_contract, token_type="OTHER")).json()["data"]
    assert (car["allowed"], car["token"]["uid"]) == ("ALLOWED", spare_card)  # a blocked card does not stop the car

    needs_location = await authorize(stack, shared_contract, None, token_type="OTHER")
    assert needs_location.json()["status_code"] == 2002
