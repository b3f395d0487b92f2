"""What every command shares: its handler type, the database it works on, JSON output."""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from shelfcam import runtime
from shelfcam.config import Settings
from shelfcam.db.connect import connection
from shelfcam.db.migrate import migrate
from shelfcam.db.types import Conn

Handler = Callable[[argparse.Namespace, Settings], int]
T = TypeVar("T")


def print_json(obj: Any) -> None:
    print(json.dumps(obj, separators=(",", ":"), default=str), flush=True)


def on_database(settings: Settings, work: Callable[[Conn], Awaitable[T]]) -> T:
    """Run ``work`` on one connection to the database in use (started if embedded and not
    running, stopped again after), with the schema brought up to date first."""

    async def run(url: str) -> T:
        async with connection(url) as conn:
            return await work(conn)

    with runtime.database(settings) as url:
        migrate(url)
        return asyncio.run(run(url))
