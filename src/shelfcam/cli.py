"""The ``shelfcam`` command. Each command is thin: it calls the same services as the API."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from shelfcam import admin, devices, logs, polygons, runtime
from shelfcam.config import Settings, load_settings
from shelfcam.db.connect import connection
from shelfcam.db.migrate import migrate
from shelfcam.errors import InvalidInput, NotYetAvailable, ShelfcamError

log = logging.getLogger("shelfcam.cli")

Handler = Callable[[argparse.Namespace, Settings], int]
EXIT_NOT_YET = 2


def _print_json(obj: Any) -> None:
    print(json.dumps(obj, separators=(",", ":"), default=str), flush=True)


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    from shelfcam.web import server

    with runtime.database(settings) as url:
        migrate(url)
        server.run(settings, url, with_worker=args.command_name == "serve")
    return 0


def cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    from shelfcam.tasks import run_worker

    with runtime.database(settings) as url:
        migrate(url)
        asyncio.run(run_worker(settings, url))
    return 0


def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    with runtime.database(settings) as url:
        applied = migrate(url)
    print(f"applied {len(applied)} migration(s)" if applied else "schema is up to date")
    return 0


def cmd_db_url(args: argparse.Namespace, settings: Settings) -> int:
    from shelfcam.db import embedded

    if not settings.database_url and not embedded.is_running(settings.embedded_pgdata):
        print(
            "note: the embedded PostgreSQL is not running; it stops again when this command "
            "ends. Start `shelfcam serve` to keep it up.",
            file=sys.stderr,
        )
    with runtime.database(settings) as url:
        print(url)
    return 0


def cmd_device_add(args: argparse.Namespace, settings: Settings) -> int:
    interaction = polygons.parse(args.interaction_roi, "--interaction-roi")
    inventory = polygons.parse(args.inventory_roi, "--inventory-roi")

    async def run(url: str) -> devices.NewDevice:
        async with connection(url) as conn:
            return await devices.add_device(conn, args.name, interaction, inventory)

    with runtime.database(settings) as url:
        migrate(url)
        new = asyncio.run(run(url))
    if args.json:
        _print_json({"device_id": new.device_id, "token": new.token})
    else:
        print(f"device {new.device_id} added. Its token (shown only this once):\n{new.token}")
    return 0


def _optional_poly(text: str | None, what: str) -> polygons.Polygon | None:
    return None if text is None else polygons.parse(text, what)


def cmd_device_set(args: argparse.Namespace, settings: Settings) -> int:
    interaction = _optional_poly(args.interaction_roi, "--interaction-roi")
    inventory = _optional_poly(args.inventory_roi, "--inventory-roi")

    async def run(url: str) -> int:
        async with connection(url) as conn:
            return await devices.set_config(
                conn,
                args.name,
                interaction_roi=interaction or None,
                inventory_roi=inventory or None,
            )

    with runtime.database(settings) as url:
        migrate(url)
        version = asyncio.run(run(url))
    print(f"device {args.name} now uses roi_version {version}")
    return 0


def cmd_device_list(args: argparse.Namespace, settings: Settings) -> int:
    async def run(url: str) -> list[dict[str, Any]]:
        async with connection(url) as conn:
            return await devices.list_devices(conn)

    with runtime.database(settings) as url:
        migrate(url)
        rows = asyncio.run(run(url))
    for row in rows:
        if args.json:
            _print_json(row)
        else:
            seen = row["last_seen_at"] or "never"
            state = "revoked" if row["revoked"] else "active"
            print(
                f"{row['device_id']:<24} {state:<8} roi_version={row['roi_version']} "
                f"last_seen={seen}"
            )
    return 0


def cmd_device_rotate(args: argparse.Namespace, settings: Settings) -> int:
    async def run(url: str) -> devices.NewDevice:
        async with connection(url) as conn:
            return await devices.rotate_token(conn, args.name)

    with runtime.database(settings) as url:
        migrate(url)
        new = asyncio.run(run(url))
    log.info("action=device_token_rotated device=%s", new.device_id)
    if args.json:
        _print_json({"device_id": new.device_id, "token": new.token})
    else:
        print(
            f"device {new.device_id} has a new token; the old one stops working "
            f"(shown only this once):\n{new.token}"
        )
    return 0


def cmd_device_revoke(args: argparse.Namespace, settings: Settings) -> int:
    async def run(url: str) -> bool:
        async with connection(url) as conn:
            return await devices.revoke(conn, args.name)

    with runtime.database(settings) as url:
        migrate(url)
        changed = asyncio.run(run(url))
    log.info("action=device_revoked device=%s changed=%s", args.name, changed)
    what = "revoked" if changed else "was already revoked"
    print(f"device {args.name} {what}; `shelfcam device rotate {args.name}` enables it again")
    return 0


def _read_password() -> str:
    """Twice at a prompt (not echoed), or one line from stdin when it is piped."""
    if sys.stdin.isatty():
        first = getpass.getpass("New password: ")
        if getpass.getpass("Repeat the password: ") != first:
            raise InvalidInput("the two passwords differ; nothing changed")
        return first
    return sys.stdin.readline().rstrip("\r\n")


def cmd_admin_set_password(args: argparse.Namespace, settings: Settings) -> int:
    username = admin.validate_username(args.user)
    password = admin.validate_password(_read_password())

    async def run(url: str) -> bool:
        async with connection(url) as conn:
            return await admin.set_password(conn, username, password)

    with runtime.database(settings) as url:
        migrate(url)
        created = asyncio.run(run(url))
    what = "created" if created else "has a new password; its sessions were ended"
    print(f"admin user {username} {what}")
    return 0


def cmd_admin_token_create(args: argparse.Namespace, settings: Settings) -> int:
    async def run(url: str) -> str:
        async with connection(url) as conn:
            return await admin.create_token(conn, args.name)

    with runtime.database(settings) as url:
        migrate(url)
        token = asyncio.run(run(url))
    print(
        f"admin token {args.name!r} created; send it as 'Authorization: Bearer <token>'. "
        "It is shown only this once:",
        file=sys.stderr,
    )
    print(token)
    return 0


def cmd_device_mark_empty(args: argparse.Namespace, settings: Settings) -> int:
    from shelfcam.references import mark_empty
    from shelfcam.store import FrameStore

    async def run(url: str) -> str:
        async with connection(url) as conn:
            return await mark_empty(conn, FrameStore(settings.data_dir), args.name, args.from_file)

    with runtime.database(settings) as url:
        migrate(url)
        source = asyncio.run(run(url))
    print(f"device {args.name}: empty-shelf reference taken from {source}")
    return 0


def cmd_events(args: argparse.Namespace, settings: Settings) -> int:
    from shelfcam import events
    from shelfcam.store import FrameStore

    filters = events.EventFilter(
        device_id=args.device,
        event_type=args.type,
        since=events.parse_since(args.since) if args.since else None,
    )

    async def run(url: str) -> list[events.Event]:
        async with connection(url) as conn:
            return await events.all_events(conn, FrameStore(settings.data_dir), filters)

    with runtime.database(settings) as url:
        migrate(url)
        found = asyncio.run(run(url))
    for event in found:
        if args.json:
            _print_json(events.event_line(event))
        else:
            print(events.event_text(event))
    return 0


def cmd_replay(args: argparse.Namespace, settings: Settings) -> int:
    from shelfcam import replay

    frames = replay.load_frames(Path(args.path))
    summary = replay.replay(
        frames, args.url, args.token, fps=args.fps, speed=args.speed, loop=args.loop
    )
    print(summary.line())
    return 0 if summary.errors == 0 else 1


def cmd_eval(args: argparse.Namespace, settings: Settings) -> int:
    from shelfcam.evaluation import report, runner, suites

    if args.log_level is None:  # the report is the output; keep the pipeline's logs quiet
        logs.configure("WARNING")
    cases = (
        suites.real_cases()
        if args.suite == "real"
        else suites.synthetic_cases(args.scenario or None)
    )
    evaluated = runner.run(cases, lambda line: print(line, file=sys.stderr, flush=True))
    lines, met = report.render(args.suite, evaluated)
    print("\n".join(lines))
    return 0 if met else 1


def cmd_retention_run(args: argparse.Namespace, settings: Settings) -> int:
    from shelfcam.retention.runner import run_once

    with runtime.database(settings) as url:
        migrate(url)
        summary = asyncio.run(run_once(settings, url, dry_run=args.dry_run))
    if args.json:
        _print_json(summary.as_json())
    else:
        print(summary.text())
    return 1 if summary.errors else 0


def _not_yet(issue: str) -> Handler:
    def handler(args: argparse.Namespace, settings: Settings) -> int:
        raise NotYetAvailable(f"`shelfcam {args.command_name}` arrives with issue {issue}")

    return handler


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from shelfcam.demo import run_demo

    if args.log_level is None:  # the demo's own lines are the output; keep logs to warnings
        logs.configure("WARNING")
    return run_demo(settings)


def _add(
    sub: Any, name: str, handler: Handler, help_text: str, example: str
) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = sub.add_parser(
        name,
        help=help_text,
        description=help_text,
        epilog=f"example:\n  {example}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.set_defaults(handler=handler, command_name=name)
    return parser


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

    db = _add(sub, "db", _not_yet("?"), "Database helpers.", "shelfcam db url")
    db_sub = db.add_subparsers(title="db commands", metavar="DB_COMMAND", required=True)
    _add(db_sub, "url", cmd_db_url, "Print the PostgreSQL URL in use.", 'psql "$(shelfcam db url)"')

    device = _add(sub, "device", _not_yet("?"), "Manage cameras.", "shelfcam device list")
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
    dset = _add(
        dev_sub,
        "set",
        cmd_device_set,
        "Change a camera's ROIs (a new roi_version).",
        "shelfcam device set pantry --inventory-roi '0.1,0.3 0.9,0.3 0.9,0.9 0.1,0.9'",
    )
    dset.add_argument("name")
    dset.add_argument("--interaction-roi", metavar="POLY")
    dset.add_argument("--inventory-roi", metavar="POLY")
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

    retention = _add(
        sub, "retention", _not_yet("?"), "Delete expired frames.", "shelfcam retention run"
    )
    ret_sub = retention.add_subparsers(
        title="retention commands", metavar="RETENTION_COMMAND", required=True
    )
    rrun = _add(
        ret_sub,
        "run",
        cmd_retention_run,
        "Run retention now: expired event frames, staging frames and debug snapshots, "
        "orphan files, empty folders (and old captures rows if "
        "SHELFCAM_CAPTURE_RETENTION_DAYS is set); print what was deleted.",
        "shelfcam retention run --dry-run --json",
    )
    rrun.add_argument(
        "--dry-run", action="store_true", help="count what would be deleted; change nothing"
    )
    rrun.add_argument(
        "--json", action="store_true", help="the summary as one JSON object on one line"
    )

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
        "Run labelled scenes through the real pipeline; print precision and recall.",
        "shelfcam eval synthetic --scenario take_item --scenario covered",
    )
    evaluate.add_argument(
        "suite",
        nargs="?",
        default="synthetic",
        choices=["synthetic", "real"],
        help="synthetic scenes (default) or the real footage (SHELFCAM_REAL_DATA)",
    )
    evaluate.add_argument(
        "--scenario",
        action="append",
        metavar="NAME",
        help="only this synthetic scenario (repeatable)",
    )

    admin_cmd = _add(
        sub, "admin", _not_yet("?"), "Admin accounts and tokens.", "shelfcam admin set-password"
    )
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
        "--user", default=admin.DEFAULT_USER, metavar="NAME", help="user name (default: admin)"
    )
    token = _add(
        admin_sub, "token", _not_yet("?"), "Admin API tokens.", "shelfcam admin token create"
    )
    token_sub = token.add_subparsers(title="token commands", metavar="TOKEN_COMMAND", required=True)
    tcreate = _add(
        token_sub,
        "create",
        cmd_admin_token_create,
        "Create an admin API token and print it once (only its hash is stored).",
        "TOKEN=$(shelfcam admin token create --name backup)\n  "
        'curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:8000/api/v1/events',
    )
    tcreate.add_argument("--name", default="api", help="a label for the token (default: api)")
    return parser


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
    except NotYetAvailable as err:
        print(f"shelfcam: {err.detail}", file=sys.stderr)
        return EXIT_NOT_YET
    except ShelfcamError as err:
        print(f"shelfcam: error: {err.detail}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
