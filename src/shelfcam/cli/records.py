"""The commands about the record: events, replay, eval, retention run."""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from collections.abc import Iterable
from functools import partial
from pathlib import Path

from shelfcam import logs, runtime
from shelfcam.cli.common import on_database, print_json
from shelfcam.config import Settings
from shelfcam.db.migrate import migrate
from shelfcam.frames.routing import open_frame_store


def cmd_events(args: argparse.Namespace, settings: Settings) -> int:
    from shelfcam.activity import timeline

    filters = timeline.EventFilter(
        device_id=args.device,
        event_type=args.type,
        since=timeline.parse_since(args.since) if args.since else None,
    )
    store = open_frame_store(settings)
    for event in on_database(settings, lambda conn: timeline.all_events(conn, store, filters)):
        if args.json:
            print_json(timeline.event_line(event))
        else:
            print(timeline.event_text(event))
    return 0


def cmd_replay(args: argparse.Namespace, settings: Settings) -> int:
    from shelfcam.sim import replay

    frames = replay.load_frames(Path(args.path))
    summary = replay.replay(
        frames, args.url, args.token, fps=args.fps, speed=args.speed, loop=args.loop
    )
    print(summary.line())
    return 0 if summary.errors == 0 else 1


def cmd_eval(args: argparse.Namespace, settings: Settings) -> int:
    from shelfcam.evaluation import realdata, report, runner, suites

    if args.log_level is None:  # the report is the output; keep the pipeline's logs quiet
        logs.configure("WARNING")
    progress = partial(print, file=sys.stderr, flush=True)
    with tempfile.TemporaryDirectory(prefix="shelfcam-realdata-") as tmp:
        if args.suite == "real":
            progress(f"building the real-footage cases with {realdata.tools_dir()}")
            cases: Iterable[suites.Case] = realdata.build(Path(tmp))
        else:
            cases = suites.synthetic_cases(args.scenario or None)
        evaluated = runner.run(cases, progress)
    lines, met = report.render(args.suite, evaluated)
    print("\n".join(lines))
    return 0 if met else 1


def cmd_retention_run(args: argparse.Namespace, settings: Settings) -> int:
    from shelfcam.retention.runner import run_once

    with runtime.database(settings) as url:
        migrate(url)
        summary = asyncio.run(run_once(settings, url, dry_run=args.dry_run))
    if args.json:
        print_json(summary.as_json())
    else:
        print(summary.text())
    return 1 if summary.errors else 0
