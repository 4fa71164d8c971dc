"""The OCPI 2.2.1 transport rules every OCPI route keeps, whatever answers (a route, a refusal, the rate
limits, an outage): ``X-Request-ID`` and ``X-Correlation-ID`` echoed on every response, minted when the
request had none; a trailing slash ignored, so ``/cdrs/`` is ``/cdrs`` and never a redirect."""

from __future__ import annotations

import uuid
from typing import Final

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.refusals import is_ocpi_path

REQUEST_ID: Final = "X-Request-ID"
CORRELATION_ID: Final = "X-Correlation-ID"
_IDS_KEY: Final = "ocpi_ids"  # where the request's ids wait in the ASGI scope


def ocpi_ids(scope: Scope) -> dict[str, str]:
    """The ids a response to this OCPI request carries: the request's own, else fresh ones (the same ones
    for every answer to the request, an error handler's included)."""
    ids: dict[str, str] | None = scope.get(_IDS_KEY)
    if ids is None:
        sent = {key.decode("latin-1").lower(): value.decode("latin-1") for key, value in scope["headers"]}
        request_id = sent.get(REQUEST_ID.lower()) or str(uuid.uuid4())
        ids = {REQUEST_ID: request_id, CORRELATION_ID: sent.get(CORRELATION_ID.lower()) or request_id}
        scope[_IDS_KEY] = ids
    return ids


class OcpiTransport:
    """ASGI middleware, outermost, so refusals answered before routing carry the ids too."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_ocpi_path(scope["path"]):
            await self.app(scope, receive, send)
            return
        # OCPI publishes endpoints without a trailing slash, yet its URL templates append to them: take
        # both forms as one route (a 307 is not followed by most clients on PUT/POST).
        ids = ocpi_ids(scope)  # before the copy below: the error handlers see the original scope
        if scope["path"].endswith("/"):
            scope = {**scope, "path": scope["path"].rstrip("/")}

        async def send_with_ids(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in ids.items():
                    headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_ids)
