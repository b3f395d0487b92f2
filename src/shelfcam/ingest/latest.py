"""Each camera's newest frame, as this process received it (pushed or pulled), held in
memory only for ``GET /api/v1/devices/{id}/latest.jpg``: one JPEG per camera, replaced by
the next, never written anywhere. With several API processes each knows the frames it
took itself (docs/cameras.md)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class LatestFrame:
    jpeg: bytes
    received_at: datetime


class LatestFrames:
    def __init__(self) -> None:
        self._frames: dict[str, LatestFrame] = {}

    def keep(self, device_id: str, jpeg: bytes, received_at: datetime) -> None:
        """Keep this frame unless a newer one is already held."""
        held = self._frames.get(device_id)
        if held is None or held.received_at <= received_at:
            self._frames[device_id] = LatestFrame(jpeg, received_at)

    def get(self, device_id: str) -> LatestFrame | None:
        return self._frames.get(device_id)

    def forget(self, device_id: str) -> None:
        self._frames.pop(device_id, None)
