"""`shelfcam admin ...`: admin users and API tokens."""

from __future__ import annotations

import argparse
import getpass
import sys

from shelfcam import admin
from shelfcam.cli.common import on_database
from shelfcam.config import Settings
from shelfcam.errors import InvalidInput


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
    created = on_database(settings, lambda conn: admin.set_password(conn, username, password))
    what = "created" if created else "has a new password; its sessions were ended"
    print(f"admin user {username} {what}")
    return 0


def cmd_admin_token_create(args: argparse.Namespace, settings: Settings) -> int:
    token = on_database(settings, lambda conn: admin.create_token(conn, args.name))
    print(
        f"admin token {args.name!r} created; send it as 'Authorization: Bearer <token>'. "
        "It is shown only this once:",
        file=sys.stderr,
    )
    print(token)
    return 0
