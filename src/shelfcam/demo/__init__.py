"""``shelfcam demo``: everything ``serve`` runs, with two simulated cameras at work.

The database (embedded unless ``SHELFCAM_DATABASE_URL`` is set), the API, the admin UI,
the worker and its scheduler run as in ``shelfcam serve``. Two cameras, ``demo-pantry``
and ``demo-fridge``, are created (or reused) with the ROIs their scenes are drawn with and
the empty shelf as their empty reference; an admin user ``demo`` is created once with a
random password, printed once. Once the server listens, the cameras' scripted scenes
(:mod:`shelfcam.demo.stories`) go through the real HTTP ingest in real time
(:mod:`shelfcam.demo.feed`); the server keeps serving after the last frame until Ctrl-C.
"""

from __future__ import annotations

import asyncio
import sys

from shelfcam import runtime
from shelfcam.config import Settings
from shelfcam.db.connect import connection
from shelfcam.db.migrate import migrate
from shelfcam.demo import stories
from shelfcam.demo.feed import Feed
from shelfcam.demo.provision import Login, ensure_cameras, ensure_login
from shelfcam.demo.stories import DemoCamera
from shelfcam.frames.routing import open_frame_store
from shelfcam.frames.store import FrameStore
from shelfcam.web import server

__all__ = ["run_demo"]


def local_address(settings: Settings) -> str:
    """The address to open in a browser on this machine."""
    host = settings.host
    if host in ("0.0.0.0", "::", ""):  # noqa: S104 - reading the setting, not binding
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{settings.port}"


async def _provision(
    url: str, store: FrameStore, cameras: list[DemoCamera]
) -> tuple[dict[str, str], Login]:
    async with connection(url) as conn:
        tokens = await ensure_cameras(conn, store, cameras)
        return tokens, await ensure_login(conn)


def _print_welcome(settings: Settings, login: Login, cameras: list[DemoCamera]) -> None:
    address = local_address(settings)
    if login.password is not None:
        credentials = (
            f"user {login.username}, password {login.password}\n"
            "  (shown only this once; `shelfcam admin set-password --user demo` sets another)"
        )
    else:
        credentials = (
            f"user {login.username}, password unchanged since the first demo run\n"
            "  (forgot it? `shelfcam admin set-password --user demo` sets another)"
        )
    longest = max(camera.duration_s for camera in cameras)
    names = " and ".join(camera.device_id for camera in cameras)
    print(
        f"shelfcam demo: data in {settings.data_dir.resolve()}\n"
        f"  open {address}/ and log in: {credentials}\n"
        f"  cameras {names} replay scenes for about {longest:.0f} s; the timeline fills\n"
        "  as they go. Beside it: `uv run shelfcam events --json`.\n"
        "  Ctrl-C stops everything.",
        flush=True,
    )


def run_demo(settings: Settings) -> int:
    cameras = [stories.render(story) for story in stories.STORIES]  # a few seconds
    store = open_frame_store(settings)
    with runtime.database(settings) as url:
        migrate(url)
        tokens, login = asyncio.run(_provision(url, store, cameras))
        _print_welcome(settings, login, cameras)
        feed = Feed(local_address(settings), url, cameras, tokens, out=sys.stderr)
        feed.start()
        try:
            server.run(settings, url, with_worker=True, on_started=feed.server_started)
        finally:
            feed.stop()
    return 0
