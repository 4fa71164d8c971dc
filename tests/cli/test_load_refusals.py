"""How the demo and the bench read a refusal for load."""

from __future__ import annotations

import httpx

from cli.load_refusals import retry_after_s


def test_a_refusal_waits_its_retry_after_or_a_second_when_it_names_none() -> None:
    assert retry_after_s(httpx.Response(503, headers={"Retry-After": "3"})) == 3.0
    assert retry_after_s(httpx.Response(429)) == 1.0
