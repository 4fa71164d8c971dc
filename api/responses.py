"""The refusals a route can answer, for the OpenAPI document: ``refusals(401, 404, ...)`` declares each
status with the body we really send (``{"detail": ...}``, FastAPI's validation list for 422, the OCPI
envelope on OCPI routes) and its headers (``Retry-After`` on 429 and 503, ``WWW-Authenticate`` on a
Bearer route's 401). Every route that reaches the database or Temporal can answer 503 during an outage
(``api/refusals.py``), so each one gets it."""

from __future__ import annotations

from typing import Any, Final

from fastapi.responses import Response

from api.schemas import OcpiEnvelope, Problem, ValidationProblem

Responses = dict[int | str, dict[str, Any]]

RETRY_AFTER: Final = {
    "Retry-After": {
        "description": "Whole seconds to wait before trying again",
        "required": True,
        "schema": {"type": "integer", "minimum": 0},
    }
}
BEARER_CHALLENGE: Final = {
    "WWW-Authenticate": {"description": "Bearer", "required": True, "schema": {"type": "string"}}
}
# The 401 of the operators' routes; their 403 is a partner's key.
OPERATORS_401: Final = {401: "No operator key"}
WHY: Final[dict[int, str]] = {
    400: "The body is not JSON we read",
    401: "No key, or an unknown, expired or revoked one, or an inactive partner's",
    403: "Not an operator key, or a revoked one",
    404: "Not found among yours",
    405: "Not allowed in the state this is in",
    409: "In conflict with what exists",
    413: "The body is over this route's limit",
    422: "A parameter or a field of the body is refused; the detail names it",
    429: "Over the rate limit: retry after Retry-After seconds",
    503: "Unavailable for now (database or workflow service away, or too many sessions waiting to start): "
    "retry after Retry-After seconds",
}


def refusals(*statuses: int, ocpi: bool = False, why: dict[int, str] | None = None) -> Responses:
    """``statuses`` and 503, each described by ``why`` or by default."""
    declared: Responses = {}
    for status in sorted({*statuses, 503}):
        answer: dict[str, Any] = {"description": (why or {}).get(status, WHY[status])}
        if ocpi:
            answer["model"] = OcpiEnvelope
        elif status == 422:
            # Ours name the field in a sentence; FastAPI's list the fields that do not fit the document.
            answer["model"] = Problem | ValidationProblem
        else:
            answer["model"] = Problem
        if status in (429, 503):
            answer["headers"] = RETRY_AFTER
        elif status == 401 and not ocpi:
            answer["headers"] = BEARER_CHALLENGE
        declared[status] = answer
    return declared


# The 200 of a document's renderings (routes declared with ``response_class=Response``, no media type of their
# own, so that their refusals are documented as the JSON they are).
HTML_PAGE: Final[Responses] = {
    200: {"description": "The page", "content": {"text/html": {"schema": {"type": "string"}}}}
}
PDF_FILE: Final[Responses] = {
    200: {"description": "The PDF", "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}}
}


XML_FILE: Final[Responses] = {
    200: {"description": "The XML", "content": {"application/xml": {"schema": {"type": "string"}}}}
}


def xml_response(content: bytes, name: str) -> Response:
    """An XML file, saved as ``name``.xml."""
    return Response(
        content, media_type="application/xml", headers={"Content-Disposition": f'attachment; filename="{name}.xml"'}
    )


def pdf_response(content: bytes, name: str) -> Response:
    """A PDF to show in the browser, saved as ``name``.pdf."""
    return Response(
        content, media_type="application/pdf", headers={"Content-Disposition": f'inline; filename="{name}.pdf"'}
    )
