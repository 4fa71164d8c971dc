"""JSON log lines: the session id lifted from Temporal's workflow and activity context, from the session a
request bound, or given explicitly; exceptions with their traceback; one object per line."""

from __future__ import annotations

import contextvars
import json
import logging
import sys
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from temporalio import activity, workflow
from temporalio.testing import ActivityEnvironment

from adapters.structured_logs import (
    JsonFormatter,
    SessionContext,
    TextFormatter,
    bind_session,
    configure_logging,
)
from messages.workflow_ids import (
    credit_correction_workflow_id,
    payout_workflow_id,
    session_id_of,
    session_workflow_id,
)

SESSION = "0b7d3c1e-5f6a-4b8c-9d0e-1f2a3b4c5d6e"


def record(
    message: str = "hello %s",
    args: tuple[Any, ...] = ("world",),
    *,
    extra: dict[str, Any] | None = None,
    exc_info: Any = None,
) -> logging.LogRecord:
    made = logging.LogRecord("networkcore.test", logging.INFO, __file__, 1, message, args, exc_info)
    for name, value in (extra or {}).items():
        setattr(made, name, value)
    return made


def json_line(made: logging.LogRecord) -> dict[str, Any]:
    assert SessionContext().filter(made)
    line = JsonFormatter().format(made)
    assert "\n" not in line, "one object per line"
    parsed: dict[str, Any] = json.loads(line)
    return parsed


@pytest.fixture(autouse=True)
def unbound() -> Iterator[None]:
    """Each test in a context of its own, so a bound session never leaks into the next."""
    bind_session(None)
    yield
    bind_session(None)


def test_a_session_workflow_logger_line_names_the_session_and_the_run() -> None:
    temporal = {
        "attempt": 1,
        "namespace": "default",
        "run_id": "run-1",
        "task_queue": "charging-sessions",
        "workflow_id": session_workflow_id(SESSION),
        "workflow_type": "ChargingSessionWorkflow",
    }
    line = json_line(record(extra={"temporal_workflow": temporal}))
    assert line["session_id"] == SESSION
    assert (line["workflow_id"], line["run_id"], line["workflow_type"]) == (
        session_workflow_id(SESSION),
        "run-1",
        "ChargingSessionWorkflow",
    )
    assert line["message"] == "hello world"
    assert (line["level"], line["logger"]) == ("INFO", "networkcore.test")
    assert line["time"].endswith("+00:00")
    assert "temporal_workflow" not in line, "lifted, not repeated"


def test_an_activity_logger_line_names_the_session_and_the_activity() -> None:
    temporal = {
        "activity_id": "3",
        "activity_type": "post_settlement",
        "attempt": 2,
        "workflow_id": session_workflow_id(SESSION),
        "workflow_run_id": "run-7",
        "workflow_type": "ChargingSessionWorkflow",
    }
    line = json_line(record("Completing activity as failed", (), extra={"temporal_activity": temporal}))
    assert (line["session_id"], line["activity_type"], line["run_id"]) == (SESSION, "post_settlement", "run-7")


def test_a_payout_workflow_is_about_no_one_session() -> None:
    payouts = payout_workflow_id("cpo:cpo-de-stn", "EUR")
    line = json_line(record(extra={"temporal_workflow": {"workflow_id": payouts}}))
    assert line["workflow_id"] == payouts
    assert "session_id" not in line
    assert session_id_of("session-") == ""
    assert session_id_of("sessions-x") is None
    assert "session_id" not in json_line(record())


def test_a_correction_workflow_line_names_the_session_it_corrects() -> None:
    correction = credit_correction_workflow_id(SESSION, 0)
    line = json_line(record(extra={"temporal_workflow": {"workflow_id": correction}}))
    assert (line["session_id"], line["workflow_id"]) == (SESSION, correction)


def test_a_line_logged_in_a_request_names_the_session_the_route_bound() -> None:
    def in_request() -> dict[str, Any]:
        bind_session(SESSION)
        return json_line(record())

    assert contextvars.copy_context().run(in_request)["session_id"] == SESSION
    assert "session_id" not in json_line(record()), "bound in that request's context only"


def test_an_explicit_session_id_wins() -> None:
    bind_session("bound-one")
    assert json_line(record(extra={"session_id": "explicit"}))["session_id"] == "explicit"


def test_a_line_logged_inside_an_activity_without_its_logger_names_the_session() -> None:
    environment = ActivityEnvironment()
    environment.info = replace(
        environment.info,
        workflow_id=session_workflow_id(SESSION),
        activity_type="clear_session",
        workflow_run_id="run-3",
    )

    def plain_log() -> dict[str, Any]:
        assert activity.in_activity()
        return json_line(record())

    line = environment.run(plain_log)
    assert (line["session_id"], line["activity_type"], line["run_id"]) == (SESSION, "clear_session", "run-3")
    assert "session_id" not in json_line(record()), "outside the activity: no session"


def test_an_exception_is_logged_with_its_traceback_in_one_line() -> None:
    try:
        raise ValueError("no EUR/AED reference rate\non 2026-01-02")
    except ValueError:
        made = record("settlement stopped", (), exc_info=sys.exc_info())
    line = json_line(made)
    assert line["exception"].startswith("Traceback (most recent call last):")
    assert "ValueError: no EUR/AED reference rate\non 2026-01-02" in line["exception"]


def test_extra_fields_are_kept_and_anything_is_written_as_text() -> None:
    line = json_line(record(extra={"status": 202, "route": "/v1/sessions", "amount": object, "_private": 1}))
    assert (line["status"], line["route"]) == (202, "/v1/sessions")
    assert line["amount"] == str(object)
    assert "_private" not in line


def test_the_text_format_names_the_session_too() -> None:
    made = record(extra={"temporal_workflow": {"workflow_id": session_workflow_id(SESSION)}})
    assert SessionContext().filter(made)
    assert f"networkcore.test [session {SESSION}]: hello world" in TextFormatter().format(made)
    assert "networkcore.test: hello world" in TextFormatter().format(record())


def test_configure_logging_writes_json_lines_to_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    root = logging.getLogger()
    saved = (root.handlers[:], root.level, workflow.logger.workflow_info_on_message)
    try:
        configure_logging("json")
        assert workflow.logger.workflow_info_on_message is False, "the details are fields, not message text"
        bind_session(SESSION)
        logging.getLogger("api.access").info("GET %s %d", "/v1/sessions/{session_id}", 200)
        line = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
        assert (line["message"], line["session_id"]) == ("GET /v1/sessions/{session_id} 200", SESSION)
    finally:
        root.handlers[:], _, workflow.logger.workflow_info_on_message = saved
        root.setLevel(saved[1])
        activity.logger.activity_info_on_message = True
