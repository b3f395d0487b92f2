"""Type aliases shared by the query modules."""

from __future__ import annotations

from typing import Any

import psycopg

Row = dict[str, Any]
Conn = psycopg.AsyncConnection[Row]
