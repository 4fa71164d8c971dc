"""The OpenAPI document: every status a route answers with the body we send (the OCPI envelope on OCPI
routes), amounts as decimal strings with a pattern (never free strings, never floats), ``/metrics`` as
text. tests/e2e/test_openapi_conformance.py checks the answers themselves against it."""

from __future__ import annotations

import re
from typing import Any

from api.app import create_app
from api.context import ApiContext
from api.schemas import AMOUNT_IN_PATTERN, DECIMAL_PATTERN, RATE_PATTERN


async def no_context() -> tuple[ApiContext, object]:
    raise AssertionError("building the document needs no context")


def _document() -> dict[str, Any]:
    return create_app(context_factory=no_context).openapi()  # type: ignore[arg-type]


def test_every_partner_route_documents_401_and_the_operators_routes_403() -> None:
    paths = _document()["paths"]
    partner = [("/v1/sessions", "post"), ("/v1/sessions", "get"), ("/v1/sessions/{session_id}", "get"),
               ("/v1/sessions/{session_id}/stop", "post"), ("/v1/balance", "get"), ("/v1/invoices", "get"),
               ("/v1/invoices/{number}", "get"), ("/v1/invoices/{number}.xml", "get"), ("/v1/payouts", "get"),
               ("/v1/tokens", "post"),
               ("/v1/tokens", "get"), ("/v1/tokens/{uid}", "get"), ("/v1/tokens/{uid}", "patch"),
               ("/v1/locations", "get"), ("/v1/quotes", "post"), ("/v1/quotes/{quote_id}", "get"),
               ("/v1/reminders", "get"), ("/v1/reminders/{number}", "get"), ("/v1/reminders/{number}.html", "get"),
               ("/v1/reminders/{number}.pdf", "get")]  # fmt: skip
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
    decimals = ("CurrencyBalance", "InvoiceSummary", "PayoutPosition", "Billing", "Clearing", "SessionRead",
                "PriceComponentRead", "QuoteRead", "CpoPriceRead", "QuoteVatRead", "FxRead")  # fmt: skip
    for name in (*decimals, "DisputeDecision", "OpenDispute"):
        for field, schema in schemas[name]["properties"].items():
            values = schema.get("additionalProperties")  # a dict of amounts (``rating`` is free: True)
            variants = [*schema.get("anyOf", [schema]), *([values] if isinstance(values, dict) else [])]
            assert all(variant.get("type") != "number" for variant in variants), (name, field)
            for variant in variants:
                if "pattern" in variant:
                    assert variant["type"] == "string", (name, field)
                    assert variant["pattern"] in (DECIMAL_PATTERN, RATE_PATTERN), (name, field)
    assert schemas["CurrencyBalance"]["properties"]["owed"]["pattern"] == DECIMAL_PATTERN
    assert schemas["DisputeDecision"]["properties"]["agreed"]["pattern"] == DECIMAL_PATTERN
    assert schemas["Billing"]["properties"]["reference_rate"]["anyOf"][0]["pattern"] == RATE_PATTERN
    assert schemas["DisputeDecisionIn"]["properties"]["amount"]["anyOf"][0]["type"] == "string"
    assert re.fullmatch(DECIMAL_PATTERN, "-12345678901234.5678")
    assert not re.fullmatch(DECIMAL_PATTERN, "1E+2")
    assert re.fullmatch(AMOUNT_IN_PATTERN, "25.00")
    assert not re.fullmatch(AMOUNT_IN_PATTERN, "1e3")


def test_refusals_carry_their_body_and_retry_after() -> None:
    paths = _document()["paths"]
    start = paths["/v1/sessions"]["post"]["responses"]
    assert {"400", "401", "409", "422", "429", "503"} <= set(start)
    for status in ("429", "503"):
        assert start[status]["headers"]["Retry-After"]["required"] is True
    assert start["401"]["headers"]["WWW-Authenticate"]["required"] is True
    validation = start["422"]["content"]["application/json"]["schema"]["anyOf"]
    assert {variant["$ref"].rsplit("/", 1)[1] for variant in validation} == {"Problem", "ValidationProblem"}
    for path, operations in paths.items():
        for method, operation in operations.items():
            if path != "/health":
                assert "503" in operation["responses"], (path, method)
    decide = paths["/v1/disputes/{session_id}"]["post"]["responses"]
    assert {"200", "201", "401", "403", "404", "409", "422"} <= set(decide)
    assert {"401", "403"} <= set(paths["/v1/disputes"]["get"]["responses"])
    for kind in ("invoices", "reminders"):
        page = paths[f"/v1/{kind}/{{number}}.html"]["get"]["responses"]
        assert set(page["200"]["content"]) == {"text/html"}
        assert set(page["404"]["content"]) == {"application/json"}
        pdf = paths[f"/v1/{kind}/{{number}}.pdf"]["get"]["responses"]
        assert set(pdf["200"]["content"]) == {"application/pdf"}
    xml = paths["/v1/invoices/{number}.xml"]["get"]["responses"]
    assert set(xml["200"]["content"]) == {"application/xml"}
    assert set(xml["404"]["content"]) == {"application/json"}
    assert "400" in paths["/v1/reminders"]["get"]["responses"]


def test_ocpi_routes_answer_with_the_envelope_never_422() -> None:
    paths = _document()["paths"]
    ocpi = {
        (path, method): operation
        for path, ops in paths.items()
        if path.startswith("/ocpi/")
        for method, operation in ops.items()
    }
    # Versions, version details, the nine receiver operations, the credentials module's four methods,
    # Locations (PUT, PATCH, GET at three depths) and Tokens (the list, authorize).
    assert len(ocpi) == 26
    for (path, method), operation in ocpi.items():
        responses = operation["responses"]
        assert "422" not in responses, (path, method)  # a request that does not fit is 200 with status 2001
        assert {"200", "401", "429", "503"} <= set(responses), (path, method)
        for status, answer in responses.items():
            schema = answer["content"]["application/json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/OcpiEnvelope"}, (path, method, status)
    cdr = paths["/ocpi/emsp/2.2.1/cdrs"]["post"]["responses"]
    assert {"201", "400", "413"} <= set(cdr)
    assert cdr["201"]["headers"]["Location"]["required"] is True
    authorize = paths["/ocpi/emsp/2.2.1/tokens/{token_uid}/authorize"]["post"]["responses"]
    assert {"400", "404", "413"} <= set(authorize)


def test_metrics_is_text() -> None:
    responses = _document()["paths"]["/metrics"]["get"]["responses"]
    assert set(responses["200"]["content"]) == {"text/plain", "application/openmetrics-text"}
    assert set(responses["503"]["content"]) == {"application/json"}
