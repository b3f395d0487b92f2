"""The deliverer against real receivers: webhooks signed and retried with growing waits,
refusals and bounds dropped and said, Apprise through its json:// target, the state on
/healthz and the devices page, and ``shelfcam outputs test``."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import anyio
import psycopg
import pytest

from shelfcam.activity import timeline
from shelfcam.analysis.outputs import Committed, EndedEvent, RecordedEvent
from shelfcam.cli import main
from shelfcam.config import Settings, load_settings
from shelfcam.db.connect import open_pool
from shelfcam.db.types import Pool
from shelfcam.frames.files import FileFrameStore
from shelfcam.metrics import Metrics
from shelfcam.outputs import delivery
from shelfcam.outputs.delivery import Lane, OutputsRunner, running_outputs
from shelfcam.outputs.outbox import Outbox
from shelfcam.outputs.probe import send_test_messages
from shelfcam.outputs.setup import build, configured
from shelfcam.vocabulary import EventType
from shelfcam.web.schemas import event_out
from tests.events_seed import seed_event, taken_region
from tests.receivers import (
    HttpReceiver,
    free_port,
    http_receiver,
    machine_broker,
    subscriber,
    unique,
)
from tests.webapp import create_user, login, running_app

pytestmark = pytest.mark.anyio

SECRET = "the-webhook-secret-of-this-test"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def pool(db_url: str) -> AsyncIterator[Pool]:
    opened = await open_pool(db_url, size=6)
    try:
        yield opened
    finally:
        await opened.close()


def seed(db_url: str, data_dir: Path, device: str, event_type: str, **extra: Any) -> uuid.UUID:
    with psycopg.connect(db_url, autocommit=True) as conn:
        return seed_event(
            conn,
            FileFrameStore(data_dir),
            device_id=device,
            event_type=event_type,
            started_at=datetime.now(UTC) - timedelta(minutes=1),
            **extra,
        )


async def record(
    pool: Pool,
    settings: Settings,
    device: str,
    new: list[tuple[uuid.UUID, EventType]],
    ended: Sequence[uuid.UUID] = (),
) -> int:
    """What the worker does in its transaction: the outbox rows of one commit."""
    events = tuple(
        RecordedEvent(event_id, event_type, datetime.now(UTC), None, 0.9, {})
        for event_id, event_type in new
    )
    ends = tuple(EndedEvent(event_id, datetime.now(UTC)) for event_id in ended)
    async with pool.connection() as conn, conn.transaction():
        return await Outbox.from_settings(settings).record(
            conn, Committed(device, uuid.uuid4(), events, ends)
        )


async def api_json(pool: Pool, data_dir: Path, event_id: uuid.UUID) -> dict[str, Any]:
    async with pool.connection() as conn:
        event = await timeline.get_event(conn, FileFrameStore(data_dir), event_id)
    return event_out(event).model_dump(mode="json")


def status_of(db_url: str, output: str) -> dict[str, Any]:
    with psycopg.connect(db_url) as conn:
        cur = conn.execute("SELECT * FROM output_status WHERE output = %s", (output,))
        row = cur.fetchone()
        assert row is not None, f"no status for {output}"
        names = [c.name for c in cur.description or []]
    return dict(zip(names, row, strict=True))


def waiting(db_url: str) -> int:
    with psycopg.connect(db_url) as conn:
        row = conn.execute("SELECT count(*) FROM output_outbox").fetchone()
    assert row is not None
    return int(row[0])


async def until(check: Callable[[], bool], within: float = 60) -> None:
    with anyio.fail_after(within):
        while not check():  # noqa: ASYNC110 - the database has no event to wait on
            await asyncio.sleep(0.05)


async def test_a_webhook_refused_three_times_gets_each_event_signed_in_order(
    db_url: str, tmp_path: Path, pool: Pool
) -> None:
    data = tmp_path / "data"
    first = seed(db_url, data, "pantry", "stock_changed")
    second = seed(db_url, data, "pantry", "camera_obstructed")
    with http_receiver(HttpReceiver(secret=SECRET, refuse_first=3)) as hook:
        settings = load_settings(
            database_url=db_url,
            data_dir=data,
            webhook_urls=f"{hook.url}/in",
            webhook_secret=SECRET,
        )
        name = configured(settings)[0].name
        assert await record(pool, settings, "pantry", [(first, "stock_changed")]) == 1
        await record(pool, settings, "pantry", [(second, "camera_obstructed")], ended=[second])
        metrics = Metrics()
        async with running_outputs(settings, pool, FileFrameStore(data), metrics) as runner:
            assert runner is not None
            await hook.arrived(lambda r: len(r.taken) == 3)
            # The receiver holds the message before the deliverer marks it delivered.
            await until(lambda: metrics.output_deliveries.labels(name)._value.get() == 3)
    assert hook.bad_signatures == 0, "every delivery carried a valid signature"
    # The first delivery was refused three times, and nothing overtook it.
    assert [m.json()["event_id"] for m in hook.refused] == [str(first)] * 3
    sent = [(m.json()["event_id"], m.json()["type"]) for m in hook.taken]
    assert sent == [(str(first), "new"), (str(second), "new"), (str(second), "end")]
    assert [m.headers["x-shelfcam-event-id"] for m in hook.taken] == [e for e, _ in sent]
    assert hook.taken[0].json() == {**await api_json(pool, data, first), "type": "new"}
    status = status_of(db_url, name)
    assert (status["delivered"], status["failed"], status["dropped"]) == (3, 3, 0)
    assert status["last_error"] == "answered 503 Service Unavailable"
    assert waiting(db_url) == 0
    assert metrics.output_failures.labels(name)._value.get() == 3
    assert metrics.output_deliveries.labels(name)._value.get() == 3


def test_the_waits_between_tries_grow() -> None:
    waits = [delivery.retry_wait(n) for n in range(1, 12)]
    assert waits[:4] == [1.0, 2.0, 4.0, 8.0]
    assert waits == sorted(waits)
    assert waits[-1] == delivery.MAX_WAIT_S


async def test_a_refused_delivery_is_dropped_logged_and_counted(
    db_url: str, tmp_path: Path, pool: Pool, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    data = tmp_path / "data"
    refused = seed(db_url, data, "pantry", "stock_changed")
    taken = seed(db_url, data, "pantry", "stock_changed")
    with http_receiver(HttpReceiver(secret=SECRET, refuse_first=1, refuse_status=410)) as hook:
        settings = load_settings(
            database_url=db_url, data_dir=data, webhook_urls=hook.url, webhook_secret=SECRET
        )
        await record(pool, settings, "pantry", [(refused, "stock_changed")])
        await record(pool, settings, "pantry", [(taken, "stock_changed")])
        metrics = Metrics()
        async with running_outputs(settings, pool, FileFrameStore(data), metrics):
            await hook.arrived(lambda r: len(r.taken) == 1)
    assert [m.json()["event_id"] for m in hook.taken] == [str(taken)]
    name = configured(settings)[0].name
    status = status_of(db_url, name)
    assert status["dropped"] == 1
    assert status["last_dropped"] == "refused: answered 410 Gone"
    assert metrics.output_dropped.labels(name, "refused")._value.get() == 1
    assert f"action=output_dropped output={name} count=1" in caplog.text
    assert f"events={refused}:new" in caplog.text


async def test_deliveries_past_the_bounds_are_dropped_and_named(
    db_url: str, tmp_path: Path, pool: Pool, caplog: pytest.LogCaptureFixture
) -> None:
    """A receiver down for longer than SHELFCAM_OUTPUT_MAX_AGE_HOURS, or more waiting than
    SHELFCAM_OUTPUT_MAX_BACKLOG: the oldest go, each named in the log."""
    caplog.set_level(logging.INFO)
    data = tmp_path / "data"
    settings = load_settings(
        database_url=db_url,
        data_dir=data,
        webhook_urls=f"http://127.0.0.1:{free_port()}/down",
        webhook_secret=SECRET,
        output_max_age_hours=2,
        output_max_backlog=100,
    )
    stale = seed(db_url, data, "pantry", "stock_changed")
    await record(pool, settings, "pantry", [(stale, "stock_changed")])
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("UPDATE output_outbox SET created_at = now() - interval '3 hours'")
    recent = [seed(db_url, data, "pantry", "interaction_detected") for _ in range(103)]
    for event_id in recent:
        await record(pool, settings, "pantry", [(event_id, "interaction_detected")])
    runner = OutputsRunner(settings, pool, FileFrameStore(data), Metrics())
    lane = Lane(runner, build(settings, pool)[0])
    await lane.prune()
    with psycopg.connect(db_url) as conn:
        left = [str(r[0]) for r in conn.execute("SELECT event_id FROM output_outbox ORDER BY 1")]
    assert sorted(left) == sorted(str(e) for e in recent[3:]), "the newest 100 stay"
    status = status_of(db_url, lane.name)
    assert status["dropped"] == 4
    assert status["last_dropped"] == "more than 100 deliveries waiting"
    assert f"count=1 reason=not delivered within 2 h events={stale}:new" in caplog.text
    assert f"count=3 reason=more than 100 deliveries waiting events={recent[0]}:new" in (
        caplog.text
    )


async def test_apprise_json_gets_a_notification_a_person_reads_with_the_frame(
    db_url: str, tmp_path: Path, pool: Pool
) -> None:
    data = tmp_path / "data"
    stock = seed(db_url, data, "fridge-top", "stock_changed")
    reach = seed(db_url, data, "fridge-top", "interaction_detected")
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(
            "UPDATE events SET details = details || %s::jsonb WHERE event_id = %s",
            (json.dumps({"regions": [taken_region()]}), stock),
        )
    with http_receiver(HttpReceiver(refuse_first=1, refuse_status=500)) as target:
        port = target.url.rsplit(":", 1)[1]
        settings = load_settings(
            database_url=db_url,
            data_dir=data,
            notify_urls=f"json://127.0.0.1:{port}/notify",
            public_url="http://shelf.example:8000",
        )
        spec = configured(settings)[0]
        owed = await record(
            pool,
            settings,
            "fridge-top",
            [(stock, "stock_changed"), (reach, "interaction_detected")],
        )
        assert owed == 1, "interactions are not among the default notification types"
        async with running_outputs(settings, pool, FileFrameStore(data), Metrics()):
            await target.arrived(lambda r: len(r.taken) == 1)
            await until(lambda: status_of(db_url, spec.name)["delivered"] == 1)
    failed = status_of(db_url, spec.name)
    assert "500" in failed["last_error"] and failed["delivered"] == 1
    assert str(port) not in failed["last_error"], "nothing of the URL is shown"
    note = target.taken[0].json()
    when = datetime.fromisoformat((await api_json(pool, data, stock))["started_at"])
    assert note["title"] == f"Fridge top: stock changed at {when.astimezone():%H:%M}"
    assert "Changed places: middle." in note["message"]  # the taken item sits mid-shelf
    assert f"See it: http://shelf.example:8000/events/{stock}" in note["message"]
    (attached,) = note["attachments"]
    assert attached["mimetype"] == "image/jpeg"
    assert base64.b64decode(attached["base64"])[:2] == b"\xff\xd8"
    assert target.taken[0].path == "/notify"


async def test_healthz_and_the_devices_page_show_each_output(
    db_url: str, tmp_path: Path, pool: Pool
) -> None:
    data = tmp_path / "data"
    event_id = seed(db_url, data, "pantry", "stock_changed")
    secret_path = "/api/webhook/very-secret-hook-id"
    with http_receiver(HttpReceiver(secret=SECRET, refuse_first=100)) as hook:
        settings_kw: dict[str, Any] = {
            "webhook_urls": f"{hook.url}{secret_path}",
            "webhook_secret": SECRET,
            "notify_urls": "tgram://123456789:secret-bot-token/4242",
        }
        settings = load_settings(database_url=db_url, data_dir=data, **settings_kw)
        await record(pool, settings, "pantry", [(event_id, "stock_changed")])
        async with running_outputs(settings, pool, FileFrameStore(data), Metrics()):
            await hook.arrived(lambda r: len(r.refused) >= 1)
            await until(
                lambda: (
                    waiting(db_url) >= 1
                    and "answered 503"
                    in str(status_of(db_url, configured(settings)[0].name)["last_error"])
                )
            )
        await create_user(db_url)
        async with running_app(db_url, data, **settings_kw) as web:
            health = (await web.client.get("/healthz")).json()
            await login(web.client)
            page = (await web.client.get("/devices")).text
    webhook = configured(settings)[0].name
    assert health["outputs"][webhook]["state"] == "failing"
    assert health["outputs"][webhook]["backlog"] == 1
    assert health["outputs"][webhook]["last_error"] == "answered 503 Service Unavailable"
    assert health["deliverer"] == "not in this process"
    assert health["status"] == "ok", "an output that is down does not make shelfcam unhealthy"
    assert f'id="output-{webhook}"' in page
    assert "webhook http://127.0.0.1:" in page
    assert "answered 503 Service Unavailable" in page
    assert "1 waiting" in page
    assert "notify tgram://" in page
    for secret in ("very-secret-hook-id", "secret-bot-token", "123456789", SECRET):
        assert secret not in page
        assert secret not in str(health)


def test_outputs_test_says_what_each_output_answered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with (
        http_receiver(HttpReceiver(secret=SECRET)) as hook,
        http_receiver(HttpReceiver()) as notes,
    ):
        down = f"http://127.0.0.1:{free_port()}/down"
        monkeypatch.setenv("SHELFCAM_WEBHOOK_URLS", f"{hook.url}/ok,{down}")
        monkeypatch.setenv("SHELFCAM_WEBHOOK_SECRET", SECRET)
        monkeypatch.setenv(
            "SHELFCAM_NOTIFY_URLS", f"json://127.0.0.1:{notes.url.rsplit(':', 1)[1]}/n"
        )
        monkeypatch.setenv("SHELFCAM_DATA_DIR", str(tmp_path))
        assert main(["outputs", "test"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 3
    ok_hook, failed_hook, ok_note = out
    assert " ok " in ok_hook and "answered 200 OK" in ok_hook
    assert "FAILED" in failed_hook and "no answer" in failed_hook
    assert " ok " in ok_note and "delivered" in ok_note
    assert hook.taken[0].json()["type"] == "test"
    assert hook.bad_signatures == 0
    assert notes.taken[0].json()["title"] == "shelfcam: test notification"
    assert "/down" not in "\n".join(out), "paths are not shown"


def test_outputs_test_without_outputs_says_how_to_configure_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for key in ("SHELFCAM_MQTT_URL", "SHELFCAM_WEBHOOK_URLS", "SHELFCAM_NOTIFY_URLS"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("SHELFCAM_DATA_DIR", str(tmp_path))
    assert main(["outputs", "test"]) == 1
    assert "SHELFCAM_MQTT_URL" in capsys.readouterr().err


async def test_outputs_test_reaches_the_broker(tmp_path: Path) -> None:
    url = machine_broker()
    prefix = unique("shelfcam-test")
    settings = load_settings(data_dir=tmp_path, mqtt_url=url, mqtt_prefix=prefix)
    async with subscriber(url, [f"{prefix}/#"]) as heard:
        (answer,) = await send_test_messages(settings)
        await heard.wait_until(lambda s: bool(s.on(f"{prefix}/test")), "the test message")
    assert heard.on(f"{prefix}/test")[0].json()["type"] == "test"
    assert not heard.on(f"{prefix}/available"), "a test connection leaves no availability"
    assert answer.ok and answer.name == "mqtt"
    assert answer.said == f"the broker took a message on {prefix}/test"


async def test_deliveries_of_an_output_no_longer_configured_are_dropped(
    db_url: str, tmp_path: Path, pool: Pool, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    data = tmp_path / "data"
    event_id = seed(db_url, data, "pantry", "stock_changed")
    old = load_settings(
        database_url=db_url,
        data_dir=data,
        webhook_urls="http://old.example/",
        webhook_secret=SECRET,
    )
    await record(pool, old, "pantry", [(event_id, "stock_changed")])
    with http_receiver(HttpReceiver(secret=SECRET)) as hook:
        now = load_settings(
            database_url=db_url, data_dir=data, webhook_urls=hook.url, webhook_secret=SECRET
        )
        await record(pool, now, "pantry", [(event_id, "stock_changed")])
        async with running_outputs(now, pool, FileFrameStore(data), Metrics()):
            await hook.arrived(lambda r: len(r.taken) == 1)
            await until(lambda: waiting(db_url) == 0)
    gone = configured(old)[0].name
    assert f"output={gone} count=1 reason=the output is no longer configured" in caplog.text


async def test_one_process_delivers_and_another_takes_over_when_it_stops(
    db_url: str, tmp_path: Path, pool: Pool
) -> None:
    """Many workers against one database: one deliverer at a time, the others standing by."""
    data = tmp_path / "data"
    first = seed(db_url, data, "pantry", "stock_changed")
    second = seed(db_url, data, "pantry", "stock_changed")
    other_pool = await open_pool(db_url, size=4)
    try:
        with http_receiver(HttpReceiver(secret=SECRET)) as hook:
            settings = load_settings(
                database_url=db_url, data_dir=data, webhook_urls=hook.url, webhook_secret=SECRET
            )
            store = FileFrameStore(data)
            leading = running_outputs(settings, pool, store, Metrics())
            leader = await leading.__aenter__()
            assert leader is not None
            try:
                await until(lambda: leader.role == "active")
                async with running_outputs(settings, other_pool, store, Metrics()) as other:
                    assert other is not None
                    await until(lambda: other.role == "standby")
                    await record(pool, settings, "pantry", [(first, "stock_changed")])
                    await hook.arrived(lambda r: len(r.taken) == 1)
                    await leading.__aexit__(None, None, None)  # the leader's process stops
                    await until(lambda: other.role == "active", within=30)
                    await record(pool, settings, "pantry", [(second, "stock_changed")])
                    await hook.arrived(lambda r: len(r.taken) == 2)
            finally:
                if leader.role != "starting":
                    await leading.__aexit__(None, None, None)
    finally:
        await other_pool.close()
    assert [m.json()["event_id"] for m in hook.taken] == [str(first), str(second)]
