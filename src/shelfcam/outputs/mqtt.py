"""MQTT (aiomqtt): every event on ``<prefix>/events``, each camera's latest event per type,
its states and its latest frame as retained topics, and Home Assistant's discovery
(docs/integrations.md has the topics and payloads).

One connection, kept by :meth:`MqttOutput.run` while this process is the deliverer: on
each (re)connection it says ``online`` on ``<prefix>/available`` (``offline`` is its last
will, and what it says when it stops), publishes every camera's discovery configs (and
clears those of revoked or deleted cameras), their states as the database has them and
their status, then lets the waiting deliveries go. Configs are sent again when Home
Assistant announces itself on ``<discovery prefix>/status``. A delivery and a camera
resync never interleave, so a retained state is always the latest one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from urllib.parse import unquote, urlsplit

import aiomqtt

from shelfcam import __version__
from shelfcam.db import outputs as queries
from shelfcam.db.types import Pool
from shelfcam.devices import list_devices, overview
from shelfcam.outputs import messages
from shelfcam.outputs.catalog import OutputSpec, redact
from shelfcam.outputs.discovery import (
    OFF,
    OFFLINE,
    ON,
    ONLINE,
    STATE_OF,
    Camera,
    Topics,
    config_topics,
    configs,
    status_payload,
)
from shelfcam.outputs.output import DeliveryFailed, Outgoing

log = logging.getLogger(__name__)

KEEPALIVE_S = 30
TIMEOUT_S = 10.0
CLOSE_TIMEOUT_S = 2.0
STATUS_EVERY_S = 30.0
RESYNC_EVERY_S = 300.0
FIRST_RETRY_S = 1.0
MAX_RETRY_S = 30.0
QOS = 1

StateSink = Callable[[bool, str | None], Awaitable[None]]
"""Told when the connection comes (True, None) or goes (False, why)."""


class MqttOutput:
    wants_frame = True

    def __init__(
        self,
        spec: OutputSpec,
        *,
        prefix: str,
        discovery_prefix: str,
        public_url: str,
        pool: Pool | None,
        on_state: StateSink | None = None,
    ) -> None:
        self.spec = spec
        self.topics = Topics(prefix)
        self.discovery_prefix = discovery_prefix
        self.public_url = public_url
        self.pool = pool
        self.on_state = on_state
        self.connected = False
        self._client: aiomqtt.Client | None = None
        self._order = asyncio.Lock()
        self._resync = asyncio.Event()
        self._reassert = False
        self._published: set[str] = set()
        """Cameras whose discovery configs this process has published."""
        self._stated: set[str] = set()
        """Cameras whose states this connection has published."""

    def _new_client(self, *, will: bool = True) -> aiomqtt.Client:
        """A client for one connection; ``will``: ``offline`` on ``<prefix>/available``
        should the connection be lost (not for a test message)."""
        parts = urlsplit(self.spec.url)
        tls = parts.scheme == "mqtts"
        return aiomqtt.Client(
            parts.hostname or "localhost",
            parts.port or (8883 if tls else 1883),
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            identifier=f"shelfcam-{uuid.uuid4().hex[:12]}",
            will=aiomqtt.Will(self.topics.available, OFFLINE, qos=QOS, retain=True)
            if will
            else None,
            tls_context=ssl.create_default_context() if tls else None,
            keepalive=KEEPALIVE_S,
            timeout=TIMEOUT_S,
        )

    def _why(self, err: BaseException) -> str:
        return redact(f"{type(err).__name__}: {err}", [self.spec.url])

    def devices_changed(self) -> None:
        """A camera was added, revoked or enabled again: resync the discovery configs."""
        self._resync.set()

    async def run(self) -> None:
        """Stay connected (reconnecting with growing waits) until cancelled."""
        delay = FIRST_RETRY_S
        while True:
            try:
                async with self._new_client() as client:
                    try:
                        await self._start(client)
                        delay = FIRST_RETRY_S
                        await self._serve(client)
                    except asyncio.CancelledError:
                        await self._say_offline(client)
                        raise
                why = "the connection ended"
            except aiomqtt.MqttError as err:
                why = self._why(err)
            finally:
                self._client, self.connected = None, False
            log.warning(
                "action=mqtt_disconnected output=%s retry_in_s=%.0f error=%s",
                self.spec.name,
                delay,
                why,
            )
            await self._tell(False, why)
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_RETRY_S)

    async def _tell(self, connected: bool, why: str | None) -> None:
        if self.on_state is not None:
            await self.on_state(connected, why)

    async def _say_offline(self, client: aiomqtt.Client) -> None:
        with contextlib.suppress(aiomqtt.MqttError, TimeoutError):
            await client.publish(
                self.topics.available, OFFLINE, qos=QOS, retain=True, timeout=CLOSE_TIMEOUT_S
            )

    async def _start(self, client: aiomqtt.Client) -> None:
        await client.publish(self.topics.available, ONLINE, qos=QOS, retain=True)
        await client.subscribe(self.topics.available, qos=QOS)
        if self.discovery_prefix:
            await client.subscribe(f"{self.discovery_prefix}/status", qos=QOS)
        self._stated = set()
        async with self._order:
            await self._sync(client)
        self._client, self.connected = client, True
        log.info("action=mqtt_connected output=%s", self.spec.name)
        await self._tell(True, None)

    async def _serve(self, client: aiomqtt.Client) -> None:
        """Listen and tick until the connection fails (raising what failed first)."""
        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(self._listen(client))
                group.create_task(self._tick(client))
        except BaseExceptionGroup as group:
            raise group.exceptions[0] from None

    async def _listen(self, client: aiomqtt.Client) -> None:
        async for message in client.messages:
            payload = message.payload
            text = payload.decode(errors="replace") if isinstance(payload, bytes) else payload
            if message.topic.matches(self.topics.available) and text == OFFLINE:
                # A last will (of an earlier deliverer, or ours kept by a broker that
                # stopped) arrived after we said online: say it again, from the ticker
                # (the listener must not wait on the broker).
                self._reassert = True
                self._resync.set()
            elif text == ONLINE and message.topic.matches(f"{self.discovery_prefix}/status"):
                log.info("action=mqtt_home_assistant_online output=%s", self.spec.name)
                self._resync.set()

    async def _tick(self, client: aiomqtt.Client) -> None:
        """Each camera's status every STATUS_EVERY_S; a resync when asked or now and then."""
        last_sync = asyncio.get_running_loop().time()
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._resync.wait(), timeout=STATUS_EVERY_S)
            now = asyncio.get_running_loop().time()
            if self._reassert:
                self._reassert = False
                await client.publish(self.topics.available, ONLINE, qos=QOS, retain=True)
            if self._resync.is_set() or now - last_sync > RESYNC_EVERY_S:
                self._resync.clear()
                last_sync = now
                async with self._order:
                    await self._sync(client)
            else:
                await self._publish_statuses(client)

    async def _sync(self, client: aiomqtt.Client) -> None:
        """Discovery configs for every active camera (cleared for revoked and deleted
        ones), their status, and the states of those this connection has not stated yet
        (as the database has them; deliveries keep them up to date after that)."""
        if self.pool is None:
            return
        async with self.pool.connection() as conn:
            cameras = await list_devices(conn)
            statuses = await overview.all_statuses(conn, datetime.now(UTC))
            open_states = await queries.open_states(conn, list(STATE_OF))
        firmware = {s.device_id: s.health.firmware for s in statuses}
        active = [str(d["device_id"]) for d in cameras if not d["revoked"]]
        gone = {str(d["device_id"]) for d in cameras if d["revoked"]}
        gone |= self._published - set(active)
        for device_id in sorted(gone):
            if self.discovery_prefix:
                for topic in config_topics(self.discovery_prefix, self.topics.prefix, device_id):
                    await client.publish(topic, b"", qos=QOS, retain=True)
            self._published.discard(device_id)
        on = {(str(r["device_id"]), str(r["event_type"])) for r in open_states}
        for device_id in active:
            if self.discovery_prefix:
                camera = Camera(device_id, self._camera_url(device_id), firmware.get(device_id))
                for topic, config in configs(
                    self.discovery_prefix, self.topics, camera, __version__
                ):
                    await client.publish(topic, messages.encode(config), qos=QOS, retain=True)
                self._published.add(device_id)
            if device_id not in self._stated:
                for event_type, name in STATE_OF.items():
                    state = ON if (device_id, event_type) in on else OFF
                    topic = self.topics.state(device_id, name)
                    await client.publish(topic, state, qos=QOS, retain=True)
                self._stated.add(device_id)
        await self._publish_statuses(client, statuses)

    async def _publish_statuses(
        self, client: aiomqtt.Client, statuses: list[overview.DeviceStatus] | None = None
    ) -> None:
        if statuses is None:
            if self.pool is None:
                return
            async with self.pool.connection() as conn:
                statuses = await overview.all_statuses(conn, datetime.now(UTC))
        for status in statuses:
            if status.state == "revoked":
                continue
            seen = status.last_seen_at.isoformat() if status.last_seen_at else None
            payload = status_payload(
                seen, status.frames_per_minute, status.queue_depth, status.state
            )
            topic = self.topics.status(status.device_id)
            await client.publish(topic, messages.encode(payload), qos=QOS, retain=True)

    def _camera_url(self, device_id: str) -> str:
        return f"{self.public_url}/devices#device-{device_id}"

    async def deliver(self, item: Outgoing) -> None:
        client = self._client
        if client is None:
            raise DeliveryFailed("not connected to the broker")
        payload = messages.encode(messages.event_message(item.event, item.kind))
        topics = self.topics
        try:
            async with self._order:
                await client.publish(topics.events, payload, qos=QOS)
                if item.kind == "new":
                    await client.publish(topics.device_events(item.device_id), payload, qos=QOS)
                latest = topics.latest(item.device_id, item.event_type)
                await client.publish(latest, payload, qos=QOS, retain=True)
                state = STATE_OF.get(item.event_type)
                if state is not None:
                    value = ON if item.kind == "new" else OFF
                    await client.publish(
                        topics.state(item.device_id, state), value, qos=QOS, retain=True
                    )
                if item.kind == "new" and item.frame is not None:
                    snapshot = topics.snapshot(item.device_id)
                    await client.publish(snapshot, item.frame, qos=QOS, retain=True)
        except aiomqtt.MqttError as err:
            raise DeliveryFailed(self._why(err)) from err

    async def check(self) -> str:
        message = {
            "type": "test",
            "sent_at": datetime.now(UTC).isoformat(),
            "message": "shelfcam outputs test: MQTT works",
        }
        try:
            async with self._new_client(will=False) as client:
                await client.publish(self.topics.test, messages.encode(message), qos=QOS)
        except aiomqtt.MqttError as err:
            raise DeliveryFailed(self._why(err)) from err
        return f"the broker took a message on {self.topics.test}"

    async def aclose(self) -> None:
        return None
