"""Engine time (docs/architecture.md, "Clocks"): the camera's clock when it can be trusted.

Pure: every time is an argument. A camera's ``captured_at`` is used when it is sane: not
more than a minute in the future of ``received_at`` and not older than the staging window.
Otherwise the server's ``received_at`` is the engine time, so durations stay meaningful
for cameras whose clock is unset after boot. Either way it never goes back before the
device's previous frame.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

FUTURE_TOLERANCE = timedelta(minutes=1)


@dataclass(frozen=True)
class EngineTime:
    t: datetime
    source: Literal["camera", "server"]
    reason: str


def engine_time(
    captured_at: datetime | None,
    received_at: datetime,
    previous: datetime | None,
    window: timedelta,
) -> EngineTime:
    """Choose the frame's engine time; ``previous`` is the device's last engine time.

    Engine time never goes backwards for a device: a camera that restarts with its clock
    behind continues from where the previous frame left off.
    """
    if captured_at is None:
        chosen = EngineTime(received_at, "server", "no_camera_time")
    elif captured_at > received_at + FUTURE_TOLERANCE:
        chosen = EngineTime(received_at, "server", "camera_time_in_future")
    elif captured_at < received_at - window:
        chosen = EngineTime(received_at, "server", "camera_time_too_old")
    else:
        chosen = EngineTime(captured_at, "camera", "camera_time_sane")
    if previous is not None and chosen.t < previous:
        return EngineTime(previous, chosen.source, "clock_went_backwards")
    return chosen


def is_late(boot_id: str, seq: int | None, last_boot_id: str | None, last_seq: int | None) -> bool:
    """A frame of the same boot with a sequence number not after the last one analyzed."""
    return (
        seq is not None
        and last_seq is not None
        and last_boot_id is not None
        and boot_id == last_boot_id
        and seq <= last_seq
    )
