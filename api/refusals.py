""" "Not now, retry after N seconds": the answer of the rate limits, the backpressure and a database outage,
as the OCPI envelope on OCPI routes and as ``{"detail": ...}`` elsewhere, always with ``Retry-After``."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi.responses import JSONResponse

from messages.ocpi import OcpiStatus, ocpi_envelope


def is_ocpi_path(path: str) -> bool:
    return path.startswith("/ocpi/")


def retry_later(
    path: str, http_status: int, message: str, *, retry_after_s: int, ocpi_status: OcpiStatus
) -> JSONResponse:
    headers = {"Retry-After": str(retry_after_s)}
    if is_ocpi_path(path):
        body = ocpi_envelope(ocpi_status, message, timestamp=datetime.now(UTC))
        return JSONResponse(body, status_code=http_status, headers=headers)
    return JSONResponse({"detail": message}, status_code=http_status, headers=headers)
