"""Type aliases shared by the query modules."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool

Row = dict[str, Any]
Conn = psycopg.AsyncConnection[Row]
Pool = AsyncConnectionPool[Conn]
