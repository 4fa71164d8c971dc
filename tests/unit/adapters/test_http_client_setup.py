"""What our outbound HTTP (httpx over httpcore) needs installed to stay cheap per request."""

from __future__ import annotations

import asyncio
import importlib.util

from httpcore._synchronization import current_async_library


def test_httpcore_tells_the_event_loop_without_a_failed_import_each_time() -> None:
    # httpcore imports sniffio on every ask, several per request; were it missing, each ask would be a failed
    # import searching sys.path (56 us against 1 us measured), in the worker's CPO calls and the simulator's.
    assert importlib.util.find_spec("sniffio") is not None

    async def ask() -> str:
        return current_async_library()

    assert asyncio.run(ask()) == "asyncio"
