"""The ``shelfcam`` command line: every command, its arguments, help and example."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from shelfcam.accounts import admins
from shelfcam.cli.admin import (
    cmd_admin_set_password,
    cmd_admin_token_create,
    cmd_admin_token_list,
    cmd_admin_token_revoke,
)
from shelfcam.cli.common import Handler
from shelfcam.cli.devices import (
    cmd_device_add,
    cmd_device_list,
    cmd_device_mark_empty,
    cmd_device_revoke,
    cmd_device_rotate,
    cmd_device_set,
)
from shelfcam.cli.frames import cmd_frames_migrate
from shelfcam.cli.outputs import cmd_outputs_test
from shelfcam.cli.records import cmd_eval, cmd_events, cmd_replay, cmd_retention_run
from shelfcam.cli.running import (
    cmd_db_url,
    cmd_demo,
    cmd_migrate,
    cmd_puller,
    cmd_serve,
    cmd_worker,
)
from shelfcam.vision import polygons


def _group(sub: Any, name: str, help_text: str, example: str) -> argparse.ArgumentParser:
    """A command that only holds sub-commands (argparse asks for one of them)."""
    parser: argparse.ArgumentParser = sub.add_parser(
        name,
        help=help_text,
        description=help_text,
        epilog=f"example:\n  {example}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    return parser


def _add(
    sub: Any, name: str, handler: Handler, help_text: str, example: str
) -> argparse.ArgumentParser:
    parser = _group(sub, name, help_text, example)
    parser.set_defaults(handler=handler, command_name=name)
    return parser


def _pull_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--pull-url",
        metavar="URL",
        help="pull the camera instead of it pushing: a snapshot URL (http://cam/capture) or "
        "an MJPEG stream (http://cam:81/stream); user:password@ for Basic or Digest auth",
    )
    parser.add_argument(
        "--pull-interval-ms",
        type=int,
        metavar="N",
        help="ms between frames when idle (default SHELFCAM_IDLE_INTERVAL_MS; 50-3600000)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="shelfcam",
        description="shelfcam: a local-first camera activity log for shelves and pantries.",
        epilog="example:\n  shelfcam demo",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--config", type=Path, help="TOML settings file (or SHELFCAM_CONFIG)")
    parser.add_argument(
        "--log-level",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="log level (default: SHELFCAM_LOG_LEVEL or INFO)",
    )
    sub = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)

    _add(
        sub,
        "serve",
        cmd_serve,
        "Run everything: database if needed, API, worker, scheduler.",
        "SHELFCAM_HOST=0.0.0.0 shelfcam serve",
    )
    _add(sub, "api", cmd_serve, "Run the HTTP API and admin UI only.", "shelfcam api")
    _add(
        sub,
        "worker",
        cmd_worker,
        "Run an analysis worker (any number, on any machine).",
        "SHELFCAM_DATABASE_URL=postgresql://pi@db/shelfcam shelfcam worker",
    )
    _add(
        sub,
        "puller",
        cmd_puller,
        "Pull the cameras that do not push (one process pulls at a time; others stand by).",
        "SHELFCAM_DATABASE_URL=postgresql://pi@db/shelfcam shelfcam puller",
    )
    _add(sub, "migrate", cmd_migrate, "Bring the database schema up to date.", "shelfcam migrate")
    _add(
        sub,
        "demo",
        cmd_demo,
        "Run everything `serve` runs, with two simulated cameras replaying scenes "
        "(takes, restocks, a light switched, a covered lens); prints the UI address and "
        "a login. Ctrl-C stops it; a second run reuses the data.",
        "shelfcam demo   # then open http://127.0.0.1:8000/",
    )

    db = _group(sub, "db", "Database helpers.", "shelfcam db url")
    db_sub = db.add_subparsers(title="db commands", metavar="DB_COMMAND", required=True)
    _add(db_sub, "url", cmd_db_url, "Print the PostgreSQL URL in use.", 'psql "$(shelfcam db url)"')

    device = _group(sub, "device", "Manage cameras.", "shelfcam device list")
    dev_sub = device.add_subparsers(
        title="device commands", metavar="DEVICE_COMMAND", required=True
    )
    full = polygons.to_text(polygons.FULL_FRAME)
    add = _add(
        dev_sub,
        "add",
        cmd_device_add,
        "Add a camera and print its token once.",
        "shelfcam device add pantry --inventory-roi '0.1,0.3 0.9,0.3 0.9,0.9 0.1,0.9'",
    )
    add.add_argument("name", help="device name: a-z, 0-9, '-', '_' (max 63)")
    add.add_argument(
        "--interaction-roi",
        default=full,
        metavar="POLY",
        help="where hands reach in: 'x,y x,y x,y ...' in 0..1 (default: all)",
    )
    add.add_argument(
        "--inventory-roi",
        default=full,
        metavar="POLY",
        help="where the stock is: 'x,y x,y x,y ...' in 0..1 (default: all)",
    )
    add.add_argument("--json", action="store_true", help='print {"device_id", "token"}')
    _pull_arguments(add)
    dset = _add(
        dev_sub,
        "set",
        cmd_device_set,
        "Change a camera's ROIs (a new roi_version), or where it is pulled from.",
        "shelfcam device set pantry --inventory-roi '0.1,0.3 0.9,0.3 0.9,0.9 0.1,0.9'\n"
        "  shelfcam device set pantry --pull-url http://192.168.1.50:81/stream",
    )
    dset.add_argument("name")
    dset.add_argument("--interaction-roi", metavar="POLY")
    dset.add_argument("--inventory-roi", metavar="POLY")
    _pull_arguments(dset)
    dset.add_argument(
        "--no-pull", action="store_true", help="stop pulling the camera (it may push instead)"
    )
    dlist = _add(dev_sub, "list", cmd_device_list, "List cameras.", "shelfcam device list --json")
    dlist.add_argument("--json", action="store_true", help="one JSON object per line")
    drotate = _add(
        dev_sub,
        "rotate",
        cmd_device_rotate,
        "Give a camera a new token and print it once; the old token stops working.",
        "shelfcam device rotate pantry --json",
    )
    drotate.add_argument("name")
    drotate.add_argument("--json", action="store_true", help='print {"device_id", "token"}')
    drevoke = _add(
        dev_sub,
        "revoke",
        cmd_device_revoke,
        "Refuse a camera's token from now on (its events stay).",
        "shelfcam device revoke pantry",
    )
    drevoke.add_argument("name")
    dempty = _add(
        dev_sub,
        "mark-empty",
        cmd_device_mark_empty,
        "Use the camera's latest stable frame as its empty-shelf reference.",
        "shelfcam device mark-empty pantry",
    )
    dempty.add_argument("name")
    dempty.add_argument(
        "--from-file", type=Path, metavar="JPEG", help="take the reference from this JPEG instead"
    )

    events = _add(
        sub,
        "events",
        cmd_events,
        "List events, newest first.",
        "shelfcam events --type stock_changed --since 2026-01-01 --json",
    )
    events.add_argument("--device", help="only this camera")
    events.add_argument("--type", help="only this event type (e.g. stock_changed)")
    events.add_argument("--since", help="RFC 3339 time, a date, or an age such as 2h or 7d")
    events.add_argument("--json", action="store_true", help="JSON Lines: one event per line")

    retention = _group(sub, "retention", "Delete expired frames.", "shelfcam retention run")
    ret_sub = retention.add_subparsers(
        title="retention commands", metavar="RETENTION_COMMAND", required=True
    )
    rrun = _add(
        ret_sub,
        "run",
        cmd_retention_run,
        "Run retention now: expired event frames, staging frames and debug snapshots, "
        "orphan files, empty folders, failed analysis jobs of frames past their staging "
        "retention (and old "
        "captures rows if SHELFCAM_CAPTURE_RETENTION_DAYS is set); print what was deleted.",
        "shelfcam retention run --dry-run --json",
    )
    rrun.add_argument(
        "--dry-run", action="store_true", help="count what would be deleted; change nothing"
    )
    rrun.add_argument(
        "--json", action="store_true", help="the summary as one JSON object on one line"
    )

    frames = _group(
        sub, "frames", "Move frames between stores.", "shelfcam frames migrate --to s3://frames"
    )
    frames_sub = frames.add_subparsers(
        title="frames commands", metavar="FRAMES_COMMAND", required=True
    )
    fmigrate = _add(
        frames_sub,
        "migrate",
        cmd_frames_migrate,
        "Move the event frames, overlays and thumbnails of the file store to an S3 object "
        "store and point their rows at the objects (resumable: run it again after an "
        "interruption); then set SHELFCAM_FRAME_STORE to the same URL.",
        "shelfcam frames migrate --to s3://frames/shop1 --dry-run",
    )
    fmigrate.add_argument("--to", required=True, help="the object store: s3://BUCKET[/PREFIX]")
    fmigrate.add_argument(
        "--dry-run", action="store_true", help="count what would move; change nothing"
    )
    fmigrate.add_argument("--json", action="store_true", help="the report as one JSON line")

    replay = _add(
        sub,
        "replay",
        cmd_replay,
        "Send a folder of JPEGs (or a video) like a camera.",
        "shelfcam replay frames/ --url http://127.0.0.1:8000 --token shc_...",
    )
    replay.add_argument("path", help="a folder of .jpg files (name order) or a video file")
    replay.add_argument("--url", required=True, help="shelfcam's address, http://host:port")
    replay.add_argument("--token", required=True, help="the device token")
    replay.add_argument("--fps", type=float, default=2.0, help="frame rate of the recording")
    replay.add_argument("--speed", type=float, default=1.0, help="how much faster than real time")
    replay.add_argument("--loop", action="store_true", help="start again at the end")

    evaluate = _add(
        sub,
        "eval",
        cmd_eval,
        "Run labelled scenes through the real pipeline: synthetic scenes (precision and "
        "recall per event type) or the real-footage acceptance cases (a verdict per case).",
        "shelfcam eval synthetic --scenario take_item --scenario covered\n  shelfcam eval real",
    )
    evaluate.add_argument(
        "suite",
        nargs="?",
        default="synthetic",
        choices=["synthetic", "real"],
        help="synthetic scenes (default), or the real footage (SHELFCAM_REAL_DATA) as the "
        "acceptance tools beside it build its cases (SHELFCAM_REALDATA_TOOLS)",
    )
    evaluate.add_argument(
        "--scenario",
        action="append",
        metavar="NAME",
        help="only this synthetic scenario (repeatable)",
    )

    admin_cmd = _group(sub, "admin", "Admin accounts and tokens.", "shelfcam admin set-password")
    admin_sub = admin_cmd.add_subparsers(
        title="admin commands", metavar="ADMIN_COMMAND", required=True
    )
    setpw = _add(
        admin_sub,
        "set-password",
        cmd_admin_set_password,
        "Create an admin user or change its password (prompted; or one line on stdin).",
        "shelfcam admin set-password   # or: printf '%s\\n' \"$PW\" | shelfcam admin set-password",
    )
    setpw.add_argument(
        "--user", default=admins.DEFAULT_USER, metavar="NAME", help="user name (default: admin)"
    )
    token = _group(admin_sub, "token", "Admin API tokens.", "shelfcam admin token create")
    token_sub = token.add_subparsers(title="token commands", metavar="TOKEN_COMMAND", required=True)
    tcreate = _add(
        token_sub,
        "create",
        cmd_admin_token_create,
        "Create an admin API token and print it once (only its hash is stored).",
        "TOKEN=$(shelfcam admin token create --name backup)\n  "
        'curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:8000/api/v1/events',
    )
    tcreate.add_argument(
        "--name",
        help="a label for the token, unique among live tokens (default: api, api-2, ...)",
    )
    tcreate.add_argument(
        "--expires-in",
        metavar="DURATION",
        help="the token stops working after this long: 30m, 12h, 90d, 8w (default: never)",
    )
    tlist = _add(
        token_sub,
        "list",
        cmd_admin_token_list,
        "List admin tokens: name, state (active, expired, revoked), created, last used, "
        "expiry. Never the token itself.",
        "shelfcam admin token list --json",
    )
    tlist.add_argument("--json", action="store_true", help="one JSON object per line")
    trevoke = _add(
        token_sub,
        "revoke",
        cmd_admin_token_revoke,
        "Revoke an admin token by name: it stops working at once.",
        "shelfcam admin token revoke backup",
    )
    trevoke.add_argument("name", help="the token's name (see shelfcam admin token list)")

    outputs_cmd = _group(
        sub, "outputs", "MQTT, notifications and webhooks.", "shelfcam outputs test"
    )
    outputs_sub = outputs_cmd.add_subparsers(
        title="outputs commands", metavar="OUTPUTS_COMMAND", required=True
    )
    _add(
        outputs_sub,
        "test",
        cmd_outputs_test,
        "Send a test message to every configured output (MQTT, each webhook, each "
        "notification URL) and print what each answered; exit 1 if any failed.",
        "SHELFCAM_MQTT_URL=mqtt://127.0.0.1:1883 shelfcam outputs test",
    )
    return parser
