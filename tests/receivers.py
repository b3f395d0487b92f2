"""Real receivers for the outputs' tests: an HTTP server that takes webhooks (checking
their signature) and Apprise's json:// posts, an MQTT subscriber on a real broker, and a
private Mosquitto the broker-restart test may stop and start.

The machine's broker (SHELFCAM_TEST_MQTT_URL, default mqtt://127.0.0.1:1883) is shared:
tests use topic prefixes of their own and clear what they retained there.
"""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import hashlib
import hmac
import json
import os
import secrets
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiomqtt
import pytest

MQTT_ENV = "SHELFCAM_TEST_MQTT_URL"
DEFAULT_MQTT_URL = "mqtt://127.0.0.1:1883"
WAIT_S = 60.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def answers(host: str, port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=1):
        return True
    return False


def machine_broker() -> str:
    """The machine's MQTT broker, or skip saying why (as the PostgreSQL 15 run does)."""
    url = os.environ.get(MQTT_ENV, DEFAULT_MQTT_URL)
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 1883
    if not answers(host, port):
        pytest.skip(f"no MQTT broker answers at {host}:{port} (set {MQTT_ENV} to use another)")
    return url


def unique(word: str) -> str:
    return f"{word}-{secrets.token_hex(4)}"


# --- HTTP ---------------------------------------------------------------------------


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class HttpReceiver:
    """Takes POSTs; refuses the first ``refuse_first`` with ``refuse_status``. With a
    ``secret`` it checks each body's X-Shelfcam-Signature-256 and answers 401 (counted in
    ``bad_signatures``) to a wrong one."""

    secret: str | None = None
    refuse_first: int = 0
    refuse_status: int = 503
    answer_status: int = 200
    taken: list[Received] = field(default_factory=list)
    refused: list[Received] = field(default_factory=list)
    bad_signatures: int = 0
    lock: threading.Condition = field(default_factory=threading.Condition)
    url: str = ""

    def valid(self, body: bytes, header: str | None) -> bool:
        assert self.secret is not None
        expected = "sha256=" + hmac.new(self.secret.encode(), body, hashlib.sha256).hexdigest()
        return header is not None and hmac.compare_digest(header, expected)

    def handle(self, received: Received) -> int:
        with self.lock:
            if self.secret is not None and not self.valid(
                received.body, received.headers.get("x-shelfcam-signature-256")
            ):
                self.bad_signatures += 1
                status = 401
            elif len(self.refused) < self.refuse_first:
                self.refused.append(received)
                status = self.refuse_status
            else:
                self.taken.append(received)
                status = self.answer_status
            self.lock.notify_all()
        return status

    def _done(self, done: Callable[[HttpReceiver], bool]) -> bool:
        with self.lock:
            return done(self)

    async def arrived(self, done: Callable[[HttpReceiver], bool], within: float = WAIT_S) -> None:
        """Wait (without blocking the event loop) until ``done(self)``."""
        deadline = asyncio.get_running_loop().time() + within
        while not self._done(done):
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(
                    f"the receiver did not get what was expected: {len(self.taken)} taken, "
                    f"{len(self.refused)} refused, {self.bad_signatures} bad signatures"
                )
            await asyncio.sleep(0.05)  # polling a condition another thread changes


@contextlib.contextmanager
def http_receiver(receiver: HttpReceiver) -> Iterator[HttpReceiver]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            headers = {k.lower(): v for k, v in self.headers.items()}
            status = receiver.handle(Received(self.path, headers, body))
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()


# --- MQTT ---------------------------------------------------------------------------


@dataclass
class Heard:
    topic: str
    payload: bytes
    retain: bool

    def json(self) -> Any:
        return json.loads(self.payload)


class Subscriber:
    """An MQTT client in the test's event loop that keeps what it hears on ``topics``.

    With ``session`` it is a persistent session (clean_session off, QoS 1): the broker
    keeps what is published while it is away, and it reconnects by itself."""

    def __init__(self, url: str, topics: list[str], *, session: str | None = None) -> None:
        self.url = url
        self.topics = topics
        self.session = session
        self.heard: list[Heard] = []
        self.changed = asyncio.Event()
        self.connections = 0
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()

    def _client(self) -> aiomqtt.Client:
        parts = urlsplit(self.url)
        return aiomqtt.Client(
            parts.hostname or "127.0.0.1",
            parts.port or 1883,
            identifier=self.session,
            clean_session=False if self.session else None,
        )

    async def _run(self) -> None:
        while True:
            try:
                async with self._client() as client:
                    for topic in self.topics:
                        await client.subscribe(topic, qos=1)
                    self.connections += 1
                    self._ready.set()
                    async for message in client.messages:
                        payload = message.payload
                        data = payload if isinstance(payload, bytes) else str(payload).encode()
                        self.heard.append(Heard(str(message.topic), data, message.retain))
                        self.changed.set()
            except aiomqtt.MqttError:
                if self.session is None and not self._ready.is_set():
                    raise
            await asyncio.sleep(0.2)  # reconnect pace while the broker is away

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run())
        ready = asyncio.create_task(self._ready.wait())
        done, _ = await asyncio.wait({ready, self._task}, return_when=asyncio.FIRST_COMPLETED)
        if self._task in done:
            ready.cancel()
            self._task.result()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, aiomqtt.MqttError):
                await self._task

    def on(self, topic: str) -> list[Heard]:
        return [h for h in self.heard if h.topic == topic]

    async def wait_until(
        self, done: Callable[[Subscriber], bool], what: str, within: float = WAIT_S
    ) -> None:
        deadline = asyncio.get_running_loop().time() + within
        while not done(self):
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                topics = sorted({h.topic for h in self.heard})
                raise AssertionError(f"never heard {what}; heard on {topics}")
            self.changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), timeout=min(left, 1.0))


def has_retained(topic: str) -> Callable[[Subscriber], bool]:
    """A condition: a retained message was heard on ``topic``."""
    return lambda heard: any(h.retain for h in heard.on(topic))


@contextlib.asynccontextmanager
async def subscriber(
    url: str, topics: list[str], *, session: str | None = None
) -> AsyncIterator[Subscriber]:
    listening = Subscriber(url, topics, session=session)
    await listening.start()
    try:
        yield listening
    finally:
        await listening.stop()


async def clear_retained(url: str, prefixes: list[str]) -> None:
    """Delete what is retained under these prefixes (the machine's broker is shared)."""
    found: set[str] = set()
    async with subscriber(url, [f"{p}/#" for p in prefixes]) as listening:
        # Retained messages arrive at once after the subscription; a ping round trip
        # (publishing to a topic of our own and hearing it) says they all have.
        marker = f"{prefixes[0]}/__cleared__"
        parts = urlsplit(url)
        async with aiomqtt.Client(parts.hostname or "127.0.0.1", parts.port or 1883) as client:
            await client.publish(marker, b"x", qos=1)
        await listening.wait_until(lambda s: bool(s.on(marker)), "the marker")
        found = {h.topic for h in listening.heard if h.retain}
    parts = urlsplit(url)
    async with aiomqtt.Client(parts.hostname or "127.0.0.1", parts.port or 1883) as client:
        for topic in sorted(found):
            await client.publish(topic, b"", qos=1, retain=True)


# --- a private Mosquitto ------------------------------------------------------------


@dataclass
class Mosquitto:
    """A broker of the test's own on a free port, with persistence (so a restart keeps
    retained messages and persistent sessions, as a real install's does)."""

    folder: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self) -> None:
        config = self.folder / "mosquitto.conf"
        config.write_text(
            # Started as root, mosquitto would switch to its own user, which cannot
            # write into the test's folder: it stays the user running the tests.
            f"user {getpass.getuser()}\n"
            f"listener {self.port} 127.0.0.1\n"
            "allow_anonymous true\n"
            "persistence true\n"
            f"persistence_location {self.folder}/\n"
            "autosave_interval 1\n"
            f"log_dest file {self.folder}/mosquitto.log\n"
        )
        binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        self.process = subprocess.Popen([binary, "-c", str(config)], start_new_session=True)
        deadline = time.monotonic() + 20
        while not answers("127.0.0.1", self.port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                log = self.folder / "mosquitto.log"
                raise AssertionError(
                    f"mosquitto did not start: {log.read_text() if log.exists() else ''}"
                )
            time.sleep(0.05)  # polling a condition: the port answering

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)
        self.process = None


def mosquitto_binary() -> str:
    found = shutil.which("mosquitto") or (
        "/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None
    )
    if found is None:
        pytest.skip("mosquitto is not installed (apt-get install mosquitto; .ci/run does)")
    return found


@contextlib.contextmanager
def private_mosquitto(folder: Path) -> Iterator[Mosquitto]:
    mosquitto_binary()
    folder.mkdir(parents=True, exist_ok=True)
    broker = Mosquitto(folder)
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()
