"""The outputs' pure parts: names and labels without secrets, what a commit owes each
output, the signature, the notification text, Home Assistant's discovery configs, and the
settings that turn outputs on."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest

from shelfcam.analysis.outputs import Committed, EndedEvent, RecordedEvent
from shelfcam.config import load_settings
from shelfcam.errors import ConfigError
from shelfcam.outputs import catalog, discovery, messages
from shelfcam.vocabulary import EVENT_TYPES, EventType


def recorded(event_type: EventType) -> RecordedEvent:
    return RecordedEvent(uuid.uuid4(), event_type, datetime.now(UTC), None, 0.8, {})


def test_names_are_stable_and_labels_keep_secrets_out() -> None:
    hook = "https://user:pa55word@ha.local:8123/api/webhook/s3cr3t-hook?token=abcdef123"
    found = catalog.specs(
        mqtt_url="mqtts://bob:hunter22@broker.lan",
        webhook_urls=[hook, hook],
        notify_urls=["tgram://123456:bot-token-xyz/987654"],
    )
    assert [s.name for s in found] == [
        "mqtt",
        catalog.output_name("webhook", hook),
        catalog.output_name("notify", "tgram://123456:bot-token-xyz/987654"),
    ]
    assert found[1].name == catalog.specs(mqtt_url=None, webhook_urls=[hook])[0].name
    assert [s.label for s in found] == [
        "mqtt mqtts://broker.lan",
        "webhook https://ha.local:8123",
        "notify tgram://",
    ]
    for spec in found:
        for secret in ("hunter22", "pa55word", "s3cr3t-hook", "abcdef123", "bot-token-xyz"):
            assert secret not in spec.name + spec.label + repr(spec)


def test_errors_are_redacted_of_every_part_of_the_url() -> None:
    url = "tgram://123456:bot-token-xyz/987654321"
    text = "Failed posting to https://api.telegram.org/bot123456:bot-token-xyz/ chat 987654321"
    shown = catalog.redact(text, [url])
    assert "bot-token-xyz" not in shown and "987654321" not in shown
    assert shown.startswith("Failed posting to")


def test_a_commit_owes_each_output_its_events_and_the_ends_it_wants() -> None:
    outputs = catalog.specs(
        mqtt_url="mqtt://broker",
        webhook_urls=["http://hook/"],
        notify_urls=["ntfys://topic"],
        notify_event_types=["stock_changed"],
    )
    stock, reach = recorded("stock_changed"), recorded("interaction_detected")
    ended = EndedEvent(uuid.uuid4(), datetime.now(UTC))
    owed = catalog.deliveries(Committed("cam", uuid.uuid4(), (reach, stock), (ended,)), outputs)
    by_output: dict[str, list[tuple[uuid.UUID, str]]] = {}
    for d in owed:
        by_output.setdefault(d.output, []).append((d.event_id, d.kind))
    everything = [(reach.event_id, "new"), (stock.event_id, "new"), (ended.event_id, "end")]
    assert by_output[outputs[0].name] == everything
    assert by_output[outputs[1].name] == everything
    assert by_output[outputs[2].name] == [(stock.event_id, "new")]
    assert catalog.deliveries(Committed("cam", uuid.uuid4()), outputs) == []


def test_the_signature_is_the_hmac_sha256_of_the_body() -> None:
    body = messages.encode(messages.event_message({"event_id": "e1", "x": [1, 2]}, "new"))
    assert json.loads(body) == {"event_id": "e1", "x": [1, 2], "type": "new"}
    expected = hmac.new(b"k" * 16, body, hashlib.sha256).hexdigest()
    assert messages.signature("k" * 16, body) == f"sha256={expected}"
    assert messages.signature("k" * 16, body + b" ") != f"sha256={expected}"


def event_json(event_type: str, **extra: object) -> dict[str, object]:
    started = datetime(2026, 5, 4, 12, 2, 30, tzinfo=UTC)
    return {
        "event_id": "0f7a6b8e-0000-4000-8000-000000000001",
        "device_id": "fridge",
        "event_type": event_type,
        "started_at": started.isoformat(),
        "ended_at": (started + timedelta(minutes=3)).isoformat(),
        "details": {"regions": [{"x": 0.05, "y": 0.05, "w": 0.1, "h": 0.1}]},
        **extra,
    }


def test_a_notification_reads_like_a_sentence() -> None:
    zone = timezone(timedelta(hours=2))
    note = messages.notification(
        event_json("stock_changed"), "new", zone, "http://pi:8000/events/x"
    )
    assert note.title == "Fridge: stock changed at 14:02"
    assert note.body.splitlines() == [
        "Stock changed on Fridge at 14:02:30 (Mon 04 May).",
        "Changed places: upper left.",
        "See it: http://pi:8000/events/x",
    ]
    ended = messages.notification(event_json("camera_obstructed"), "end", zone, None)
    assert ended.title == "Fridge: camera clear again at 14:05"
    assert messages.notification(event_json("empty_confirmed"), "new", zone, None).title == (
        "Fridge: shelf empty at 14:02"
    )


def test_places_say_where_in_the_picture() -> None:
    box = {"x": 0.7, "y": 0.7, "w": 0.2, "h": 0.2}
    assert messages.place(box) == "lower right"
    assert messages.place({"x": 0.4, "y": 0.4, "w": 0.2, "h": 0.2}) == "middle"
    assert messages.places([box] * 6) == ", ".join(["lower right"] * 4) + " and 2 more"


def test_discovery_gives_one_device_with_every_entity() -> None:
    topics = discovery.Topics("shelfcam")
    camera = discovery.Camera("pantry", "http://pi:8000/devices#device-pantry", "fw-1.2")
    found = discovery.configs("homeassistant", topics, camera, "0.1.0")
    assert [t for t, _ in found] == discovery.config_topics("homeassistant", "shelfcam", "pantry")
    assert {c["device"]["identifiers"][0] for _, c in found} == {"shelfcam_pantry"}
    assert len({c["unique_id"] for _, c in found}) == len(found)
    event = next(c for t, c in found if t.startswith("homeassistant/event/"))
    assert event["event_types"] == list(EVENT_TYPES)
    assert found[0][1]["device"]["sw_version"] == "fw-1.2"
    for _, config in found:
        assert config["availability_topic"] == "shelfcam/available"
        assert config["origin"] == {"name": "shelfcam", "sw_version": "0.1.0"}
    assert discovery.node_id("home/shelf cam", "a") == "home_shelf_cam_a"


def test_output_settings_are_checked_and_secrets_never_echoed() -> None:
    with pytest.raises(ConfigError, match=r"SHELFCAM_WEBHOOK_SECRET.*must be set") as info:
        load_settings(webhook_urls="http://hook/")
    with pytest.raises(ConfigError, match="SHELFCAM_MQTT_URL") as info:
        load_settings(mqtt_url="http://user:hunter22@broker")
    assert "hunter22" not in info.value.detail
    with pytest.raises(ConfigError, match="SHELFCAM_WEBHOOK_SECRET") as info:
        load_settings(webhook_urls="http://hook/", webhook_secret="short-s3cret")
    assert "short-s3cret" not in info.value.detail
    with pytest.raises(ConfigError, match="SHELFCAM_NOTIFY_EVENT_TYPES"):
        load_settings(notify_event_types="stock_changed,stock_taken")
    with pytest.raises(ConfigError, match="SHELFCAM_MQTT_PREFIX"):
        load_settings(mqtt_prefix="shelf/#")
    with pytest.raises(ConfigError, match="SHELFCAM_PUBLIC_URL"):
        load_settings(public_url="http://me:pw@pi.local")
    settings = load_settings(
        notify_urls=" ntfys://a , json://h/p ,",
        notify_event_types="scene_shifted, stock_changed",
        ha_discovery_prefix="",
        public_url="http://pi.local:8000/",
    )
    assert settings.notify_url_list == ("ntfys://a", "json://h/p")
    assert settings.notify_event_type_list == ("stock_changed", "scene_shifted")
    assert settings.ha_discovery_prefix == ""
    assert settings.public_url == "http://pi.local:8000"
    assert load_settings().mqtt_url is None, "off until configured"
