"""The partner API answers every bad request clearly (a 4xx naming the field, never a 500), refuses keys
that are inactive, expired or revoked at once, and operators onboard partners and manage their keys
through ``/v1/partners``: through the real API, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import base64
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.operators import add_operator
from services.partners import issue_api_key
from tests.e2e.conftest import DORMANT, ROAMLY, Stack

pytestmark = pytest.mark.asyncio(loop_scope="session")


def _field_named(reply: Any, field: str) -> bool:
    """A 422 whose detail names ``field``: FastAPI's list of errors or our own sentence."""
    detail = reply.json()["detail"]
    if isinstance(detail, str):
        return detail.startswith(f"{field}:")
    return any(field in error["loc"] for error in detail)


async def test_an_empty_idempotency_key_is_refused_every_time(stack: Stack) -> None:
    body = {"evse_id": "DE*STN*E3001", "driver_reference": "driver-empty-key"}
    for _ in range(2):
        reply = await stack.http.post("/v1/sessions", json=body, headers=stack.headers(**{"Idempotency-Key": ""}))
        assert reply.status_code == 422, reply.text
        assert _field_named(reply, "idempotency-key")


@pytest.mark.parametrize(
    ("max_amount", "why"),
    [
        ("1e30", "an exponent"),
        ("1e3", "an exponent, even a small one"),
        ("-5.00", "negative"),
        ("0", "zero"),
        ("NaN", "not a number"),
        ("19.995", "finer than the cent of the partner's EUR"),
        ("99999999999.00", "beyond 10 digits"),
    ],
)
async def test_a_max_amount_that_is_no_amount_is_refused_naming_the_field(
    stack: Stack, max_amount: str, why: str
) -> None:
    body = {"evse_id": "DE*STN*E3001", "driver_reference": "driver-bad-cap", "max_amount": max_amount}
    reply = await stack.http.post("/v1/sessions", json=body, headers=stack.headers())
    assert reply.status_code == 422, (why, reply.text)
    assert _field_named(reply, "max_amount"), reply.text


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("created_from=2026-03-01T00:00:00", "created_from"),  # no zone
        ("created_to=2026-03-01", "created_to"),  # a date, no time or zone
        ("created_from=9999-12-31T23:59:59-01:00", "created_from"),  # past year 9999 in UTC
        ("created_to=0001-01-01T00:00:00%2B01:00", "created_to"),  # before year 1 in UTC
        ("evse_id=" + "E" * 49, "evse_id"),
        ("limit=0", "limit"),
    ],
)
async def test_list_filters_out_of_range_are_refused_naming_the_field(stack: Stack, query: str, field: str) -> None:
    reply = await stack.http.get(f"/v1/sessions?{query}", headers=stack.headers())
    assert reply.status_code == 422, reply.text
    assert _field_named(reply, field), reply.text


async def test_a_forged_cursor_is_a_400(stack: Stack) -> None:
    for forged in ("2026-03-01T00:00:00|x", "9999-12-31T23:59:59-01:00|x", "\xff|x"):
        cursor = base64.urlsafe_b64encode(forged.encode("utf-8", "surrogateescape")).decode()
        reply = await stack.http.get(f"/v1/sessions?cursor={cursor}", headers=stack.headers())
        assert reply.status_code == 400, (forged, reply.text)
        assert reply.json()["detail"] == "cursor is not one we issued"
    zoned = base64.urlsafe_b64encode(b"2026-03-01T00:00:00+00:00|x").decode()
    assert (await stack.http.get(f"/v1/sessions?cursor={zoned}", headers=stack.headers())).status_code == 200


async def test_an_inactive_partners_key_is_refused(stack: Stack) -> None:
    for path in ("/v1/sessions", "/v1/balance", "/v1/invoices", "/v1/payouts"):
        reply = await stack.http.get(path, headers=stack.headers(DORMANT.api_key))
        assert reply.status_code == 401, (path, reply.text)
        assert reply.headers["WWW-Authenticate"] == "Bearer"
    body = {"evse_id": "DE*STN*E3001", "driver_reference": "driver-dormant"}
    assert (await stack.http.post("/v1/sessions", json=body, headers=stack.headers(DORMANT.api_key))).status_code == 401


def _operator(stack: Stack) -> dict[str, str]:
    with stack.writes.begin() as db:
        key = add_operator(db, f"ops-{uuid.uuid4().hex[:6]}", now=datetime.now(UTC))
    return {"Authorization": f"Bearer {key}"}


def _new_partner(suffix: str, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": f"dp-new-{suffix}",
        "legal_entity": "Nieuw Laden B.V.",
        "address": {"street": "Damrak 1", "postcode": "1012 LG", "city": "Amsterdam"},
        "country": "NL",
        "vat_id": "NL812345678B01",
        "billing_currency": "EUR",
        "iban": "NL91ABNA0417164300",
        "terms": {"share_percent": "12.5", "credit_limit": "1000.00", "session_cap": "50.00", "cadence": "MONTHLY"},
    }
    return body | changes


async def test_operators_onboard_a_partner_and_rotate_and_revoke_its_keys(stack: Stack) -> None:
    operator = _operator(stack)
    suffix = uuid.uuid4().hex[:8]
    body = _new_partner(suffix)
    created = await stack.http.post("/v1/partners", json=body, headers=operator)
    assert created.status_code == 201, created.text
    assert created.json() == {
        "id": f"dp-new-{suffix}",
        "legal_entity": "Nieuw Laden B.V.",
        "country": "NL",
        "vat_id": "NL812345678B01",
        "billing_currency": "EUR",
        "active": True,
    }
    again = await stack.http.post("/v1/partners", json=body, headers=operator)
    assert again.status_code == 409
    partner = f"/v1/partners/dp-new-{suffix}"

    first = (await stack.http.post(f"{partner}/keys", json={"valid_days": 30}, headers=operator)).json()
    assert datetime.fromisoformat(first["expires_at"]) - datetime.now(UTC) > timedelta(days=29)
    balance = await stack.http.get("/v1/balance", headers=stack.headers(first["key"]))
    assert balance.status_code == 200, balance.text
    assert balance.json()["billing_currency"] == "EUR"
    # Rotation: a second key works beside the first; a third is refused until one is revoked.
    second = await stack.http.post(f"{partner}/keys", json={}, headers=operator)
    assert second.status_code == 201
    second_key = second.json()["key"]
    third = await stack.http.post(f"{partner}/keys", json={}, headers=operator)
    assert third.status_code == 409
    assert "revoke one first" in third.json()["detail"]
    listed = (await stack.http.get(f"{partner}/keys", headers=operator)).json()
    assert [k["id"] for k in listed] == [first["id"], second.json()["id"]]
    assert all(k["revoked_at"] is None for k in listed)

    revoked = await stack.http.delete(f"{partner}/keys/{first['id']}", headers=operator)
    assert revoked.status_code == 204
    # At once, though the first key was just cached.
    assert (await stack.http.get("/v1/balance", headers=stack.headers(first["key"]))).status_code == 401
    assert (await stack.http.get("/v1/balance", headers=stack.headers(second_key))).status_code == 200
    assert (await stack.http.delete(f"{partner}/keys/{first['id'] + 10_000}", headers=operator)).status_code == 404
    # Another partner's key cannot be revoked through this partner.
    assert (await stack.http.delete(f"/v1/partners/dp-roamly/keys/{first['id']}", headers=operator)).status_code == 404

    deactivated = await stack.http.post(f"{partner}/deactivate", headers=operator)
    assert deactivated.status_code == 204
    assert (await stack.http.get("/v1/balance", headers=stack.headers(second_key))).status_code == 401
    refused = await stack.http.post(f"{partner}/keys", json={}, headers=operator)
    assert refused.status_code == 409
    assert "not active" in refused.json()["detail"]


async def test_an_expired_key_is_refused_at_once(stack: Stack) -> None:
    with stack.writes.begin() as db:
        issued = issue_api_key(db, ROAMLY.id, now=datetime.now(UTC), valid_for=timedelta(seconds=1))
    try:
        assert (await stack.http.get("/v1/balance", headers=stack.headers(issued.key))).status_code == 200
        await asyncio.sleep(1.1)
        # Cached a moment ago, yet refused: the cache checks the key's expiry on every hit.
        reply = await stack.http.get("/v1/balance", headers=stack.headers(issued.key))
        assert reply.status_code == 401
        assert reply.json()["detail"] == "unknown, expired or revoked API key"
    finally:
        operator = _operator(stack)
        await stack.http.delete(f"/v1/partners/{ROAMLY.id}/keys/{issued.id}", headers=operator)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"vat_id": "NL812345679B01"}, "vat_id"),  # a wrong check digit
        ({"vat_id": "DE281045677"}, "vat_id"),  # another country's
        ({"country": "XX"}, "country"),
        ({"billing_currency": "EUX"}, "billing_currency"),
        ({"iban": "NL00ABNA0417164300"}, "iban"),
        ({"id": "DP Roamly"}, "id"),
        ({"address": {"street": "Damrak 1", "postcode": " ", "city": "Amsterdam"}}, "postcode"),
        ({"address": {"street": "Damrak 1", "city": "Amsterdam"}}, "postcode"),
        ({"terms": {"share_percent": "150", "credit_limit": "1000.00", "session_cap": "50.00"}}, "share_percent"),
        ({"terms": {"share_percent": "10", "credit_limit": "1000.001", "session_cap": "50.00"}}, "credit_limit"),
        ({"terms": {"share_percent": "10", "credit_limit": "1e30", "session_cap": "50.00"}}, "credit_limit"),
        ({"terms": {"share_percent": "10", "credit_limit": "100.00", "session_cap": "500.00"}}, "session_cap"),
        ({"terms": {"share_percent": "10", "credit_limit": "100.00", "session_cap": "0"}}, "session_cap"),
        ({"terms": {"share_percent": "10", "credit_limit": "100", "session_cap": "5", "cadence": "DAILY"}}, "cadence"),
    ],
)
async def test_a_partner_with_a_bad_field_is_refused_naming_it(
    stack: Stack, changes: dict[str, Any], field: str
) -> None:
    suffix = uuid.uuid4().hex[:8]
    reply = await stack.http.post("/v1/partners", json=_new_partner(suffix, **changes), headers=_operator(stack))
    assert reply.status_code == 422, reply.text
    assert _field_named(reply, field), reply.text
    assert (await stack.http.get(f"/v1/partners/dp-new-{suffix}/keys", headers=_operator(stack))).status_code == 404


async def test_the_partners_api_is_for_operators_only(stack: Stack) -> None:
    body = _new_partner(uuid.uuid4().hex[:8])
    assert (await stack.http.post("/v1/partners", json=body)).status_code == 401
    assert (await stack.http.post("/v1/partners", json=body, headers=stack.headers())).status_code == 403
    assert (await stack.http.post("/v1/partners/dp-roamly/keys", json={}, headers=stack.headers())).status_code == 403
