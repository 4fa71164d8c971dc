"""`networkcore settlement retry`: list the stopped settlements that match the filter (``--dry-run`` stops
there), then resume or reset them and say how many settled. What a retry does is
``services/settlement_retry.py``."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import datetime

from rich.console import Console
from rich.progress import Progress

from adapters.temporal_client import connect_temporal
from config.settings import Settings
from domain.sessions.lifecycle import SessionStage
from persistence.db import open_database
from services.settlement_retry import RetryFilter, retry_settlements, stopped_settlements


def retry_stopped_settlements(settings: Settings, args: argparse.Namespace) -> int:
    try:
        since, until = (None if t is None else datetime.fromisoformat(t) for t in (args.since, args.until))
    except ValueError as error:
        print(f"networkcore settlement retry: --since/--until must be ISO 8601 times: {error}", file=sys.stderr)
        return 2
    if any(t is not None and t.tzinfo is None for t in (since, until)):
        print("networkcore settlement retry: give --since/--until with a time zone (e.g. ...Z)", file=sys.stderr)
        return 2
    with open_database(settings.database_url) as database:
        match = RetryFilter(
            session_id=args.session,
            cpo=args.cpo,
            demand_partner=args.partner,
            error_type=args.error_type,
            since=since,
            until=until,
            stage=None if args.stage is None else SessionStage(args.stage),
        )
        with database.reads() as db:
            stopped = stopped_settlements(db, match)
        console = Console()
        for session in stopped:
            console.print(
                f"{session.id}  {session.cpo}  {session.demand_partner}  {session.stage}  {session.error_type}  "
                f"{'would ' if args.dry_run else ''}{session.action}",
                soft_wrap=True,
            )
        by_type: dict[str, int] = {}
        for session in stopped:
            by_type[session.error_type] = by_type.get(session.error_type, 0) + 1
        console.print(f"{len(stopped)} stopped settlement(s) match: {by_type or 'none'}")
        if args.dry_run or not stopped:
            return 0

        async def retry() -> int:
            client = await connect_temporal(settings.temporal_address, settings.temporal_namespace)
            with Progress(console=console, transient=True) as bar:
                task = bar.add_task("resuming and resetting", total=len(stopped))
                summary = await retry_settlements(
                    client,
                    database.writes,
                    stopped,
                    requested_by="networkcore settlement retry",
                    wait_s=args.wait,
                    progress=lambda n: bar.advance(task, n),
                )
            console.print(
                f"matched {summary.matched}, resumed {summary.signalled}, reset to CDR received {summary.reset}, "
                f"settled {summary.settled}, "
                f"not settled within {args.wait:.0f} s {len(summary.not_settled)}, "
                f"not reached {len(summary.not_reached)}"
            )
            for session_id, state in {**summary.not_settled, **summary.not_reached}.items():
                console.print(f"  {session_id}: {state}", soft_wrap=True)
            return 0 if summary.settled == summary.matched else 1

        return asyncio.run(retry())
