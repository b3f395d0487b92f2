"""`shelfcam device ...`: cameras, their tokens, ROIs and empty-shelf reference."""

from __future__ import annotations

import argparse
import logging

from shelfcam import devices
from shelfcam.cli.common import on_database, print_json
from shelfcam.config import Settings
from shelfcam.errors import InvalidInput
from shelfcam.frames.routing import open_frame_store
from shelfcam.vision import polygons

log = logging.getLogger("shelfcam.cli")


def cmd_device_add(args: argparse.Namespace, settings: Settings) -> int:
    interaction = polygons.parse(args.interaction_roi, "--interaction-roi")
    inventory = polygons.parse(args.inventory_roi, "--inventory-roi")
    new = on_database(
        settings, lambda conn: devices.add_device(conn, args.name, interaction, inventory)
    )
    if args.json:
        print_json({"device_id": new.device_id, "token": new.token})
    else:
        print(f"device {new.device_id} added. Its token (shown only this once):\n{new.token}")
    return 0


def _optional_poly(text: str | None, what: str) -> polygons.Polygon | None:
    return None if text is None else polygons.parse(text, what)


def cmd_device_set(args: argparse.Namespace, settings: Settings) -> int:
    interaction = _optional_poly(args.interaction_roi, "--interaction-roi")
    inventory = _optional_poly(args.inventory_roi, "--inventory-roi")
    version = on_database(
        settings,
        lambda conn: devices.set_config(
            conn, args.name, interaction_roi=interaction or None, inventory_roi=inventory or None
        ),
    )
    print(f"device {args.name} now uses roi_version {version}")
    return 0


def cmd_device_list(args: argparse.Namespace, settings: Settings) -> int:
    for row in on_database(settings, devices.list_devices):
        if args.json:
            print_json(row)
        else:
            seen = row["last_seen_at"] or "never"
            state = "revoked" if row["revoked"] else "active"
            print(
                f"{row['device_id']:<24} {state:<8} roi_version={row['roi_version']} "
                f"last_seen={seen}"
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
