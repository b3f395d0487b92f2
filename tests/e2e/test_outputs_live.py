"""Outputs end to end: a live ``shelfcam serve`` with MQTT and a webhook on, cameras
uploading scenes over HTTP, and what a subscriber on a real Mosquitto and a webhook
receiver get (docs/integrations.md).

The machine's broker (127.0.0.1:1883, as in CI) is shared, so every run uses topic
prefixes of its own and clears what it retained; the broker restart uses a private
Mosquitto on a free port, never the machine's.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiomqtt
import anyio
import httpx
import psycopg
import pytest

from shelfcam import devices
from shelfcam.db.connect import connection
from shelfcam.sim.scenes import generate
from shelfcam.vocabulary import EVENT_TYPES
from tests.apps import new_device
from tests.e2e.processes import free_port, shelfcam_env, start, wait_healthy
from tests.receivers import (
    HttpReceiver,
    Subscriber,
    clear_retained,
    has_retained,
    http_receiver,
    machine_broker,
    private_mosquitto,
    subscriber,
    unique,
)
from tests.webapp import create_token

pytestmark = pytest.mark.anyio

FPS = 4
TAIL_S = 8
SECRET = "a-webhook-secret-of-the-tests"

# What Home Assistant's MQTT integration requires of a discovered entity of each
# component (its discovery schema), and what every entity needs to join a device.
REQUIRED = {
    "event": {"state_topic", "event_types"},
    "binary_sensor": {"state_topic"},
    "sensor": {"state_topic"},
    "image": {"image_topic"},
}
EVERY_ENTITY = {"unique_id", "name", "device", "availability_topic", "origin"}
DEVICE_KEYS = {"identifiers", "name", "model", "manufacturer", "sw_version", "configuration_url"}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def scene_frames(name: str) -> list[bytes]:
    frames = list(generate(name).frames)
    return frames + [frames[-1]] * (TAIL_S * FPS)


async def upload(base: str, token: str, frames: list[bytes]) -> None:
    start = datetime.now(UTC) - timedelta(seconds=len(frames) / FPS)
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        for seq, frame in enumerate(frames):
            captured = start + timedelta(milliseconds=seq * 1000 / FPS)
            answer = await client.post(
                "/api/v1/ingest/frame",
                content=frame,
                params={
                    "seq": seq,
                    "boot": "b1",
                    "captured_at": str(int(captured.timestamp() * 1000)),
                },
                headers={"X-API-Key": token, "Content-Type": "image/jpeg"},
            )
            assert answer.status_code == 201, answer.text


def events_in(db_url: str, device: str | None = None) -> list[dict[str, Any]]:
    with psycopg.connect(db_url) as conn:
        rows = conn.execute(
            "SELECT event_id::text, device_id, event_type, ended_at FROM events"
            " WHERE %(d)s::text IS NULL OR device_id = %(d)s ORDER BY created_at",
            {"d": device},
        ).fetchall()
    return [
        dict(zip(("event_id", "device_id", "event_type", "ended_at"), r, strict=True)) for r in rows
    ]


def outbox_waiting(db_url: str, output: str) -> int:
    with psycopg.connect(db_url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM output_outbox WHERE output = %s", (output,)
        ).fetchone()
    assert row is not None
    return int(row[0])


def queued(db_url: str) -> int:
    with psycopg.connect(db_url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM captures WHERE analysis_status = 'queued'"
        ).fetchone()
    assert row is not None
    return int(row[0])


async def analyzed(db_url: str) -> None:
    with anyio.fail_after(180):
        while queued(db_url):  # noqa: ASYNC110 - the database has no event to wait on
            await asyncio.sleep(0.1)


def new_ids(listening: Subscriber, topic: str) -> set[str]:
    return {h.json()["event_id"] for h in listening.on(topic) if h.json()["type"] == "new"}


@pytest.fixture
def serve(tmp_path: Path, db_url: str) -> Iterator[Any]:
    """Start ``shelfcam serve`` with extra settings; stopped with SIGTERM at the end."""
    started: list[subprocess.Popen[bytes]] = []

    def run(**settings: str) -> tuple[str, subprocess.Popen[bytes], Path]:
        port = free_port()
        log = tmp_path / f"serve-{len(started)}.log"
        env = shelfcam_env(
            tmp_path / "data", port, SHELFCAM_DATABASE_URL=db_url, SHELFCAM_LOG_LEVEL="INFO"
        )
        env.update(settings)
        proc = start(["serve"], env, log)
        started.append(proc)
        wait_healthy(port, proc, log)
        return f"http://127.0.0.1:{port}", proc, log

    yield run
    for proc in started:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=60)


@pytest.fixture
async def shared_broker() -> AsyncIterator[tuple[str, str, str]]:
    """The machine's broker and two prefixes of this test's own, cleared afterwards."""
    url = machine_broker()
    prefix, discovery = unique("shelfcam-test"), unique("ha-test")
    yield url, prefix, discovery
    await clear_retained(url, [prefix, discovery])


async def test_an_upload_reaches_mqtt_home_assistant_and_a_signed_webhook(
    serve: Any, db_url: str, shared_broker: tuple[str, str, str]
) -> None:
    url, prefix, discovery = shared_broker
    with http_receiver(HttpReceiver(secret=SECRET)) as hook:
        async with subscriber(url, [f"{prefix}/#", f"{discovery}/#"]) as heard:
            base, proc, log = serve(
                SHELFCAM_MQTT_URL=url,
                SHELFCAM_MQTT_PREFIX=prefix,
                SHELFCAM_HA_DISCOVERY_PREFIX=discovery,
                SHELFCAM_WEBHOOK_URLS=f"{hook.url}/hook",
                SHELFCAM_WEBHOOK_SECRET=SECRET,
                SHELFCAM_PUBLIC_URL="http://shelf.example:8000",
            )
            await heard.wait_until(
                lambda s: [h.payload for h in s.on(f"{prefix}/available")][-1:] == [b"online"],
                "online",
            )
            # Cameras added while it runs appear in Home Assistant at once.
            tokens = {name: await new_device(db_url, name) for name in ("pantry", "fridge")}
            node = f"{prefix}_pantry"
            config_topic = f"{discovery}/event/{node}/event/config"
            await heard.wait_until(lambda s: bool(s.on(config_topic)), "the event entity")

            await upload(base, tokens["pantry"], scene_frames("take_item"))
            await upload(base, tokens["fridge"], scene_frames("covered"))
            await analyzed(db_url)
            recorded = events_in(db_url)
            kinds = {(e["device_id"], e["event_type"]) for e in recorded}
            assert {("pantry", "interaction_detected"), ("pantry", "stock_changed")} <= kinds
            assert ("fridge", "camera_obstructed") in kinds
            ids = {e["event_id"] for e in recorded}
            ended = {e["event_id"] for e in recorded if e["event_type"] == "camera_obstructed"}
            assert all(e["ended_at"] for e in recorded if e["event_id"] in ended)

            await heard.wait_until(
                lambda s: new_ids(s, f"{prefix}/events") >= ids, "every event on /events"
            )
            await heard.wait_until(
                lambda s: any(
                    h.json()["type"] == "end" and h.json()["event_id"] in ended
                    for h in s.on(f"{prefix}/events")
                ),
                "the end of the obstruction",
            )
            await hook.arrived(lambda r: {m.json()["event_id"] for m in r.taken} >= ids)

            # The payload is the API's object for the event, plus "type".
            token = await create_token(db_url)
            interaction = next(e for e in recorded if e["event_type"] == "interaction_detected")
            async with httpx.AsyncClient(base_url=base) as client:
                api = await client.get(
                    f"/api/v1/events/{interaction['event_id']}",
                    headers={"Authorization": f"Bearer {token}"},
                )
            assert api.status_code == 200
            sent = next(
                h.json()
                for h in heard.on(f"{prefix}/events")
                if h.json()["event_id"] == interaction["event_id"]
            )
            assert sent.pop("type") == "new"
            assert sent == api.json()
            per_device = heard.on(f"{prefix}/pantry/events")
            assert interaction["event_id"] in {h.json()["event_id"] for h in per_device}

            # The webhook: every delivery signed with the secret, keyed by its event.
            assert hook.bad_signatures == 0
            for message in hook.taken:
                body = message.json()
                assert message.headers["x-shelfcam-event-id"] == body["event_id"]
                assert message.headers["content-type"] == "application/json"
                assert body["type"] in ("new", "end")
            webhook = next(
                m.json() for m in hook.taken if m.json()["event_id"] == interaction["event_id"]
            )
            assert webhook == {**api.json(), "type": "new"}

            # Home Assistant: one device per camera, each entity with what HA requires.
            configs = {
                h.topic: h.json()
                for h in heard.heard
                if h.topic.startswith(f"{discovery}/") and h.topic.endswith("/config") and h.payload
            }
            pantry = {t: c for t, c in configs.items() if f"/{node}/" in t}
            components = sorted(t.split("/")[1] for t in pantry)
            assert components == sorted(
                [
                    "event",
                    "binary_sensor",
                    "binary_sensor",
                    "binary_sensor",
                    "sensor",
                    "sensor",
                    "sensor",
                    "image",
                ]
            )
            for topic, config in pantry.items():
                component = topic.split("/")[1]
                assert REQUIRED[component] | EVERY_ENTITY <= set(config), topic
                assert set(config["device"]) >= DEVICE_KEYS, topic
                assert config["device"]["identifiers"] == [node]
                assert config["device"]["configuration_url"] == (
                    "http://shelf.example:8000/devices#device-pantry"
                )
                assert config["availability_topic"] == f"{prefix}/available"
                assert config["origin"]["name"] == "shelfcam"
                for key in ("state_topic", "image_topic"):
                    if key in config:
                        assert config[key].startswith(f"{prefix}/pantry/")
            event_entity = pantry[config_topic]
            assert event_entity["event_types"] == list(EVENT_TYPES)
            assert event_entity["state_topic"] == f"{prefix}/pantry/events"
            problem = [
                c
                for t, c in pantry.items()
                if "/binary_sensor/" in t and c.get("device_class") == "problem"
            ]
            assert sorted(c["state_topic"].rsplit("/", 1)[1] for c in problem) == [
                "obstructed",
                "shifted",
            ]

            # Home Assistant restarting asks for the configs again.
            before = len(heard.on(config_topic))
            broker = httpx.URL(url)
            async with aiomqtt.Client(broker.host, broker.port or 1883) as home_assistant:
                await home_assistant.publish(f"{discovery}/status", b"online", qos=1)
            await heard.wait_until(lambda s: len(s.on(config_topic)) > before, "configs again")

            # A revoked camera's entities are removed (empty retained configs).
            async with connection(db_url) as conn:
                assert await devices.revoke(conn, "fridge")
            fridge_event = f"{discovery}/event/{prefix}_fridge/event/config"
            await heard.wait_until(
                lambda s: [h.payload for h in s.on(fridge_event)][-1:] == [b""], "removal"
            )

        # What a newcomer (Home Assistant starting) finds retained.
        async with subscriber(url, [f"{prefix}/#"]) as late:
            wanted = {
                f"{prefix}/available": b"online",
                f"{prefix}/pantry/state/obstructed": b"OFF",
                f"{prefix}/pantry/state/shifted": b"OFF",
                f"{prefix}/pantry/state/empty": b"OFF",
                f"{prefix}/fridge/state/obstructed": b"OFF",
            }
            await late.wait_until(
                lambda s: all(
                    [h.payload for h in s.on(t) if h.retain][-1:] == [v] for t, v in wanted.items()
                ),
                "the retained states",
            )
            for event_type in ("interaction_detected", "stock_changed"):
                topic = f"{prefix}/pantry/{event_type}"
                await late.wait_until(has_retained(topic), f"the retained {event_type}")
                retained = [h for h in late.on(f"{prefix}/pantry/{event_type}") if h.retain]
                assert retained[-1].json()["event_type"] == event_type
            await late.wait_until(has_retained(f"{prefix}/pantry/snapshot"), "a snapshot")
            snapshot = [h for h in late.on(f"{prefix}/pantry/snapshot") if h.retain][-1]
            assert snapshot.payload[:2] == b"\xff\xd8", "a JPEG"
            await late.wait_until(has_retained(f"{prefix}/pantry/status"), "a status")
            status = [h for h in late.on(f"{prefix}/pantry/status") if h.retain][-1].json()
            assert set(status) >= {"last_seen", "frames_per_minute", "queue_depth"}
            assert status["last_seen"] is not None

            # /healthz and the devices page say how each output is doing.
            async with httpx.AsyncClient(base_url=base) as client:
                health = (await client.get("/healthz")).json()
            assert health["deliverer"] == "active"
            assert health["outputs"]["mqtt"]["state"] == "connected"
            assert health["outputs"]["mqtt"]["backlog"] == 0
            webhook_state = next(
                v for k, v in health["outputs"].items() if k.startswith("webhook-")
            )
            assert webhook_state["state"] == "delivering"
            assert webhook_state["last_delivery_age_s"] is not None

            # Stopping says offline.
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=60)
            await late.wait_until(
                lambda s: [h.payload for h in s.on(f"{prefix}/available")][-1:] == [b"offline"],
                "offline",
            )
    assert "Traceback" not in log.read_text()


async def health_until(base: str, done: Any, what: str) -> dict[str, Any]:
    """Poll /healthz until ``done(body)`` (a condition, polled)."""
    async with httpx.AsyncClient(base_url=base) as client:
        with anyio.fail_after(90):
            while True:
                body: dict[str, Any] = (await client.get("/healthz")).json()
                if done(body):
                    return body
                await asyncio.sleep(0.2)


async def test_a_broker_restarted_mid_run_loses_nothing(
    serve: Any, db_url: str, tmp_path: Path
) -> None:
    with private_mosquitto(tmp_path / "mosquitto") as broker:
        # A listener with a persistent session: the broker keeps what it is sent while
        # the listener reconnects, so what shelfcam published is what it hears.
        async with subscriber(broker.url, ["shelfcam/events"], session=unique("listener")) as heard:
            base, _, log = serve(SHELFCAM_MQTT_URL=broker.url)
            tokens = {name: await new_device(db_url, name) for name in ("pantry", "fridge")}
            await upload(base, tokens["pantry"], scene_frames("take_item"))
            await analyzed(db_url)
            before = {e["event_id"] for e in events_in(db_url)}
            assert before
            await heard.wait_until(
                lambda s: new_ids(s, "shelfcam/events") >= before, "the first events"
            )

            broker.stop()
            await health_until(
                base, lambda b: b["outputs"]["mqtt"]["state"] == "disconnected", "disconnected"
            )
            await upload(base, tokens["fridge"], scene_frames("take_item"))
            await analyzed(db_url)
            during = {e["event_id"] for e in events_in(db_url, "fridge")}
            assert during, "events happened while the broker was down"
            assert outbox_waiting(db_url, "mqtt") >= len(during), "they wait in the outbox"

            broker.start()
            every = {e["event_id"] for e in events_in(db_url)}
            await heard.wait_until(
                lambda s: new_ids(s, "shelfcam/events") >= every, "every event after the restart"
            )
            body = await health_until(
                base,
                lambda b: (
                    b["outputs"]["mqtt"]["state"] == "connected"
                    and b["outputs"]["mqtt"]["backlog"] == 0
                ),
                "connected again, nothing waiting",
            )
            assert body["outputs"]["mqtt"]["dropped"] == 0
            assert heard.connections >= 2, "the listener saw the broker go too"
    assert "action=mqtt_disconnected" in log.read_text()
    assert "action=output_retry output=mqtt" in log.read_text()
