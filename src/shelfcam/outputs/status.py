"""Each configured output's state as people and /healthz see it: connected (MQTT), the
last delivery, the backlog, the last error and what was dropped. Read from the database,
so any process (an ``api`` beside the delivering ``worker``) shows the same."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from shelfcam.db import outputs as queries
from shelfcam.db.types import Conn, Row
from shelfcam.outputs.catalog import OutputKind, OutputSpec

State = Literal["connected", "disconnected", "delivering", "failing", "idle"]


@dataclass(frozen=True)
class OutputState:
    name: str
    kind: OutputKind
    label: str
    state: State
    connected: bool | None
    backlog: int
    oldest_waiting: datetime | None
    last_delivered_at: datetime | None
    delivered: int
    last_error: str | None
    last_error_at: datetime | None
    dropped: int
    last_dropped_at: datetime | None
    last_dropped: str | None

    def health(self, now: datetime) -> dict[str, Any]:
        """The /healthz view: no URL, no host."""
        return {
            "kind": self.kind,
            "state": self.state,
            "backlog": self.backlog,
            "oldest_waiting_age_s": _age(self.oldest_waiting, now),
            "last_delivery_age_s": _age(self.last_delivered_at, now),
            "last_error": self.last_error,
            "dropped": self.dropped,
        }


def _age(when: datetime | None, now: datetime) -> float | None:
    return None if when is None else round(max((now - when).total_seconds(), 0.0), 1)


def judge(kind: OutputKind, row: Row) -> State:
    """One word for an output's state: MQTT's connection; for the others, failing while
    the last error is newer than the last delivery and something waits."""
    if kind == "mqtt" and row["connected"] is not None:
        return "connected" if row["connected"] else "disconnected"
    error_at, delivered_at = row["last_error_at"], row["last_delivered_at"]
    newer_error = error_at is not None and (delivered_at is None or error_at > delivered_at)
    if row["backlog"] and newer_error:
        return "failing"
    if delivered_at is None and not row["backlog"]:
        return "idle"
    return "delivering"


async def states(conn: Conn, outputs: tuple[OutputSpec, ...]) -> list[OutputState]:
    rows = await queries.statuses(conn, [spec.name for spec in outputs])
    found = []
    for spec, row in zip(outputs, rows, strict=True):
        found.append(
            OutputState(
                name=spec.name,
                kind=spec.kind,
                label=spec.label,
                state=judge(spec.kind, row),
                connected=row["connected"],
                backlog=int(row["backlog"]),
                oldest_waiting=row["oldest"],
                last_delivered_at=row["last_delivered_at"],
                delivered=int(row["delivered"]),
                last_error=row["last_error"],
                last_error_at=row["last_error_at"],
                dropped=int(row["dropped"]),
                last_dropped_at=row["last_dropped_at"],
                last_dropped=row["last_dropped"],
            )
        )
    return found
