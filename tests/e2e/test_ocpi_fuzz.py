"""Generated malformed OCPI messages against the running API: whatever a CPO sends (bytes that are not
UTF-8, not JSON, nested too deep, valid messages with fields broken, removed or absurd), the answer is
never a server error, every message is stored in ``ocpi_inbox`` with the answer it got, and the books
still balance."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from persistence.tables import OcpiInboxRow
from services.ledger import check_books
from tests.e2e.conftest import Stack
from tests.e2e.test_ocpi_intake import OCPI, cdr_for, cpo_headers, extra_tariff

pytestmark = pytest.mark.asyncio(loop_scope="session")

EXAMPLES = 300  # bounded: the suite stays fast; each example is one request and its stored row

SESSION = {
    "country_code": "DE",
    "party_id": "STN",
    "id": "FUZZ-S",
    "start_date_time": "2026-06-01T10:00:00Z",
    "kwh": 1.5,
    "cdr_token": {"country_code": "CH", "party_id": "NWC", "uid": "d", "type": "APP_USER", "contract_id": "c"},
    "auth_method": "COMMAND",
    "authorization_reference": "FUZZ-NOT-OURS",
    "location_id": "BER-ALEX",
    "evse_uid": "BER-ALEX-1",
    "connector_id": "1",
    "currency": "EUR",
    "status": "ACTIVE",
    "last_updated": "2026-06-01T10:05:00Z",
}
# (method, path, kind in the inbox, a valid message to break)
ROUTES: list[tuple[str, str, str, dict[str, Any]]] = [
    ("PUT", "/sessions/DE/STN/FUZZ-S", "SESSION_PUT", SESSION),
    ("PATCH", "/sessions/DE/STN/FUZZ-S", "SESSION_PATCH", {"kwh": 2, "last_updated": "2026-06-01T10:06:00Z"}),
    (
        "POST",
        "/cdrs",
        "CDR",
        cdr_for({"created_at": "2026-06-01T10:00:00+00:00", "cpo_session_id": "FUZZ-S", "id": "FUZZ-NOT-OURS"}),
    ),
    ("PUT", "/tariffs/DE/STN/FUZZ-T", "TARIFF_PUT", extra_tariff("2026-06-01T00:00:00Z") | {"id": "FUZZ-T"}),
    ("POST", "/commands/START_SESSION/FUZZ-NOT-OURS", "COMMAND_RESULT", {"result": "FAILED"}),
]

ODD_VALUES = st.sampled_from(
    ["1e999999", "-1e999999", "1e-999999", "NaN", "-Infinity", "sNaN", "-0", "9999-12-31T23:59:59-05:00",
     "0001-01-01T00:00:00+14:00", "2026-02-30T00:00:00Z", "", "\u0000", "\ud7ff" * 50, 2**64, -(2**63) - 1]
)  # fmt: skip
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
    | ODD_VALUES,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)


@st.composite
def broken(draw: st.DrawFn, message: dict[str, Any]) -> bytes:
    """``message`` with some fields replaced by odd values or removed, as UTF-8 JSON."""
    document = dict(message)
    for field in draw(st.lists(st.sampled_from(sorted(message)), max_size=3)):
        if draw(st.booleans()):
            document[field] = draw(JSON_VALUES)
        else:
            document.pop(field, None)
    return json.dumps(document).encode()


def bodies(message: dict[str, Any]) -> st.SearchStrategy[bytes]:
    return st.one_of(
        broken(message),
        st.binary(max_size=300),
        JSON_VALUES.map(lambda value: json.dumps(value).encode()),
        st.integers(1, 3000).map(lambda depth: b"[" * depth + b"]" * depth),
        st.sampled_from(["utf-16", "utf-32", "latin-1", "utf-8-sig"]).map(
            lambda encoding: json.dumps(message, ensure_ascii=False).replace("Berlin", "Zürich").encode(encoding)
        ),
    )


ROUTE_AND_BODY = st.sampled_from(ROUTES).flatmap(lambda route: st.tuples(st.just(route), bodies(route[3])))


async def test_malformed_ocpi_messages_are_answered_stored_and_change_no_books(stack: Stack) -> None:
    def stored(kind: str, body: bytes) -> list[tuple[int, str | None]]:
        with stack.writes() as db:
            rows = db.execute(
                select(OcpiInboxRow.status_code, OcpiInboxRow.message)
                .where(OcpiInboxRow.kind == kind, OcpiInboxRow.raw_body == body)
                .order_by(OcpiInboxRow.key)  # PostgreSQL returns rows in no set order without one
            )
            return [(row.status_code, row.message) for row in rows]

    def fuzz() -> int:
        sent = 0
        with httpx.Client(base_url=stack.api_url, timeout=30) as http:

            @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
            @given(ROUTE_AND_BODY)
            def send(route_and_body: tuple[tuple[str, str, str, dict[str, Any]], bytes]) -> None:
                nonlocal sent
                (method, path, kind, _), body = route_and_body
                earlier = stored(kind, body)
                reply = http.request(method, f"{OCPI}{path}", content=body, headers=cpo_headers(stack))
                sent += 1
                assert reply.status_code < 500, reply.text
                answer = reply.json()
                assert 1000 <= answer["status_code"] < 3000, answer
                assert stored(kind, body) == [*earlier, (answer["status_code"], answer["status_message"])]

            send()
        return sent

    assert await asyncio.to_thread(fuzz) == EXAMPLES
    report = check_books(stack.writes)
    assert report.ok, report.problems
