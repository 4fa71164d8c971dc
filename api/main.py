"""The API process: ``create_app`` wired from Settings (``networkcore api``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import FastAPI

from adapters.temporal_client import connect_temporal
from api.app import create_app
from api.backpressure import BackpressurePolicy
from api.context import ApiContext, settings_peer_access, settings_role
from api.rate_limits import RateLimitPolicy
from config.settings import Settings
from domain.rate_limits import RateLimit
from messages.sessions import SessionTimeouts
from persistence.db import Database, database_identity


def timeouts_from(settings: Settings) -> SessionTimeouts:
    return SessionTimeouts(
        start_confirmation_s=settings.start_confirmation_s,
        max_duration_s=settings.max_duration_s,
        cdr_wait_s=settings.cdr_wait_s,
    )


def rate_limits_from(settings: Settings) -> RateLimitPolicy:
    return RateLimitPolicy(
        session_starts=RateLimit(settings.session_starts_per_s, settings.session_starts_burst),
        cpo_messages=RateLimit(settings.cpo_messages_per_s, settings.cpo_messages_burst),
        auth_failures=RateLimit(settings.auth_failures_per_s, settings.auth_failures_burst),
    )


def backpressure_from(settings: Settings) -> BackpressurePolicy:
    return BackpressurePolicy(
        max_waiting_tasks=settings.max_session_backlog,
        retry_after_s=settings.backpressure_retry_after_s,
        every_s=settings.backlog_check_s,
        start_latency_target_ms=settings.session_start_latency_target_ms,
    )


def app_from_settings(settings: Settings) -> FastAPI:
    peers = settings_peer_access(settings)  # without the token key, the API does not start

    async def build() -> tuple[ApiContext, Callable[[], Awaitable[None]]]:
        database = Database.open(settings.database_url)
        client = await connect_temporal(settings.temporal_address, settings.temporal_namespace)
        context = ApiContext(
            writes=database.writes,
            reads=database.reads,
            temporal=client,
            task_queue=settings.task_queue,
            timeouts=timeouts_from(settings),
            public_base_url=settings.public_base_url,
            database=database_identity(settings.database_url, settings.ocpi_token_key),
            ocpi_role=settings_role(settings),
            peers=peers,
        )

        async def close() -> None:
            database.dispose()

        return context, close

    return create_app(
        context_factory=build,
        rate_limits=rate_limits_from(settings),
        backpressure=backpressure_from(settings),
    )
