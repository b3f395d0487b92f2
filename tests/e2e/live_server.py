"""The web app served by a real uvicorn on a free port, in a thread of the test process."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import uvicorn

from shelfcam.config import load_settings
from shelfcam.web.app import create_app
from shelfcam.web.server import uvicorn_config
from tests.e2e.processes import free_port


@contextmanager
def live_server(db_url: str, data_dir: Path, **overrides: Any) -> Iterator[str]:
    """Yield the base URL of a running server; stop it (gracefully) afterwards."""
    port = free_port()
    settings = load_settings(
        data_dir=data_dir, database_url=db_url, host="127.0.0.1", port=port, **overrides
    )
    config = uvicorn_config(create_app(settings, db_url), settings, "127.0.0.1", port)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    try:
        # Wait for the server's own "started" flag (set once it listens), or its death.
        while not server.started:
            thread.join(timeout=0.05)
            if not thread.is_alive():
                raise RuntimeError("uvicorn stopped before it started")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
