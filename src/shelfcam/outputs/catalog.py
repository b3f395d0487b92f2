"""Which outputs are configured, what each is called, and which deliveries a commit owes
each of them. Pure: the settings come in as values.

An output's *name* (``mqtt``, ``webhook-<8 hex>``, ``notify-<8 hex>``) keys its outbox
rows, its status and its metrics; it is derived from its URL, so it stays the same across
restarts and a reordered list, and reveals nothing of the URL. Its *label* is what people
see: the scheme and the host at most, never a user name, password, path or query (a
webhook's path or a Telegram URL's host can be its secret).
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urlsplit

from shelfcam.analysis.outputs import Committed
from shelfcam.vocabulary import EVENT_TYPES, DeliveryKind, EventType

OutputKind = Literal["mqtt", "webhook", "notify"]

REDACTED = "***"
MIN_SECRET_PART = 6
"""Parts of a URL shorter than this are not looked for in messages (``80``, ``api``)."""


@dataclass(frozen=True)
class OutputSpec:
    name: str
    kind: OutputKind
    label: str
    url: str = field(repr=False)
    """The URL with its credentials: handed to the client library, never shown."""
    event_types: frozenset[EventType] = frozenset(EVENT_TYPES)
    """Which new events it is told about."""
    ends: bool = True
    """Whether it is told when an obstructed, shifted or empty state ends."""


@dataclass(frozen=True)
class Delivery:
    """One row of the outbox: an output owes an event's news."""

    output: str
    event_id: uuid.UUID
    kind: DeliveryKind


def output_name(kind: OutputKind, url: str) -> str:
    if kind == "mqtt":
        return "mqtt"
    return f"{kind}-{hashlib.sha256(url.encode()).hexdigest()[:8]}"


def label(kind: OutputKind, url: str) -> str:
    """What people may see of an output: its kind and where it goes, without secrets."""
    parts = urlsplit(url)
    if kind == "notify":  # the host of an Apprise URL is often a token (tgram://TOKEN/...)
        return f"notify {parts.scheme}://"
    host = parts.hostname or "?"
    shown = f"[{host}]" if ":" in host else host
    try:
        port = parts.port
    except ValueError:
        port = None
    where = f"{parts.scheme}://{shown}" + (f":{port}" if port else "")
    return f"{kind} {where}"


def specs(
    *,
    mqtt_url: str | None,
    webhook_urls: Sequence[str] = (),
    notify_urls: Sequence[str] = (),
    notify_event_types: Iterable[EventType] = (),
) -> tuple[OutputSpec, ...]:
    """Every configured output, MQTT first, then webhooks and notifications in the order
    given (a URL given twice is one output)."""
    found: dict[str, OutputSpec] = {}
    if mqtt_url:
        found["mqtt"] = OutputSpec("mqtt", "mqtt", label("mqtt", mqtt_url), mqtt_url)
    for url in webhook_urls:
        name = output_name("webhook", url)
        found.setdefault(name, OutputSpec(name, "webhook", label("webhook", url), url))
    types = frozenset(notify_event_types)
    for url in notify_urls:
        name = output_name("notify", url)
        spec = OutputSpec(name, "notify", label("notify", url), url, types, ends=False)
        found.setdefault(name, spec)
    return tuple(found.values())


def deliveries(committed: Committed, outputs: Sequence[OutputSpec]) -> list[Delivery]:
    """What one frame's commit owes each output: its new events (of the types the output
    wants) and the ends of states (to those that want them), in the commit's order."""
    owed: list[Delivery] = []
    for spec in outputs:
        owed += [
            Delivery(spec.name, event.event_id, "new")
            for event in committed.events
            if event.event_type in spec.event_types
        ]
        if spec.ends:
            owed += [Delivery(spec.name, end.event_id, "end") for end in committed.ended]
    return owed


def secret_parts(url: str) -> list[str]:
    """The parts of a URL that may be secret: everything between its separators (user,
    password, host, port-shaped tokens, path segments, query values), and the whole."""
    rest = url.split("://", 1)[-1]
    found = [*re.split(r"[/:@?&=#;,]", rest), rest, url]
    return sorted({p for p in found if len(p) >= MIN_SECRET_PART}, key=len, reverse=True)


def redact(text: str, urls: Iterable[str]) -> str:
    """``text`` (an error, a library's message) with every part of these URLs that might
    be a secret replaced, on one line, at most 300 characters."""
    for url in urls:
        for part in secret_parts(url):
            text = text.replace(part, REDACTED)
    return re.sub(r"\s+", " ", text).strip()[:300]
