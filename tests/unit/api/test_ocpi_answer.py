"""How an intake's result is answered over HTTP: its status, its OCPI envelope and its headers."""

from __future__ import annotations

import json

from api.routes.ocpi import ocpi_answer
from messages.ocpi import OcpiStatus
from services.ocpi.inbox import IntakeResult


def test_a_message_asked_again_is_a_503_with_retry_after_and_an_ocpi_server_error() -> None:
    answer = ocpi_answer(IntakeResult(OcpiStatus.SERVER_ERROR, "retry", 503, our_session_id="s", retry_after_s=1))
    body = json.loads(bytes(answer.body))
    assert (answer.status_code, answer.headers["Retry-After"]) == (503, "1")
    assert (body["status_code"], body["status_message"], body["data"]) == (3000, "retry", None)


def test_an_accepted_cdr_names_its_location_and_no_retry() -> None:
    answer = ocpi_answer(IntakeResult(OcpiStatus.SUCCESS, "Success", 201, location="https://x/cdrs/7"))
    assert (answer.status_code, answer.headers["Location"]) == (201, "https://x/cdrs/7")
    assert "Retry-After" not in answer.headers
