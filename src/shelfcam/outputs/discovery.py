"""MQTT topics and Home Assistant's MQTT discovery, as values (docs/integrations.md has
the reference). Pure.

Every camera is one Home Assistant device, identified by the topic prefix and its name
(stable across restarts), with an ``event`` entity (the five event types), binary sensors
for obstructed, shifted (device class ``problem``) and empty, sensors for last seen,
frames per minute and the analysis queue, and an ``image`` entity showing the latest
event's frame. All are available while ``<prefix>/available`` says ``online``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Final

from shelfcam.vocabulary import EVENT_TYPES, EventType

ONLINE: Final = "online"
OFFLINE: Final = "offline"
ON: Final = "ON"
OFF: Final = "OFF"

STATE_OF: Final[dict[EventType, str]] = {
    "camera_obstructed": "obstructed",
    "scene_shifted": "shifted",
    "empty_confirmed": "empty",
}
"""The event types that open a state, and the state's topic name."""

MANUFACTURER: Final = "shelfcam"
MODEL: Final = "shelfcam camera"


@dataclass(frozen=True)
class Topics:
    """The topics under one prefix."""

    prefix: str

    @property
    def available(self) -> str:
        return f"{self.prefix}/available"

    @property
    def events(self) -> str:
        return f"{self.prefix}/events"

    @property
    def test(self) -> str:
        return f"{self.prefix}/test"

    def device_events(self, device_id: str) -> str:
        """The camera's new events (not retained): what its ``event`` entity listens to."""
        return f"{self.prefix}/{device_id}/events"

    def latest(self, device_id: str, event_type: EventType) -> str:
        return f"{self.prefix}/{device_id}/{event_type}"

    def state(self, device_id: str, name: str) -> str:
        return f"{self.prefix}/{device_id}/state/{name}"

    def snapshot(self, device_id: str) -> str:
        return f"{self.prefix}/{device_id}/snapshot"

    def status(self, device_id: str) -> str:
        """The camera's last seen, frames per minute and queue depth (JSON, retained)."""
        return f"{self.prefix}/{device_id}/status"


@dataclass(frozen=True)
class Camera:
    """What Home Assistant's device entry shows of a camera."""

    device_id: str
    configuration_url: str
    firmware: str | None = None


def node_id(prefix: str, device_id: str) -> str:
    """The discovery node of a camera: the prefix (as letters, digits and ``_``) and its
    name, so two installs on one broker keep their cameras apart."""
    return f"{re.sub(r'[^A-Za-z0-9_-]', '_', prefix)}_{device_id}"


def _entities(topics: Topics, device_id: str) -> list[tuple[str, str, dict[str, Any]]]:
    """(component, object id, the entity's own keys) of one camera."""
    status = topics.status(device_id)
    return [
        (
            "event",
            "event",
            {
                "name": "Event",
                "state_topic": topics.device_events(device_id),
                "event_types": list(EVENT_TYPES),
                # The event's attributes in Home Assistant: a few fields, not the details.
                "value_template": "{{ {'event_type': value_json.event_type, "
                "'event_id': value_json.event_id, 'started_at': value_json.started_at, "
                "'confidence': value_json.confidence} | to_json }}",
            },
        ),
        (
            "binary_sensor",
            "obstructed",
            {
                "name": "Obstructed",
                "state_topic": topics.state(device_id, "obstructed"),
                "device_class": "problem",
                "payload_on": ON,
                "payload_off": OFF,
            },
        ),
        (
            "binary_sensor",
            "shifted",
            {
                "name": "Shifted",
                "state_topic": topics.state(device_id, "shifted"),
                "device_class": "problem",
                "payload_on": ON,
                "payload_off": OFF,
            },
        ),
        (
            "binary_sensor",
            "empty",
            {
                "name": "Empty",
                "state_topic": topics.state(device_id, "empty"),
                "payload_on": ON,
                "payload_off": OFF,
                "icon": "mdi:package-variant",
            },
        ),
        (
            "sensor",
            "last_seen",
            {
                "name": "Last seen",
                "state_topic": status,
                "value_template": "{{ value_json.last_seen }}",
                "device_class": "timestamp",
                "entity_category": "diagnostic",
            },
        ),
        (
            "sensor",
            "frames_per_minute",
            {
                "name": "Frames per minute",
                "state_topic": status,
                "value_template": "{{ value_json.frames_per_minute }}",
                "unit_of_measurement": "frames/min",
                "state_class": "measurement",
                "entity_category": "diagnostic",
            },
        ),
        (
            "sensor",
            "queue_depth",
            {
                "name": "Analysis queue",
                "state_topic": status,
                "value_template": "{{ value_json.queue_depth }}",
                "unit_of_measurement": "frames",
                "state_class": "measurement",
                "entity_category": "diagnostic",
            },
        ),
        (
            "image",
            "snapshot",
            {
                "name": "Latest event",
                "image_topic": topics.snapshot(device_id),
                "content_type": "image/jpeg",
            },
        ),
    ]


def config_topics(discovery_prefix: str, mqtt_prefix: str, device_id: str) -> list[str]:
    """Every discovery config topic of one camera (to publish or to clear)."""
    node = node_id(mqtt_prefix, device_id)
    return [
        f"{discovery_prefix}/{component}/{node}/{object_id}/config"
        for component, object_id, _ in _entities(Topics(mqtt_prefix), device_id)
    ]


def configs(
    discovery_prefix: str, topics: Topics, camera: Camera, sw_version: str
) -> list[tuple[str, dict[str, Any]]]:
    """(config topic, config) of each of a camera's entities."""
    node = node_id(topics.prefix, camera.device_id)
    device = {
        "identifiers": [node],
        "name": camera.device_id,
        "manufacturer": MANUFACTURER,
        "model": MODEL,
        "sw_version": camera.firmware or sw_version,
        "configuration_url": camera.configuration_url,
    }
    origin = {"name": "shelfcam", "sw_version": sw_version}
    found = []
    for component, object_id, own in _entities(topics, camera.device_id):
        config = {
            **own,
            "unique_id": f"{node}_{object_id}",
            "availability_topic": topics.available,
            "payload_available": ONLINE,
            "payload_not_available": OFFLINE,
            "device": device,
            "origin": origin,
        }
        found.append((f"{discovery_prefix}/{component}/{node}/{object_id}/config", config))
    return found


def status_payload(
    last_seen: str | None, frames_per_minute: float, queue_depth: int, state: str
) -> dict[str, Any]:
    """What ``<prefix>/<device_id>/status`` holds."""
    return {
        "last_seen": last_seen,
        "frames_per_minute": frames_per_minute,
        "queue_depth": queue_depth,
        "state": state,
    }
