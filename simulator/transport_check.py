"""The simulator checks the eMSP's OCPI transport from its side, as a strict CPO would: every answer to one
of its requests must be an OCPI envelope (an integer ``status_code`` and a spec ``DateTime`` timestamp)
echoing the request's ``X-Request-ID`` and ``X-Correlation-ID``. A violation is logged and counted; the
count is ``GET /admin/violations``."""

from __future__ import annotations

import json
import logging
import re
from typing import Final

import httpx

log = logging.getLogger(__name__)

# OCPI DateTime: string(25), UTC, "Z", with or without a fraction of a second.
OCPI_DATETIME: Final = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,5})?Z$")
ECHOED: Final = ("X-Request-ID", "X-Correlation-ID")
KEPT: Final = 100  # the latest violations kept for reading; all are counted


def transport_problems(response: httpx.Response) -> list[str]:
    """What in the answer breaks the transport rules (its body must have been read)."""
    problems = [
        f"{name} {response.headers.get(name)!r}, sent {response.request.headers[name]!r}"
        for name in ECHOED
        if name in response.request.headers and response.headers.get(name) != response.request.headers[name]
    ]
    try:
        body = json.loads(response.content)
    except ValueError:
        return [*problems, f"HTTP {response.status_code}: not JSON"]
    if not isinstance(body, dict) or not isinstance(body.get("status_code"), int):
        return [*problems, f"HTTP {response.status_code}: no OCPI envelope with an integer status_code"]
    timestamp = body.get("timestamp")
    if not isinstance(timestamp, str) or not OCPI_DATETIME.match(timestamp):
        problems.append(f"timestamp {timestamp!r} is not an OCPI DateTime")
    return problems


class TransportChecker:
    """An httpx response hook: every answer the simulator gets is checked."""

    def __init__(self) -> None:
        self.count = 0
        self.latest: list[str] = []

    async def __call__(self, response: httpx.Response) -> None:
        await response.aread()
        for problem in transport_problems(response):
            violation = f"{response.request.method} {response.request.url.path}: {problem}"
            log.warning("transport rule broken: %s", violation)
            self.count += 1
            self.latest = [*self.latest, violation][-KEPT:]
