""" "Not now, retry after N seconds": the answer of the rate limits, the backpressure and a database outage,
as the OCPI envelope on OCPI routes and as ``{"detail": ...}`` elsewhere, always with ``Retry-After``."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi.responses import JSONResponse

from messages.ocpi import OcpiStatus, ocpi_envelope

# A database or Temporal outage is a fault to ride out: callers are told to come back, not that we failed.
OUTAGE_RETRY_AFTER_S = 5


def is_ocpi_path(path: str) -> bool:
    return path == "/ocpi" or path.startswith("/ocpi/")


def retry_later(
    path: str, http_status: int, message: str, *, retry_after_s: int, ocpi_status: OcpiStatus
) -> JSONResponse:
    headers = {"Retry-After": str(retry_after_s)}
    if is_ocpi_path(path):
        body = ocpi_envelope(ocpi_status, message, timestamp=datetime.now(UTC))
        return JSONResponse(body, status_code=http_status, headers=headers)
    return JSONResponse({"detail": message}, status_code=http_status, headers=headers)


def unavailable(path: str, message: str) -> JSONResponse:
    """503 for an outage (the OCPI status 3000 on OCPI routes)."""
    return retry_later(path, 503, message, retry_after_s=OUTAGE_RETRY_AFTER_S, ocpi_status=OcpiStatus.SERVER_ERROR)
