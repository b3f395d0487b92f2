"""The embedded PostgreSQL's watchdog: ``python -m shelfcam.db.pgwatch PGDATA OWNER_PID FD``.

Started by the process that owns the embedded server (:mod:`shelfcam.db.embedded`), in a
session of its own so that a signal to the owner's process group does not reach it. It
blocks reading the pipe ``FD``, whose write end only the owner holds: the read returns
when the owner closes it (it released the server) or dies, however it dies. Then, if the
owner never released the server, the watchdog stops it, under the same lock as every
start and stop, and exits.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

from shelfcam import logs
from shelfcam.db import embedded

log = logging.getLogger("shelfcam.db.pgwatch")  # __name__ is __main__ when run


def main(argv: list[str]) -> int:
    pgdata, owner_pid, read_end = Path(argv[0]), int(argv[1]), int(argv[2])
    logs.configure("INFO")
    while os.read(read_end, 4096):  # nothing is ever written: this waits for the close
        pass
    os.close(read_end)
    if embedded.stop_if_orphaned(pgdata, owner_pid):
        log.info("action=embedded_watchdog_stopped pgdata=%s owner_pid=%d", pgdata, owner_pid)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
