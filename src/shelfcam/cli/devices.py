"""`shelfcam device ...`: cameras, their tokens, ROIs and empty-shelf reference."""

from __future__ import annotations

import argparse
import logging

from shelfcam import devices
from shelfcam.cli.common import on_database, print_json
from shelfcam.config import Settings
from shelfcam.db.types import Conn
from shelfcam.devices import pulls
from shelfcam.errors import InvalidInput
from shelfcam.frames.routing import open_frame_store
from shelfcam.pull import urls
from shelfcam.vision import polygons

log = logging.getLogger("shelfcam.cli")


def cmd_device_add(args: argparse.Namespace, settings: Settings) -> int:
    interaction = polygons.parse(args.interaction_roi, "--interaction-roi")
    inventory = polygons.parse(args.inventory_roi, "--inventory-roi")
    pulled = _pull_args(args)

    async def add(conn: Conn) -> devices.NewDevice:
        async with conn.transaction():
            new = await devices.add_device(conn, args.name, interaction, inventory)
            if pulled is not None:
                await pulls.set_pull(conn, new.device_id, args.pull_url, args.pull_interval_ms)
        return new

    new = on_database(settings, add)
    if args.json:
        print_json({"device_id": new.device_id, "token": new.token})
    else:
        print(f"device {new.device_id} added. Its token (shown only this once):\n{new.token}")
    if pulled is not None:
        log.info("action=device_pulled device=%s url=%s", new.device_id, pulled.shown)
        if not args.json:
            print(f"pulled from {pulled.shown} (by `shelfcam serve` or `shelfcam puller`)")
    return 0


def _pull_args(args: argparse.Namespace) -> urls.PullUrl | None:
    """The checked --pull-url (None without one); --pull-interval-ms needs it."""
    urls.check_interval(args.pull_interval_ms)
    if args.pull_url is None:
        if args.pull_interval_ms is not None:
            raise InvalidInput("--pull-interval-ms needs --pull-url")
        return None
    return urls.parse(args.pull_url)


def _optional_poly(text: str | None, what: str) -> polygons.Polygon | None:
    return None if text is None else polygons.parse(text, what)


def cmd_device_set(args: argparse.Namespace, settings: Settings) -> int:
    interaction = _optional_poly(args.interaction_roi, "--interaction-roi")
    inventory = _optional_poly(args.inventory_roi, "--inventory-roi")
    pulled = _pull_args(args)
    if pulled is not None and args.no_pull:
        raise InvalidInput("give --pull-url or --no-pull, not both")
    rois = interaction is not None or inventory is not None
    if not rois and pulled is None and not args.no_pull:
        raise InvalidInput("nothing to change: give a ROI, --pull-url URL or --no-pull")

    async def change(conn: Conn) -> int | None:
        await devices.get_device(conn, args.name)  # NotFound before anything changes
        async with conn.transaction():
            if pulled is not None:
                await pulls.set_pull(conn, args.name, args.pull_url, args.pull_interval_ms)
            elif args.no_pull:
                await pulls.clear_pull(conn, args.name)
            if not rois:
                return None
            return await devices.set_config(
                conn, args.name, interaction_roi=interaction, inventory_roi=inventory
            )

    version = on_database(settings, change)
    if pulled is not None:
        log.info("action=device_pulled device=%s url=%s", args.name, pulled.shown)
        print(f"device {args.name} is now pulled from {pulled.shown}")
    elif args.no_pull:
        log.info("action=device_unpulled device=%s", args.name)
        print(f"device {args.name} is no longer pulled")
    if version is not None:
        print(f"device {args.name} now uses roi_version {version}")
    return 0


def cmd_device_list(args: argparse.Namespace, settings: Settings) -> int:
    async def load(conn: Conn) -> tuple[list[dict[str, object]], dict[str, pulls.PullState]]:
        return await devices.list_devices(conn), await pulls.states(conn)

    rows, pulled = on_database(settings, load)
    for row in rows:
        pull = pulled.get(str(row["device_id"]))
        if args.json:
            print_json({**row, "pull": None if pull is None else pull.as_json()})
        else:
            seen = row["last_seen_at"] or "never"
            state = "revoked" if row["revoked"] else "active"
            how = "" if pull is None else f" pulled={pull.url} ({pull.state})"
            print(
                f"{row['device_id']:<24} {state:<8} roi_version={row['roi_version']} "
                f"last_seen={seen}{how}"
            )
    return 0


def cmd_device_rotate(args: argparse.Namespace, settings: Settings) -> int:
    new = on_database(settings, lambda conn: devices.rotate_token(conn, args.name))
    log.info("action=device_token_rotated device=%s", new.device_id)
    if args.json:
        print_json({"device_id": new.device_id, "token": new.token})
    else:
        print(
            f"device {new.device_id} has a new token; the old one stops working "
            f"(shown only this once):\n{new.token}"
        )
    return 0


def cmd_device_revoke(args: argparse.Namespace, settings: Settings) -> int:
    changed = on_database(settings, lambda conn: devices.revoke(conn, args.name))
    log.info("action=device_revoked device=%s changed=%s", args.name, changed)
    what = "revoked" if changed else "was already revoked"
    print(f"device {args.name} {what}; `shelfcam device rotate {args.name}` enables it again")
    return 0


def cmd_device_mark_empty(args: argparse.Namespace, settings: Settings) -> int:
    from shelfcam.devices.references import mark_empty

    store = open_frame_store(settings)
    jpeg: bytes | None = None
    if args.from_file is not None:
        try:
            jpeg = args.from_file.read_bytes()
        except OSError as err:
            raise InvalidInput(f"cannot read {args.from_file}: {err.strerror}") from err
    given = str(args.from_file) if args.from_file is not None else ""
    source = on_database(settings, lambda conn: mark_empty(conn, store, args.name, jpeg, given))
    print(f"device {args.name}: empty-shelf reference taken from {source}")
    return 0
