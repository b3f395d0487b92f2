"""The ``shelfcam`` command. Each command is thin: it calls the same services as the API.

parser.py declares the commands; devices.py, admin.py, records.py and running.py hold
their handlers; common.py what they share.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from shelfcam import logs, runtime
from shelfcam.cli.common import Handler
from shelfcam.cli.parser import build_parser
from shelfcam.config import load_settings
from shelfcam.errors import ShelfcamError

__all__ = ["build_parser", "main"]


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        overrides = {"log_level": args.log_level} if args.log_level else {}
        settings = load_settings(args.config, **overrides)
    except ShelfcamError as err:
        print(f"shelfcam: {err.detail}", file=sys.stderr)
        return 2
    logs.configure(settings.log_level)
    runtime.install_signal_handlers()
    handler: Handler = args.handler
    try:
        return handler(args, settings)
    except ShelfcamError as err:
        print(f"shelfcam: error: {err.detail}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
