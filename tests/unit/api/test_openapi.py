"""The OpenAPI document of the partner and partners-admin routes: every status they answer, amounts as
decimal strings with a pattern (never free strings, never floats)."""

from __future__ import annotations

import re
from typing import Any

from api.app import create_app
from api.context import ApiContext
from api.schemas import AMOUNT_IN_PATTERN, DECIMAL_PATTERN


async def no_context() -> tuple[ApiContext, object]:
    raise AssertionError("building the document needs no context")


def _document() -> dict[str, Any]:
    return create_app(context_factory=no_context).openapi()  # type: ignore[arg-type]


def test_every_partner_route_documents_401_and_the_operators_routes_403() -> None:
    paths = _document()["paths"]
    partner = [("/v1/sessions", "post"), ("/v1/sessions", "get"), ("/v1/sessions/{session_id}", "get"),
               ("/v1/sessions/{session_id}/stop", "post"), ("/v1/balance", "get"), ("/v1/invoices", "get"),
               ("/v1/invoices/{number}", "get"), ("/v1/payouts", "get")]  # fmt: skip
    for path, method in partner:
        assert "401" in paths[path][method]["responses"], (path, method)
    assert {"401", "422", "409"} <= set(paths["/v1/sessions"]["post"]["responses"])
    assert "400" in paths["/v1/sessions"]["get"]["responses"]
    for path, operations in paths.items():
        if path.startswith("/v1/partners"):
            for method, operation in operations.items():
                assert {"401", "403"} <= set(operation["responses"]), (path, method)
    assert {"201", "409", "422"} <= set(paths["/v1/partners"]["post"]["responses"])
    assert "204" in paths["/v1/partners/{partner_id}/keys/{key_id}"]["delete"]["responses"]


def test_amounts_are_decimal_strings_with_a_pattern() -> None:
    schemas = _document()["components"]["schemas"]
    max_amount = schemas["SessionCreate"]["properties"]["max_amount"]["anyOf"][0]
    assert max_amount == {"type": "string", "pattern": AMOUNT_IN_PATTERN, "examples": ["25.00"]}
    assert schemas["ContractTermsIn"]["properties"]["credit_limit"]["pattern"] == AMOUNT_IN_PATTERN
    for name in ("CurrencyBalance", "InvoiceSummary", "PayoutPosition", "Billing", "Clearing", "SessionRead"):
        for field, schema in schemas[name]["properties"].items():
            values = schema.get("additionalProperties")  # a dict of amounts (``rating`` is free: True)
            variants = [*schema.get("anyOf", [schema]), *([values] if isinstance(values, dict) else [])]
            assert all(variant.get("type") != "number" for variant in variants), (name, field)
            for variant in variants:
                if "pattern" in variant:
                    assert (variant["type"], variant["pattern"]) == ("string", DECIMAL_PATTERN), (name, field)
    assert schemas["CurrencyBalance"]["properties"]["owed"]["pattern"] == DECIMAL_PATTERN
    assert re.fullmatch(AMOUNT_IN_PATTERN, "25.00")
    assert not re.fullmatch(AMOUNT_IN_PATTERN, "1e3")
