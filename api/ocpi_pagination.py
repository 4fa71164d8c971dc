"""Serving an OCPI 2.2.1 list (a Sender's ``GET``) page by page, as transport_and_format says: the client
asks with ``offset``, ``limit``, ``date_from`` (inclusive, on ``last_updated``) and ``date_to`` (exclusive);
we answer one page, oldest first, with ``X-Total-Count`` (all that match, whatever the page), ``X-Limit``
(our maximum page) and ``Link: <url>; rel="next"`` while more remain. A query we cannot read is 2001."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import JSONResponse
from pydantic import TypeAdapter, ValidationError

from api.routes.ocpi import envelope
from messages.ocpi import OcpiStatus, UtcDateTime

MAX_LIMIT: Final = 100  # objects per page: a larger limit asked is capped to it (spec example: 2000 → 100)
MAX_OFFSET: Final = 2**63 - 1  # SQL's OFFSET is a signed 64-bit integer
_DATETIME: Final = TypeAdapter(UtcDateTime)


class PageQueryInvalid(ValueError):
    """A pagination parameter we cannot read, named."""


@dataclass(frozen=True, slots=True)
class PageQuery:
    """What the client asked for; ``limit`` is already within our maximum."""

    offset: int
    limit: int
    date_from: datetime | None  # inclusive, on last_updated
    date_to: datetime | None  # exclusive


@dataclass(frozen=True, slots=True)
class Page:
    """One page of objects, oldest first, ready for JSON, and how many match the query in all."""

    items: Sequence[Any]
    total: int


def page_query(params: Mapping[str, str], max_limit: int = MAX_LIMIT) -> PageQuery:
    offset = _count(params, "offset", default=0, least=0, most=MAX_OFFSET)
    limit = min(_count(params, "limit", default=max_limit, least=1, most=MAX_OFFSET), max_limit)
    date_from, date_to = _moment(params, "date_from"), _moment(params, "date_to")
    if date_from is not None and date_to is not None and date_to < date_from:
        raise PageQueryInvalid("date_to: is before date_from")
    return PageQuery(offset, limit, date_from, date_to)


async def serve_page(
    request: Request,
    public_base_url: str,
    load: Callable[[PageQuery], Awaitable[Page]],
    max_limit: int = MAX_LIMIT,
) -> JSONResponse:
    """The page ``load`` gives for the request's query, with OCPI's pagination headers. The next link is
    built on ``public_base_url`` (behind TLS the request's own URL says http) and keeps every other
    parameter the client sent."""
    try:
        query = page_query(request.query_params, max_limit)
    except PageQueryInvalid as invalid:
        return envelope(OcpiStatus.INVALID_PARAMETERS, str(invalid))
    page = await load(query)
    headers = {"X-Total-Count": str(page.total), "X-Limit": str(max_limit)}
    following = query.offset + len(page.items)
    if page.items and following < page.total:
        kept = [(name, value) for name, value in request.query_params.multi_items() if name not in ("offset", "limit")]
        next_query = urlencode([*kept, ("offset", str(following)), ("limit", str(query.limit))])
        headers["Link"] = f'<{public_base_url}{request.url.path}?{next_query}>; rel="next"'
    return envelope(OcpiStatus.SUCCESS, "Success", data=list(page.items), headers=headers)


def _count(params: Mapping[str, str], name: str, *, default: int, least: int, most: int) -> int:
    text = params.get(name)
    if text is None:
        return default
    if not (text.isascii() and text.isdigit() and len(text) <= len(str(most)) and least <= int(text) <= most):
        raise PageQueryInvalid(f"{name}: must be a whole number from {least} to {most}")
    return int(text)


def _moment(params: Mapping[str, str], name: str) -> datetime | None:
    text = params.get(name)
    if text is None:
        return None
    # An offset's '+' not percent-encoded arrives as a space: read it as the '+' it was.
    if len(text) > 6 and text[-6] == " ":
        text = text[:-6] + "+" + text[-5:]
    try:
        return _DATETIME.validate_python(text)
    except ValidationError as error:
        raise PageQueryInvalid(f"{name}: {error.errors()[0]['msg']}") from error
