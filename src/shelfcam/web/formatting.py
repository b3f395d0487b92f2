"""How times, durations and names read on the admin UI's pages (pure functions)."""

from __future__ import annotations

from datetime import datetime
from typing import cast

from shelfcam.vocabulary import EVENT_TYPE_LABELS, IMAGE_ROLE_LABELS, EventType, ImageRole


def duration(seconds: float | None) -> str:
    """``420`` -> ``"7 min"``: whole units, the two largest that matter."""
    if seconds is None:
        return "unknown"
    total = round(abs(seconds))
    if total < 60:
        return f"{total} s"
    minutes, secs = divmod(total, 60)
    if minutes < 60:
        return f"{minutes} min" if secs == 0 or minutes >= 10 else f"{minutes} min {secs} s"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h" if minutes == 0 else f"{hours} h {minutes} min"
    days, hours = divmod(hours, 24)
    return f"{days} d" if hours == 0 else f"{days} d {hours} h"


def relative(when: datetime, now: datetime) -> str:
    """``"3 min ago"``, ``"just now"``, ``"in 5 s"`` (a camera clock ahead of ours)."""
    delta = (now - when).total_seconds()
    if abs(delta) < 5:
        return "just now"
    text = duration(delta)
    # Relative times are rough: drop the second unit beyond a minute.
    if delta >= 60 or delta <= -60:
        text = " ".join(text.split()[:2])
    return f"{text} ago" if delta > 0 else f"in {text}"


def exact(when: datetime) -> str:
    """The time in the server's local zone with its offset, to the second."""
    local = when.astimezone()
    return local.strftime("%Y-%m-%d %H:%M:%S %Z").strip()


def type_label(event_type: str) -> str:
    """A type's label; an unknown one (from a newer version) reads as its words."""
    return EVENT_TYPE_LABELS.get(cast(EventType, event_type), event_type.replace("_", " "))


def role_label(role: str) -> str:
    return IMAGE_ROLE_LABELS.get(cast(ImageRole, role), role)
