"""Log lines as JSON objects, one a line, each naming the session it is about.

A record's session comes from, first found: ``extra={"session_id": ...}``; the session the API bound to
this request (``bind_session``); the workflow id Temporal's ``workflow.logger`` and ``activity.logger``
put in ``extra``; the activity or workflow running in this thread. A session's workflow id, and its
corrections', name the session (``messages/workflow_ids.session_id_of``). ``configure_logging`` installs it on the
root logger, for the entry points (``networkcore api|worker`` log JSON, the other commands text).
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Mapping
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, Final, Literal

from temporalio import activity, workflow

from messages.workflow_ids import session_id_of

LogFormat = Literal["json", "text"]

_SESSION_ID: ContextVar[str | None] = ContextVar("networkcore_session_id", default=None)

# What the filter adds to every record (None when unknown), in the order JSON lines show them.
CONTEXT_FIELDS: Final = ("session_id", "workflow_id", "run_id", "workflow_type", "activity_type")
# Attributes every LogRecord has, and the ones our filter and the SDK add, are not "extra" fields.
_STANDARD: Final = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {
    "message",
    "asctime",
    "taskName",
    "session_tag",
    "color_message",  # uvicorn's coloured copy of the message
    "temporal_workflow",
    "temporal_activity",
    "workflow_info",
    "activity_info",
    *CONTEXT_FIELDS,
}


def bind_session(session_id: str | None) -> None:
    """The session the current request (or task) is about: every line logged in this context names it."""
    _SESSION_ID.set(session_id)


def bound_session() -> str | None:
    return _SESSION_ID.get()


def _temporal_context() -> Mapping[str, Any]:
    """The running activity's or workflow's details, for lines logged without Temporal's adapters."""
    if activity.in_activity():
        info = activity.info()
        return {
            "workflow_id": info.workflow_id,
            "run_id": info.workflow_run_id,
            "workflow_type": info.workflow_type,
            "activity_type": info.activity_type,
        }
    if workflow.in_workflow():
        details = workflow.info()
        return {"workflow_id": details.workflow_id, "run_id": details.run_id, "workflow_type": details.workflow_type}
    return {}


class SessionContext(logging.Filter):
    """Sets ``session_id``, ``workflow_id``, ``run_id``, ``workflow_type`` and ``activity_type`` on every
    record (None when unknown). Installed on the handler, so records of every logger pass through it."""

    def filter(self, record: logging.LogRecord) -> bool:
        found: dict[str, Any] = {}
        for source in ("temporal_activity", "temporal_workflow"):
            details = getattr(record, source, None)
            if isinstance(details, Mapping):
                found.setdefault("workflow_id", details.get("workflow_id"))
                found.setdefault("run_id", details.get("run_id") or details.get("workflow_run_id"))
                found.setdefault("workflow_type", details.get("workflow_type"))
                found.setdefault("activity_type", details.get("activity_type"))
        if not found.get("workflow_id"):
            found = {**_temporal_context(), **{k: v for k, v in found.items() if v}}
        for name in CONTEXT_FIELDS[1:]:
            if getattr(record, name, None) is None:
                setattr(record, name, found.get(name))
        session_id = getattr(record, "session_id", None)
        if session_id is None:
            workflow_id = getattr(record, "workflow_id", None)
            session_id = _SESSION_ID.get() or (session_id_of(workflow_id) if workflow_id else None)
            record.session_id = session_id
        record.session_tag = f" [session {session_id}]" if session_id else ""
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, the context fields that are
    known, the caller's ``extra`` fields, and the exception with its traceback."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in CONTEXT_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                line[name] = value
        for name, value in record.__dict__.items():
            if name not in _STANDARD and not name.startswith("_") and name not in line:
                line[name] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exception"] = record.exc_text
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """For people at a terminal: the usual line, with ``[session <id>]`` when the line is about one."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s%(session_tag)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        if not hasattr(record, "session_tag"):
            record.session_tag = ""
        return super().format(record)


def configure_logging(log_format: LogFormat, *, level: int = logging.INFO) -> None:
    """Everything logged in this process goes to stderr in ``log_format``, through ``SessionContext``."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(SessionContext())
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # Libraries that narrate every request or every PDF font subset at INFO.
    for chatty in ("httpx", "fontTools"):
        logging.getLogger(chatty).setLevel(logging.WARNING)
    # In JSON the SDK's details are fields; appended to the message too they would only repeat them.
    workflow.logger.workflow_info_on_message = log_format == "text"
    activity.logger.activity_info_on_message = log_format == "text"
