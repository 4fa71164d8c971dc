"""`networkcore api` keeps an idle connection open longer than a client's pool keeps it (httpx: 5 s): when the
server closed first, a request a partner sent on the pooled connection as the API closed it failed
(httpx.ReadError; `make bench` died of one at 50 clients). The real API process, over a real socket."""

from __future__ import annotations

import asyncio
from pathlib import Path
from urllib.parse import urlsplit

from tests.e2e.conftest import Stack
from tests.e2e.test_rate_limits import api_process

HTTPX_KEEPALIVE_EXPIRY_S = 5.0  # httpx.Limits' default
LIVENESS = b"GET /health HTTP/1.1\r\nHost: networkcore\r\n\r\n"


async def answer_status(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bytes:
    """Send a liveness probe on the connection and read its whole answer; the status line."""
    writer.write(LIVENESS)
    await writer.drain()
    status = await asyncio.wait_for(reader.readline(), timeout=10)
    length = 0
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode().partition(":")
        if name.strip().lower() == "content-length":
            length = int(value)
    await reader.readexactly(length)
    return status


async def test_an_idle_connection_outlives_a_client_pools_keepalive(
    stack: Stack, database_url: str, tmp_path: Path
) -> None:
    with api_process(stack, database_url, tmp_path / "api.log") as url:
        address = urlsplit(url)
        assert address.hostname is not None
        assert address.port is not None
        reader, writer = await asyncio.open_connection(address.hostname, address.port)
        try:
            assert (await answer_status(reader, writer)).startswith(b"HTTP/1.1 200")
            await asyncio.sleep(HTTPX_KEEPALIVE_EXPIRY_S + 1)
            assert not reader.at_eof()
            assert (await answer_status(reader, writer)).startswith(b"HTTP/1.1 200"), "the API closed it"
        finally:
            writer.close()
