"""The adaptive limit on session starts in flight (``api/backpressure.py``): it shrinks while starts are slow,
grows back while they are fast, and past it a start gets 503 with ``Retry-After`` at once."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from starlette.types import Receive, Scope, Send

from api.backpressure import AdaptiveStartLimit, BacklogReading, BackpressurePolicy, SessionStartBackpressure


def test_a_cold_limit_admits_four_times_its_floor_then_refuses() -> None:
    limit = AdaptiveStartLimit(100, floor=2, ceiling=64)
    assert [limit.admit() for _ in range(9)] == [True] * 8 + [False]
    limit.done(10)
    assert limit.admit()


def test_slow_starts_cut_the_limit_by_a_tenth_down_to_the_floor() -> None:
    limit = AdaptiveStartLimit(100, floor=2, ceiling=64)
    limit.admit()
    limit.done(101)
    assert limit.limit == pytest.approx(7.2)
    for _ in range(50):
        limit.admit()
        limit.done(5_000)
    assert limit.limit == 2
    assert [limit.admit() for _ in range(3)] == [True, True, False]


def test_fast_starts_grow_the_limit_by_one_over_it_up_to_the_ceiling() -> None:
    limit = AdaptiveStartLimit(100, floor=2, ceiling=10)
    for _ in range(8):  # 8 fast starts at a limit of 8: about one more
        limit.admit()
        limit.done(100)  # the target itself is within it
    assert 8.9 < limit.limit < 9.0
    for _ in range(100):
        limit.admit()
        limit.done(1)
    assert limit.limit == 10
    assert limit.in_flight == 0


class _HeldStarts:
    """A stand-in for the API behind the middleware: every request waits until released."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.entered: asyncio.Queue[str] = asyncio.Queue()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.entered.put_nowait(scope["method"])
        await self.release.wait()
        await send({"type": "http.response.start", "status": 202, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"started"})


async def test_a_start_past_the_limit_gets_503_with_retry_after_at_once_and_other_routes_pass() -> None:
    held = _HeldStarts()
    policy = BackpressurePolicy(max_waiting_tasks=1_000, retry_after_s=5, start_latency_target_ms=50)
    app = SessionStartBackpressure(held, policy, BacklogReading())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as http:
        in_flight = [asyncio.create_task(http.post("/v1/sessions", json={})) for _ in range(8)]
        assert [await held.entered.get() for _ in range(8)] == ["POST"] * 8
        refused = await http.post("/v1/sessions", json={})
        assert refused.status_code == 503
        assert refused.headers["Retry-After"] == "1"
        assert "too many session starts in progress" in refused.json()["detail"]
        other = asyncio.create_task(http.get("/v1/sessions"))  # not a start: not limited
        assert await held.entered.get() == "GET"
        await asyncio.sleep(0.06)  # held past the 50 ms target
        held.release.set()
        assert [r.status_code for r in await asyncio.gather(*in_flight, other)] == [202] * 9
    assert app.in_flight is not None
    assert app.in_flight.in_flight == 0
    assert app.in_flight.limit < 8  # they were held longer than 50 ms: slow


async def test_without_a_target_starts_are_not_limited() -> None:
    held = _HeldStarts()
    app = SessionStartBackpressure(held, BackpressurePolicy(max_waiting_tasks=1_000, retry_after_s=5), BacklogReading())
    assert app.in_flight is None
    held.release.set()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as http:
        answers = await asyncio.gather(*(http.post("/v1/sessions", json={}) for _ in range(20)))
    assert [a.status_code for a in answers] == [202] * 20
