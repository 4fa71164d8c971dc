"""What a request may make us read and parse, for any route that takes a JSON body: its size, checked
before the body is read in full, and whether it is JSON we read (UTF-8, RFC 8259, nested at most
``MAX_JSON_DEPTH`` levels). Routes authenticate the caller first (a dependency), then read."""

from __future__ import annotations

import json
from typing import Any

from anyio import to_thread
from starlette.requests import Request

# The deepest object we take (an OCPI CDR carrying its Tariffs: elements, restrictions, day lists) nests
# under 10 levels; 32 leaves room for vendor extensions while keeping every parser far from its recursion
# limit.
MAX_JSON_DEPTH = 32


# A hop to a worker thread costs about 90 us of CPU here; checking a body this small costs far less (7 us
# for a 200-byte Session PATCH, the most frequent), so it is checked on the event loop; a larger one
# (a CDR or a Location may run to a MiB) off it.
CHECKED_ON_THE_LOOP_BYTES = 16 << 10


class BodyTooLarge(Exception):
    """The body is over ``limit`` bytes; ``received`` is what was read of it before it was cut off."""

    def __init__(self, limit: int, received: bytes) -> None:
        super().__init__(f"the body is over the limit of {limit} bytes for this route")
        self.limit = limit
        self.received = received


async def read_body(request: Request, limit: int) -> bytes:
    """The body, refused at once when its Content-Length is over ``limit`` and cut off at ``limit`` when
    it is sent without one (chunked)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge(limit, b"")
    received = bytearray()
    async for chunk in request.stream():
        received += chunk
        if len(received) > limit:
            raise BodyTooLarge(limit, bytes(received[:limit]))
    return bytes(received)


def json_problem(body: bytes, max_depth: int = MAX_JSON_DEPTH) -> str | None:
    """Why ``body`` is not a JSON text we read, or None. JSON between systems is UTF-8 without a byte
    order mark (RFC 8259 §8.1); ``NaN`` and ``Infinity`` are not JSON."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        return f"the body is not UTF-8 (byte {error.start}); send JSON encoded as UTF-8"
    if text.startswith("\ufeff"):
        return "the body starts with a byte order mark; send UTF-8 JSON without one"
    try:
        document = json.loads(text, parse_constant=_not_json)
    except RecursionError:
        return f"the body nests deeper than {max_depth} levels"
    except ValueError as error:
        return f"the body is not valid JSON: {error}"
    if _deeper_than(document, max_depth):
        return f"the body nests deeper than {max_depth} levels"
    return None


async def json_problem_of(body: bytes) -> str | None:
    """``json_problem``, on a worker thread when ``body`` is large enough to hold up the event loop."""
    if len(body) <= CHECKED_ON_THE_LOOP_BYTES:
        return json_problem(body)
    return await to_thread.run_sync(json_problem, body)


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not a JSON value")


def _deeper_than(document: Any, max_depth: int) -> bool:
    """Whether objects and arrays nest deeper than ``max_depth`` (a scalar is 0 deep, ``[]`` 1)."""
    pending: list[tuple[Any, int]] = [(document, 1)]
    while pending:
        value, depth = pending.pop()
        children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else None
        if children is None:
            continue
        if depth > max_depth:
            return True
        pending.extend((child, depth + 1) for child in children)
    return False
