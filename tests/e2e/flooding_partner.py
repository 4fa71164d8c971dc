"""A partner flooding ``POST /v1/sessions`` from its own process (so the flood costs the API, not the test's
event loop): ``python -m tests.e2e.flooding_partner URL API_KEY COUNT WINDOW_S CONNECTIONS`` sends COUNT
starts spread over WINDOW_S seconds on CONNECTIONS connections. It prints ``REFUSED`` on a line of its own
when it meets its first 429 (its burst is spent: from then on the flood is refused), and at the end one
JSON line: every status, and the ``Retry-After`` values of the refusals. Run by ``test_rate_limits``."""

from __future__ import annotations

import asyncio
import json
import sys
import time

import httpx

REFUSED = "REFUSED"


async def flood(url: str, api_key: str, count: int, window_s: float, connections: int) -> dict[str, list[str]]:
    statuses: list[str] = []
    retry_afters: list[str] = []
    requests = iter(range(count))
    began = time.monotonic()
    headers = {"Authorization": f"Bearer {api_key}"}
    limits = httpx.Limits(max_connections=connections)
    async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits) as http:

        async def connection() -> None:
            for index in requests:
                await asyncio.sleep(max(began + index * window_s / count - time.monotonic(), 0))
                body = {"evse_id": "DE*STN*E3001", "driver_reference": f"sim-reject-flood-{index}"}
                reply = await http.post("/v1/sessions", json=body, headers=headers)
                statuses.append(str(reply.status_code))
                if reply.status_code == 429:
                    if not retry_afters:
                        sys.stdout.write(f"{REFUSED}\n")
                        sys.stdout.flush()
                    retry_afters.append(reply.headers["Retry-After"])

        await asyncio.gather(*(connection() for _ in range(connections)))
    return {"statuses": statuses, "retry_afters": retry_afters}


if __name__ == "__main__":
    url, api_key, count, window_s, connections = sys.argv[1:6]
    sys.stdout.write(json.dumps(asyncio.run(flood(url, api_key, int(count), float(window_s), int(connections)))))
