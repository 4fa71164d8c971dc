"""The OCPI receiver under the bad cases CPOs produce: unknown sessions, duplicates, messages out of order,
CDRs that do not fit, CDRs that never come. Nothing is ever dropped."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select

from adapters.cpo import ocpi_token_header
from api.routes.ocpi import CDR_BODY_LIMIT, TARIFF_BODY_LIMIT
from domain.sessions.lifecycle import SessionStage
from persistence.tables import CdrRow, OcpiInboxRow, OcpiSessionRow
from tests.e2e.conftest import BORNEO, STROMNETZ, Stack
from workflows import search_attributes as sa

pytestmark = pytest.mark.asyncio(loop_scope="session")

OCPI = "/ocpi/emsp/2.2.1"


def cpo_headers(stack: Stack, cpo_id: str = STROMNETZ.id) -> dict[str, str]:
    """As the demo CPO calls us: with the token C its registration gave it."""
    return {"Authorization": ocpi_token_header(stack.cpo_token(cpo_id)), "Content-Type": "application/json"}


def stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def cdr_for(session: dict[str, Any], *, currency: str = "EUR", cdr_id: str | None = None) -> dict[str, Any]:
    """The CDR a CPO sends when the session has just ended: its totals say 40 minutes, as the sessions of these
    tests are compressed in time; its timestamps are real and past (a CDR ending in the future is refused)."""
    start = datetime.fromisoformat(session["created_at"]) + timedelta(seconds=1)
    end = max(start, datetime.now(UTC))
    return {
        "country_code": "DE",
        "party_id": "STN",
        "id": cdr_id or str(uuid.uuid4()),
        "start_date_time": stamp(start),
        "end_date_time": stamp(end),
        "session_id": session["cpo_session_id"],
        "cdr_token": {"country_code": "CH", "party_id": "NWC", "uid": "d", "type": "APP_USER", "contract_id": "c"},
        "auth_method": "COMMAND",
        "authorization_reference": session["id"],
        "cdr_location": {
            "id": "BER-ALEX",
            "address": "Alexanderstraße 7",
            "city": "Berlin",
            "country": "DEU",
            "coordinates": {"latitude": "52.521918", "longitude": "13.413215"},
            "evse_uid": "BER-ALEX-1",
            "evse_id": "DE*STN*E3001",
            "connector_id": "1",
            "connector_standard": "IEC_62196_T2_COMBO",
            "connector_format": "CABLE",
            "connector_power_type": "DC",
        },
        "currency": currency,
        "charging_periods": [
            {
                "start_date_time": stamp(start),
                "dimensions": [{"type": "ENERGY", "volume": 20.5}, {"type": "TIME", "volume": 0.6667}],
            }
        ],
        "total_cost": {"excl_vat": 12.10, "incl_vat": 14.40},
        "total_energy": 20.5,
        "total_time": 0.6667,
        "last_updated": stamp(end),
    }


async def post_cdr(stack: Stack, cdr: dict[str, Any], cpo_id: str = STROMNETZ.id) -> Any:
    return await stack.http.post(f"{OCPI}/cdrs", content=json.dumps(cdr), headers=cpo_headers(stack, cpo_id))


async def test_a_cdr_that_never_comes_flags_the_session_and_one_that_comes_late_settles_it(stack: Stack) -> None:
    session_id = await stack.start("DE*STN*E3001", "sim-no-cdr-1")
    await stack.wait_for(session_id, SessionStage.AWAITING_CDR)
    handle = stack.handle(session_id)
    for _ in range(100):
        session = await stack.get(session_id)
        if session["needs_attention"]:
            break
        await asyncio.sleep(0.1)
    assert session["needs_attention"] is True
    assert session["stage"] == "AWAITING_CDR"
    assert "CDR overdue" in session["reason"]
    assert (await handle.describe()).typed_search_attributes.get(sa.NEEDS_ATTENTION) is True
    # Still waiting, never given up: the CDR that finally comes settles the session.
    cdr = cdr_for(session)
    reply = await post_cdr(stack, cdr)
    assert reply.status_code == 201, reply.text
    assert reply.json()["status_code"] == 1000
    assert reply.headers["Location"].startswith(f"{stack.api_url}{OCPI}/cdrs/")
    result = await handle.result()
    assert result.stage == SessionStage.SETTLED
    assert (await handle.describe()).typed_search_attributes.get(sa.NEEDS_ATTENTION) is False
    read_back = await stack.http.get(reply.headers["Location"].removeprefix(stack.api_url), headers=cpo_headers(stack))
    assert read_back.json()["data"]["id"] == result.cdr_id
    # As it was sent, digit for digit: its numbers are never read as floats and written again.
    assert read_back.text.startswith('{"data": ' + json.dumps(cdr) + ", "), read_back.text


async def test_a_cdr_for_an_unknown_session_is_stored_and_refused(stack: Stack) -> None:
    cdr = cdr_for({"created_at": stamp(datetime.now(UTC)), "cpo_session_id": "nope", "id": str(uuid.uuid4())})
    reply = await post_cdr(stack, cdr)
    assert reply.status_code == 200
    assert reply.json()["status_code"] == 2001
    assert "unknown session" in reply.json()["status_message"]
    with stack.writes() as db:
        kept = db.scalars(select(OcpiInboxRow).where(OcpiInboxRow.object_id == cdr["id"])).one()
        assert kept.outcome == "UNKNOWN_SESSION"
        assert json.loads(kept.body) == cdr


async def test_a_repeated_cdr_is_accepted_once_and_a_conflicting_one_refused(stack: Stack) -> None:
    session_id = await stack.start("DE*STN*E3001", "sim-no-cdr-2")
    session = await stack.wait_for(session_id, SessionStage.AWAITING_CDR)
    cdr = cdr_for(session)
    first, second = await post_cdr(stack, cdr), await post_cdr(stack, cdr)
    assert (first.status_code, first.json()["status_code"]) == (201, 1000)
    assert (second.status_code, second.json()["status_code"]) == (200, 1000)
    assert first.headers["Location"] == second.headers["Location"]
    changed = await post_cdr(stack, {**cdr, "total_energy": 99})
    assert changed.json()["status_code"] == 2001
    another = await post_cdr(stack, cdr_for(session))
    assert another.json()["status_code"] == 2001
    assert "already has CDR" in another.json()["status_message"]
    await stack.wait_for(session_id, SessionStage.SETTLED)
    with stack.writes() as db:
        assert len(db.scalars(select(CdrRow).where(CdrRow.our_session_id == session_id)).all()) == 1


async def test_a_cdr_that_does_not_fit_its_session_is_refused_with_reasons(stack: Stack) -> None:
    session_id = await stack.start("DE*STN*E3001", "sim-no-cdr-3")
    session = await stack.wait_for(session_id, SessionStage.AWAITING_CDR)
    reply = await post_cdr(stack, cdr_for(session, currency="CHF"))
    assert reply.json()["status_code"] == 2001
    assert "currency CHF is not the tariff currency EUR" in reply.json()["status_message"]
    assert (await stack.get(session_id))["stage"] == "AWAITING_CDR"
    # Another CPO cannot settle this session.
    foreign = cdr_for(session)
    foreign.update(country_code="FR", party_id="BRN")
    # (BER-ALEX is none of its Locations: 2003.)
    assert (await post_cdr(stack, foreign, BORNEO.id)).json()["status_code"] == 2003
    good = await post_cdr(stack, cdr_for(session))
    assert good.json()["status_code"] == 1000
    await stack.wait_for(session_id, SessionStage.SETTLED)


async def test_a_session_report_after_the_cdr_never_takes_the_cdrs_energy_back(stack: Stack) -> None:
    """A CPO's Session PATCH that we process after its CDR (sent again after a timeout, or overtaken) moves
    the CPO's status on, but the session keeps the CDR's energy and times: the figures it was billed on."""
    session_id = await stack.start("DE*STN*E3001", "sim-no-cdr-late-report")
    session = await stack.wait_for(session_id, SessionStage.AWAITING_CDR)
    cdr = cdr_for(session)
    assert (await post_cdr(stack, cdr)).status_code == 201
    settled = await stack.wait_for(session_id, SessionStage.SETTLED)
    assert Decimal(settled["kwh"]) == Decimal("20.5")
    late = {"kwh": 3.25, "status": "COMPLETED", "end_date_time": stamp(datetime.now(UTC) + timedelta(seconds=1))}
    late["last_updated"] = stamp(datetime.now(UTC) + timedelta(minutes=1))
    url = f"{OCPI}/sessions/DE/STN/{session['cpo_session_id']}"
    reply = await stack.http.patch(url, content=json.dumps(late), headers=cpo_headers(stack))
    assert reply.json()["status_code"] == 1000, reply.text
    after = await stack.get(session_id)
    assert Decimal(after["kwh"]) == Decimal("20.5")
    assert (after["started_at"], after["ended_at"]) == (settled["started_at"], settled["ended_at"])
    assert after["stage"] == "SETTLED"
    with stack.writes() as db:
        stored = db.scalars(select(OcpiSessionRow).where(OcpiSessionRow.our_session_id == session_id)).one()
        assert Decimal(str(stored.body["kwh"])) == Decimal("3.25")  # the CPO's Session as it reported it


async def test_session_messages_out_of_order_never_move_a_session_back(stack: Stack) -> None:
    session_id = await stack.start("DE*STN*E3002", "sim-until-stop-order")
    session = await stack.wait_for(session_id, SessionStage.CHARGING)
    url = f"{OCPI}/sessions/DE/STN/{session['cpo_session_id']}"
    with stack.writes() as db:
        stored = db.scalars(select(OcpiSessionRow).where(OcpiSessionRow.our_session_id == session_id)).one()
        current = stored.body
    stale = {**current, "status": "PENDING", "kwh": 0, "last_updated": "2020-01-01T00:00:00Z"}
    reply = await stack.http.put(url, content=json.dumps(stale), headers=cpo_headers(stack))
    assert reply.json()["status_code"] == 1000
    assert reply.json()["status_message"].startswith("older than what we hold")
    regress = {**current, "status": "PENDING", "last_updated": stamp(datetime.now(UTC) + timedelta(hours=1))}
    assert (await stack.http.put(url, content=json.dumps(regress), headers=cpo_headers(stack))).json()[
        "status_code"
    ] == 1000
    with stack.writes() as db:
        stored = db.scalars(select(OcpiSessionRow).where(OcpiSessionRow.our_session_id == session_id)).one()
        assert stored.status == "ACTIVE"
    assert (await stack.get(session_id))["stage"] == "CHARGING"
    missing_timestamp = await stack.http.patch(url, content=json.dumps({"kwh": 3}), headers=cpo_headers(stack))
    assert missing_timestamp.json()["status_code"] == 2001
    assert "last_updated" in missing_timestamp.json()["status_message"]
    await stack.http.post(f"/v1/sessions/{session_id}/stop", headers=stack.headers())
    await stack.wait_for(session_id, SessionStage.SETTLED)


async def test_a_patch_for_a_session_never_put_is_stored_and_refused(stack: Stack) -> None:
    body = {"kwh": 1.5, "last_updated": stamp(datetime.now(UTC))}
    reply = await stack.http.patch(
        f"{OCPI}/sessions/DE/STN/never-put", content=json.dumps(body), headers=cpo_headers(stack)
    )
    assert reply.json()["status_code"] == 2001
    with stack.writes() as db:
        kept = db.scalars(select(OcpiInboxRow).where(OcpiInboxRow.object_id == "never-put")).one()
        assert kept.outcome == "UNKNOWN_SESSION"


async def test_a_push_under_another_partys_ids_is_404_stored_and_changes_nothing(stack: Stack) -> None:
    """Borneo (FR*BRN) pushing under Stromnetz's party (ocpi-connect.md §3.5): 404 with 2000 for a Session
    PUT and PATCH, a Tariff PUT and DELETE, as for a Location; each stored with its refusal."""
    object_id = f"foreign-{uuid.uuid4().hex[:8]}"
    borneo = cpo_headers(stack, BORNEO.id)
    tariff = {**extra_tariff("2026-01-01T00:00:00Z"), "id": object_id}
    session = {"country_code": "DE", "party_id": "STN", "id": object_id, "last_updated": stamp(datetime.now(UTC))}
    pushes = [
        ("PUT", f"{OCPI}/sessions/DE/STN/{object_id}", session, "SESSION_PUT"),
        ("PATCH", f"{OCPI}/sessions/de/stn/{object_id}", {"kwh": 1}, "SESSION_PATCH"),
        ("PUT", f"{OCPI}/tariffs/DE/STN/{object_id}", tariff, "TARIFF_PUT"),
        ("DELETE", f"{OCPI}/tariffs/DE/STN/{object_id}", None, "TARIFF_DELETE"),
    ]
    for method, url, body, kind in pushes:
        content = None if body is None else json.dumps(body)
        reply = await stack.http.request(method, url, content=content, headers=borneo)
        assert (reply.status_code, reply.json()["status_code"]) == (404, 2000), (method, url, reply.text)
        assert reply.json()["status_message"].upper() == "YOU ARE FR*BRN, NOT DE*STN"
        kept = inbox_row(stack, kind, object_id)
        assert (kept.cpo_id, kept.outcome, kept.status_code) == (BORNEO.id, "REJECTED", 2000)
    with stack.writes() as db:
        assert db.scalar(select(func.count()).where(OcpiSessionRow.session_id == object_id)) == 0
    assert (await stack.http.get(f"{OCPI}/tariffs/DE/STN/{object_id}", headers=cpo_headers(stack))).status_code == 404


async def test_ocpi_transport_errors(stack: Stack) -> None:
    no_token = await stack.http.post(f"{OCPI}/cdrs", content="{}")
    assert no_token.status_code == 401
    wrong = await stack.http.post(
        f"{OCPI}/cdrs", content="{}", headers={"Authorization": ocpi_token_header("not-a-token")}
    )
    assert wrong.status_code == 401
    garbled = await stack.http.post(f"{OCPI}/cdrs", content="{not json", headers=cpo_headers(stack))
    assert garbled.status_code == 400
    assert garbled.json()["status_code"] == 2000
    incomplete = await stack.http.post(f"{OCPI}/cdrs", content="{}", headers=cpo_headers(stack))
    assert (incomplete.status_code, incomplete.json()["status_code"]) == (200, 2001)
    raw_token = await stack.http.post(
        f"{OCPI}/cdrs", content="{}", headers={"Authorization": f"Token {stack.cpo_token(STROMNETZ.id)}"}
    )
    assert raw_token.json()["status_code"] == 2001  # an unencoded token from an older peer is accepted


async def test_demand_partner_api_errors_are_4xx_with_a_message(stack: Stack) -> None:
    assert (await stack.http.post("/v1/sessions", json={"evse_id": "x", "driver_reference": "d"})).status_code == 401
    bad_key = await stack.http.get("/v1/sessions", headers=stack.headers("nc_wrong"))
    assert bad_key.status_code == 401
    for body in (
        {},
        {"evse_id": "x"},
        {"evse_id": "x", "driver_reference": "d" * 37},
        {"evse_id": "", "driver_reference": "d"},
        {"evse_id": "x", "driver_reference": "d", "extra": 1},
    ):
        reply = await stack.http.post("/v1/sessions", json=body, headers=stack.headers())
        assert reply.status_code == 422, body
        assert reply.json()["detail"]
    garbled = await stack.http.post(
        "/v1/sessions", content="{oops", headers={**stack.headers(), "Content-Type": "application/json"}
    )
    assert garbled.status_code == 422
    assert (await stack.http.get(f"/v1/sessions/{uuid.uuid4()}", headers=stack.headers())).status_code == 404
    assert (await stack.http.get("/v1/sessions?limit=0", headers=stack.headers())).status_code == 422


async def test_a_cdr_for_a_session_that_already_failed_is_kept_and_flagged_for_ops(stack: Stack) -> None:
    session_id = await stack.start("DE*STN*E3001", "sim-no-show-late-cdr")
    assert (await stack.result(session_id)).stage == SessionStage.START_FAILED
    # The charge point did charge after all: the CDR is money, so it is kept and put in front of ops.
    reply = await post_cdr(stack, cdr_for(await stack.get(session_id)))
    assert (reply.status_code, reply.json()["status_code"]) == (201, 1000)
    session = await stack.get(session_id)
    assert session["stage"] == "START_FAILED"
    assert session["needs_attention"] is True
    assert "CDR arrived after the session closed as START_FAILED" in session["reason"]
    with stack.writes() as db:
        assert len(db.scalars(select(CdrRow).where(CdrRow.our_session_id == session_id)).all()) == 1


def extra_tariff(last_updated: str, energy_price: object = 0.45) -> dict[str, Any]:
    return {
        "country_code": "DE",
        "party_id": "STN",
        "id": "STN-TEST-TARIFF",
        "currency": "EUR",
        "elements": [{"price_components": [{"type": "ENERGY", "price": energy_price, "vat": 19.0, "step_size": 1}]}],
        "last_updated": last_updated,
    }


def in_force_now(stack: Stack) -> Any:
    from domain.sessions.authorisation import in_force
    from persistence import repositories as repo

    with stack.writes() as db:
        return in_force(repo.tariff_versions(db, "cpo-de-stn", "STN-TEST-TARIFF"), datetime.now(UTC))


async def test_tariffs_are_versioned_validated_and_deleted(stack: Stack) -> None:
    url = f"{OCPI}/tariffs/DE/STN/STN-TEST-TARIFF"
    first = await stack.http.put(
        url, content=json.dumps(extra_tariff("2026-01-01T00:00:00Z")), headers=cpo_headers(stack)
    )
    assert (first.status_code, first.json()["status_code"]) == (201, 1000)
    version = in_force_now(stack)
    assert version is not None
    # A bad tariff names the field and changes nothing.
    bad = extra_tariff("2026-02-01T00:00:00Z")
    bad["elements"][0]["restrictions"] = {"dayOfWeek": ["MONDAY"]}
    refused = await stack.http.put(url, content=json.dumps(bad), headers=cpo_headers(stack))
    assert refused.json()["status_code"] == 2001
    assert "tariff.elements[0].restrictions.dayOfWeek" in refused.json()["status_message"]
    negative = await stack.http.put(
        url, content=json.dumps(extra_tariff("2026-02-01T00:00:00Z", -1)), headers=cpo_headers(stack)
    )
    assert "price" in negative.json()["status_message"]
    assert in_force_now(stack) == version
    # A newer version supersedes; the same version again is idempotent.
    newer = extra_tariff("2026-03-01T00:00:00Z", 0.49)
    assert (await stack.http.put(url, content=json.dumps(newer), headers=cpo_headers(stack))).status_code == 201
    again = await stack.http.put(url, content=json.dumps(newer), headers=cpo_headers(stack))
    assert (again.status_code, again.json()["status_code"]) == (200, 1000)
    assert in_force_now(stack).key != version.key
    # DELETE: nothing is in force any more.
    deleted = await stack.http.delete(url, headers=cpo_headers(stack))
    assert deleted.json()["status_code"] == 1000
    assert in_force_now(stack) is None


def inbox_row(stack: Stack, kind: str, object_id: str) -> OcpiInboxRow:
    """The last message of ``kind`` stored for ``object_id``."""
    with stack.writes() as db:
        rows = db.scalars(
            select(OcpiInboxRow).where(OcpiInboxRow.kind == kind, OcpiInboxRow.object_id == object_id)
        ).all()
        return max(rows, key=lambda row: row.key)


async def test_bodies_that_are_not_json_we_read_are_stored_as_received_and_answered_400(stack: Stack) -> None:
    tariff = json.dumps(extra_tariff("2026-01-01T00:00:00Z") | {"id": "T", "name": "Zürich Süd"}, ensure_ascii=False)
    bodies = {
        "utf16": (tariff.encode("utf-16"), "not UTF-8"),  # with its byte order mark
        "latin1": (tariff.encode("latin-1"), "not UTF-8"),
        "bom": (b"\xef\xbb\xbf" + tariff.encode(), "byte order mark"),
        "garbage": (bytes(range(256)), "not UTF-8"),
        "nul": (b'{"name": "\x00"}', "not valid JSON"),
        "not-json": (b"{not json", "not valid JSON"),
        "nan": (b'{"price": NaN}', "NaN is not a JSON value"),
        "deep": (b"[" * 100_000 + b"]" * 100_000, "nests deeper than 32 levels"),
        "deep-object": (b'{"a":' * 40 + b"1" + b"}" * 40, "nests deeper than 32 levels"),
    }
    for name, (body, problem) in bodies.items():
        tariff_id = f"T-{name}-{uuid.uuid4().hex[:8]}"
        reply = await stack.http.put(f"{OCPI}/tariffs/DE/STN/{tariff_id}", content=body, headers=cpo_headers(stack))
        assert (reply.status_code, reply.json()["status_code"]) == (400, 2000), (name, reply.text)
        assert problem in reply.json()["status_message"], name
        kept = inbox_row(stack, "TARIFF_PUT", tariff_id)
        assert (kept.outcome, kept.status_code, kept.message) == ("UNREADABLE", 2000, reply.json()["status_message"])
        assert kept.raw_body == body, name
    deep_cdr = b'{"id": ' + b"[" * 50 + b"]" * 50 + b"}"
    reply = await stack.http.post(f"{OCPI}/cdrs", content=deep_cdr, headers=cpo_headers(stack))
    assert (reply.status_code, reply.json()["status_code"]) == (400, 2000)
    assert reply.json()["status_message"] == "the body nests deeper than 32 levels"
    with stack.writes() as db:
        assert db.scalars(select(OcpiInboxRow.outcome).where(OcpiInboxRow.raw_body == deep_cdr)).one() == "UNREADABLE"


async def test_a_body_over_the_route_limit_is_refused_413_and_the_cpo_is_authenticated_first(stack: Stack) -> None:
    def padded(size: int) -> bytes:
        body = b'{"pad": "' + b"x" * size + b'"}'
        return body[: size - 2] + b'"}' if len(body) > size else body

    at_the_limit = padded(TARIFF_BODY_LIMIT)
    assert len(at_the_limit) == TARIFF_BODY_LIMIT
    reply = await stack.http.put(f"{OCPI}/tariffs/DE/STN/T-at-limit", content=at_the_limit, headers=cpo_headers(stack))
    assert reply.json()["status_code"] == 2001  # read and parsed: it is no tariff
    assert inbox_row(stack, "TARIFF_PUT", "T-at-limit").raw_body == at_the_limit

    over = at_the_limit + b" "
    anonymous = await stack.http.put(f"{OCPI}/tariffs/DE/STN/T-over", content=over)
    assert anonymous.status_code == 401  # who is asking comes before what is sent
    declared = await stack.http.put(f"{OCPI}/tariffs/DE/STN/T-over", content=over, headers=cpo_headers(stack))
    assert (declared.status_code, declared.json()["status_code"]) == (413, 2000)
    assert (
        declared.json()["status_message"] == f"the body is over the limit of {TARIFF_BODY_LIMIT} bytes for this route"
    )
    kept = inbox_row(stack, "TARIFF_PUT", "T-over")
    assert (kept.outcome, kept.status_code, kept.raw_body) == ("TOO_LARGE", 2000, b"")  # refused unread

    async def chunked() -> AsyncIterator[bytes]:
        for _ in range(64):  # 4 MiB, without a Content-Length
            yield b" " * 65_536

    with stack.writes() as db:
        before = db.scalar(select(func.max(OcpiInboxRow.key))) or 0  # other tests' messages share the inbox
    cut = await stack.http.post(f"{OCPI}/cdrs", content=chunked(), headers=cpo_headers(stack))
    assert (cut.status_code, cut.json()["status_code"]) == (413, 2000)
    with stack.writes() as db:
        rows = db.scalars(
            select(OcpiInboxRow).where(
                OcpiInboxRow.outcome == "TOO_LARGE", OcpiInboxRow.kind == "CDR", OcpiInboxRow.key > before
            )
        )
        assert [row.raw_body for row in rows] == [b" " * CDR_BODY_LIMIT]  # as far as it was read


async def test_dates_that_overflow_are_refused_naming_the_field(stack: Stack) -> None:
    overflowing = "9999-12-31T23:59:59-05:00"
    cdr = cdr_for({"created_at": stamp(datetime.now(UTC)), "cpo_session_id": "x", "id": str(uuid.uuid4())})
    reply = await post_cdr(stack, cdr | {"end_date_time": overflowing})
    assert (reply.status_code, reply.json()["status_code"]) == (200, 2001)
    assert reply.json()["status_message"] == "end_date_time: Value error, is out of range"
    assert inbox_row(stack, "CDR", "?").message == reply.json()["status_message"]
    patch = await stack.http.patch(
        f"{OCPI}/sessions/DE/STN/overflow",
        content=json.dumps({"last_updated": overflowing}),
        headers=cpo_headers(stack),
    )
    assert (patch.status_code, patch.json()["status_code"]) == (200, 2001)
    assert "last_updated: Value error, is out of range" in patch.json()["status_message"]
    tariff = await stack.http.put(
        f"{OCPI}/tariffs/DE/STN/STN-TEST-TARIFF",
        content=json.dumps(extra_tariff(overflowing)),
        headers=cpo_headers(stack),
    )
    assert (tariff.status_code, tariff.json()["status_code"]) == (200, 2001)
    assert tariff.json()["status_message"] == "tariff.last_updated: is out of range"
    assert inbox_row(stack, "TARIFF_PUT", "STN-TEST-TARIFF").status_code == 2001


async def test_a_cdr_with_absurd_figures_is_refused_naming_the_field_and_not_stored(stack: Stack) -> None:
    session_id = await stack.start("DE*STN*E3001", "sim-no-cdr-absurd")
    session = await stack.wait_for(session_id, SessionStage.AWAITING_CDR)
    good = cdr_for(session)
    next_hour = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)
    absurd: dict[str, dict[str, Any]] = {
        f"end_date_time: {next_hour.isoformat()} is in the future": {"end_date_time": stamp(next_hour)},
        "total_cost.excl_vat: Value error, must be below 1000000000000000 in magnitude": {
            "total_cost": {"excl_vat": "1e999999"}
        },
        "total_cost.excl_vat: Input should be a finite number": {"total_cost": {"excl_vat": "NaN"}},
        "total_cost.incl_vat: Value error, has more than 20 decimals": {
            "total_cost": {"excl_vat": 1, "incl_vat": "1e-99"}
        },
        "total_cost.excl_vat: -12.1 must be positive on a non-credit CDR": {"total_cost": {"excl_vat": -12.10}},
        "total_energy_cost.incl_vat: 100000.01 is beyond 100000": {
            "total_energy_cost": {"excl_vat": 1, "incl_vat": "100000.01"}
        },
        "total_energy: 10000.5 kWh is not between 0 and 10000": {"total_energy": 10000.5},
        "total_time: -1 h is not between 0 and 744": {"total_time": -1},
        "charging_periods[0].dimensions[0].volume: 20000 is beyond 10000": {
            "charging_periods": [
                {"start_date_time": good["start_date_time"], "dimensions": [{"type": "ENERGY", "volume": 20000}]}
            ]
        },
    }
    for problem, change in absurd.items():
        reply = await post_cdr(stack, good | change | {"id": str(uuid.uuid4())})
        assert (reply.status_code, reply.json()["status_code"]) == (200, 2001), problem
        assert problem in reply.json()["status_message"], reply.json()["status_message"]
    with stack.writes() as db:
        assert db.scalars(select(CdrRow).where(CdrRow.our_session_id == session_id)).all() == []
    assert (await post_cdr(stack, good)).json()["status_code"] == 1000
    await stack.wait_for(session_id, SessionStage.SETTLED)


async def test_an_identical_cdr_replay_after_settlement_is_already_received_and_changes_nothing(stack: Stack) -> None:
    session_id = await stack.start("DE*STN*E3001", "sim-no-cdr-replay")
    cdr = cdr_for(await stack.wait_for(session_id, SessionStage.AWAITING_CDR))
    assert (await post_cdr(stack, cdr)).status_code == 201
    assert (await stack.result(session_id)).stage == SessionStage.SETTLED
    settled = await stack.get(session_id)

    replay = await post_cdr(stack, cdr)

    assert (replay.status_code, replay.json()["status_code"]) == (200, 1000)
    assert replay.json()["status_message"] == "Success (already received)"
    assert await stack.get(session_id) == settled
    assert settled["needs_attention"] is False
    assert inbox_row(stack, "CDR", cdr["id"]).outcome == "DUPLICATE"


@pytest.mark.parametrize("key", [0, 2**63, -(2**63) - 1, 10**30])
async def test_a_cdr_key_beyond_our_keys_is_not_found(stack: Stack, key: int) -> None:
    """Keys are BIGINT: one outside their range is no CDR of ours (it made the database fail: 500)."""
    reply = await stack.http.get(f"{OCPI}/cdrs/{key}", headers=cpo_headers(stack))
    assert (reply.status_code, reply.json()["status_code"]) == (404, 2000)
