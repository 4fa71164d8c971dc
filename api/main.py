"""The API process: ``create_app`` wired from Settings (``networkcore api``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

from fastapi import FastAPI

from adapters.temporal_client import connect_temporal
from api.app import create_app
from api.context import ApiContext
from config.settings import Settings
from messages.sessions import SessionTimeouts
from persistence.db import Database


def timeouts_from(settings: Settings) -> SessionTimeouts:
    return SessionTimeouts(
        start_confirmation_s=settings.start_confirmation_s,
        max_duration_s=settings.max_duration_s,
        cdr_wait_s=settings.cdr_wait_s,
    )


def app_from_settings(settings: Settings) -> FastAPI:
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
        )

        async def close() -> None:
            database.dispose()

        return context, close

    every = settings.ledger_check_interval_s
    return create_app(context_factory=build, ledger_check_every=timedelta(seconds=every) if every > 0 else None)
