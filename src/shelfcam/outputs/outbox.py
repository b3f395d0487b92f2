"""The outbox, the analysis worker's side of the outputs: the deliveries a frame's commit
owes each configured output, written in that frame's transaction (so an event is never
committed without them, nor they without it). The deliverer (``outputs/delivery.py``)
makes them after the commit."""

from __future__ import annotations

from collections.abc import Sequence

from shelfcam.analysis.outputs import Committed
from shelfcam.config import Settings
from shelfcam.db import outputs as queries
from shelfcam.db.types import Conn
from shelfcam.outputs.catalog import OutputSpec, deliveries
from shelfcam.outputs.setup import configured


class Outbox:
    def __init__(self, outputs: Sequence[OutputSpec]) -> None:
        self.outputs = tuple(outputs)

    @classmethod
    def from_settings(cls, settings: Settings) -> Outbox:
        return cls(configured(settings))

    async def record(self, conn: Conn, committed: Committed) -> int:
        """Write what ``committed`` owes each output, in the caller's transaction; returns
        how many deliveries that is."""
        owed = deliveries(committed, self.outputs)
        await queries.insert_deliveries(conn, [(d.output, d.event_id, d.kind) for d in owed])
        return len(owed)
