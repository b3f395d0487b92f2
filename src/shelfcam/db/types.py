"""Type aliases shared by the query modules."""

from __future__ import annotations

from typing import Any

import psycopg

from shelfcam.db.pool import WatchedPool

Row = dict[str, Any]
Conn = psycopg.AsyncConnection[Row]
Pool = WatchedPool
