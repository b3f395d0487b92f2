"""The long-running commands and the database ones: serve, api, worker, puller, demo,
migrate, db url."""

from __future__ import annotations

import argparse
import asyncio
import sys

from shelfcam import logs, runtime
from shelfcam.config import Settings
from shelfcam.db.migrate import migrate


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    from shelfcam.web import server

    with runtime.database(settings) as url:
        migrate(url)
        server.run(settings, url, with_worker=args.command_name == "serve")
    return 0


def cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    from shelfcam.analysis.tasks import run_worker

    with runtime.database(settings) as url:
        migrate(url)
        asyncio.run(run_worker(settings, url))
    return 0


def cmd_puller(args: argparse.Namespace, settings: Settings) -> int:
    from shelfcam.pull.runner import run_puller

    with runtime.database(settings) as url:
        migrate(url)
        asyncio.run(run_puller(settings, url))
    return 0


def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    with runtime.database(settings) as url:
        applied = migrate(url)
    print(f"applied {len(applied)} migration(s)" if applied else "schema is up to date")
    return 0


def cmd_db_url(args: argparse.Namespace, settings: Settings) -> int:
    from shelfcam.db import embedded

    if not settings.database_url and not embedded.is_running(settings.embedded_pgdata):
        print(
            "note: the embedded PostgreSQL is not running; it stops again when this command "
            "ends. Start `shelfcam serve` to keep it up.",
            file=sys.stderr,
        )
    with runtime.database(settings) as url:
        print(url)
    return 0


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from shelfcam.demo import run_demo

    if args.log_level is None:  # the demo's own lines are the output; keep logs to warnings
        logs.configure("WARNING")
    return run_demo(settings)
