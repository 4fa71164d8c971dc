"""The API's metrics without a database: requests counted by route template (never the path itself), and
the ledger check's gauges (the worker's latest recorded run), absent until a check has run."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import httpx
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from api.app import create_app
from api.context import ApiContext
from api.metrics import LedgerCheckStatus
from persistence.ledger_check_runs import LedgerCheckRun


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def no_context() -> tuple[ApiContext, object]:
    raise AssertionError("the lifespan does not run under ASGITransport; nothing here needs the context")


async def test_requests_are_counted_by_route_template_and_status() -> None:
    app = create_app(context_factory=no_context)  # type: ignore[arg-type]
    stray = uuid.uuid4().hex
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as http:
        assert (await http.get("/health")).status_code == 200
        assert (await http.get(f"/v1/nothing/{stray}")).status_code == 404
        assert (await http.post("/health")).status_code == 405  # the route, another method
        reply = await http.get("/metrics")
    assert reply.status_code == 200
    assert reply.headers["content-type"].startswith("text/plain; version=0.0.4")
    found = samples(reply.text)
    labels = frozenset

    assert (
        found[("networkcore_http_requests_total", labels({("method", "GET"), ("route", "/health"), ("status", "200")}))]
        == 1
    )
    assert (
        found[
            ("networkcore_http_requests_total", labels({("method", "GET"), ("route", "unmatched"), ("status", "404")}))
        ]
        == 1
    )
    assert (
        found[
            (
                "networkcore_http_requests_total",
                labels({("method", "POST"), ("route", "/health"), ("status", "405")}),
            )
        ]
        == 1
    )
    duration = (
        "networkcore_http_request_duration_seconds_count",
        labels({("method", "GET"), ("route", "/health"), ("status", "200")}),
    )
    assert found[duration] == 1
    assert stray not in reply.text, "a path never becomes a label"


def test_the_ledger_check_gauges_appear_once_a_check_has_run_and_say_when_it_failed() -> None:
    latest: list[LedgerCheckRun] = []
    status = LedgerCheckStatus(lambda: latest[-1] if latest else None)
    registry = CollectorRegistry()
    registry.register(status)
    assert registry.get_sample_value("networkcore_ledger_check_ok") is None, "no check yet: no answer, not 0"
    checked_at = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    latest.append(LedgerCheckRun(ok=False, problems=3, checked_at=checked_at, duration_s=0.25))
    assert registry.get_sample_value("networkcore_ledger_check_ok") == 0
    assert registry.get_sample_value("networkcore_ledger_check_problems") == 3
    assert registry.get_sample_value("networkcore_ledger_check_timestamp_seconds") == checked_at.timestamp()
    assert registry.get_sample_value("networkcore_ledger_check_duration_seconds") == 0.25
    latest.append(LedgerCheckRun(ok=True, problems=0, checked_at=checked_at, duration_s=0.1))
    assert registry.get_sample_value("networkcore_ledger_check_ok") == 1
