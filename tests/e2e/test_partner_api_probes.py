"""Odd input at the partner and partners-admin routes, as a careless or hostile client sends it: every
answer is a 4xx, never a 500."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from services.operators import add_operator
from tests.e2e.conftest import Stack

pytestmark = pytest.mark.asyncio(loop_scope="session")

START = {"evse_id": "DE*STN*E3001", "driver_reference": "driver-probe"}
PARTNER: dict[str, Any] = {
    "id": "dp-probe",
    "legal_entity": "Probe B.V.",
    "address": {"street": "Damrak 1", "postcode": "1012 LG", "city": "Amsterdam"},
    "country": "NL",
    "vat_id": "NL812345678B01",
    "billing_currency": "EUR",
    "terms": {"share_percent": "10", "credit_limit": "100.00", "session_cap": "50.00"},
}


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode()


PARTNER_PROBES: list[tuple[str, str, Any]] = [
    ("POST", "/v1/sessions", START | {"max_amount": 1e308}),
    ("POST", "/v1/sessions", START | {"max_amount": True}),
    ("POST", "/v1/sessions", START | {"max_amount": ["1"]}),
    ("POST", "/v1/sessions", START | {"max_amount": "0.00"}),
    ("POST", "/v1/sessions", START | {"evse_id": "\x00"}),
    ("POST", "/v1/sessions", START | {"driver_reference": "ü"}),
    ("POST", "/v1/sessions", [START]),
    ("GET", "/v1/sessions?stage=BOGUS", None),
    ("GET", "/v1/sessions?needs_attention=maybe", None),
    ("GET", "/v1/sessions?limit=99999999999999999999999", None),
    ("GET", "/v1/sessions?created_from=2026-13-01T00:00:00Z", None),
    ("GET", "/v1/sessions?created_from=-2026-01-01T00:00:00Z", None),
    ("GET", "/v1/sessions?created_from=2026-01-01T00:00:00%2B25:00", None),
    ("GET", "/v1/sessions?cursor=" + _b64(b"\xff\xfe|x"), None),
    ("GET", f"/v1/sessions?cursor={_b64(b'no-bar')}", None),
    ("GET", "/v1/sessions?cursor=%%%", None),
    ("GET", "/v1/sessions/" + "x" * 5000, None),
    ("GET", "/v1/sessions?evse_id=%00", None),
    ("GET", "/v1/sessions/%00", None),
    ("POST", "/v1/sessions/%00/stop", None),
    ("GET", "/v1/invoices/%00.pdf", None),
    ("GET", "/v1/invoices/%00", None),
    ("GET", "/v1/invoices/" + "9" * 400, None),
]


@pytest.mark.parametrize(("method", "path", "body"), PARTNER_PROBES)
async def test_odd_partner_requests_are_4xx(stack: Stack, method: str, path: str, body: Any) -> None:
    reply = await stack.http.request(method, path, json=body, headers=stack.headers())
    assert 400 <= reply.status_code < 500, reply.text


ADMIN_PROBES: list[tuple[str, str, Any]] = [
    ("POST", "/v1/partners", PARTNER | {"terms": PARTNER["terms"] | {"credit_limit": "9999999999.9999"}}),
    ("POST", "/v1/partners", PARTNER | {"terms": PARTNER["terms"] | {"session_cap": 1e308}}),
    ("POST", "/v1/partners", PARTNER | {"terms": PARTNER["terms"] | {"share_basis": "BOGUS"}}),
    ("POST", "/v1/partners", PARTNER | {"country": "ÄÖ"}),
    ("POST", "/v1/partners", PARTNER | {"billing_currency": "€€€"}),
    ("POST", "/v1/partners", PARTNER | {"vat_id": "NL\u0663\u0661\u0662345678B01"}),
    ("POST", "/v1/partners", PARTNER | {"iban": "NL91 ABNA 0417 1643 00 ü"}),
    ("POST", "/v1/partners", PARTNER | {"bic": "XXXXXXXXXXX"}),
    ("POST", "/v1/partners", PARTNER | {"legal_entity": "\x00"}),
    ("POST", "/v1/partners", PARTNER | {"address": {"street": "a\nb", "postcode": "1", "city": "c"}}),
    ("POST", "/v1/partners/dp-roamly/keys", {"valid_days": 10**30}),
    ("POST", "/v1/partners/dp-roamly/keys", {"valid_days": "x"}),
    ("POST", "/v1/partners/" + "x" * 5000 + "/keys", {}),
    ("DELETE", "/v1/partners/dp-roamly/keys/99999999999999999999999", None),
    ("DELETE", "/v1/partners/dp-roamly/keys/-1", None),
    ("DELETE", "/v1/partners/dp-roamly/keys/9223372036854775807", None),
    ("GET", "/v1/partners/nobody/keys", None),
    ("GET", "/v1/partners/%00/keys", None),
    ("POST", "/v1/partners/%00/deactivate", None),
    ("POST", "/v1/partners/nobody/deactivate", None),
]


@pytest.mark.parametrize(("method", "path", "body"), ADMIN_PROBES)
async def test_odd_operator_requests_are_4xx(stack: Stack, method: str, path: str, body: Any) -> None:
    with stack.writes.begin() as db:
        key = add_operator(db, f"ops-{uuid.uuid4().hex[:6]}", now=datetime.now(UTC))
    reply = await stack.http.request(method, path, json=body, headers={"Authorization": f"Bearer {key}"})
    assert 400 <= reply.status_code < 500, reply.text
