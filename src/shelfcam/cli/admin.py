"""`shelfcam admin ...`: admin users and API tokens."""

from __future__ import annotations

import argparse
import getpass
import sys
from datetime import datetime

from shelfcam.accounts import admins
from shelfcam.cli.common import on_database, print_json
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
    username = admins.validate_username(args.user)
    password = admins.validate_password(_read_password())
    created = on_database(settings, lambda conn: admins.set_password(conn, username, password))
    what = "created" if created else "has a new password; its sessions were ended"
    print(f"admin user {username} {what}")
    return 0


def cmd_admin_token_create(args: argparse.Namespace, settings: Settings) -> int:
    lifetime = admins.parse_lifetime(args.expires_in) if args.expires_in else None
    new = on_database(
        settings, lambda conn: admins.create_token(conn, args.name, expires_in=lifetime)
    )
    until = (
        f", valid until {new.expires_at.isoformat(timespec='seconds')}" if new.expires_at else ""
    )
    print(
        f"admin token {new.name!r} created{until}; send it as 'Authorization: Bearer <token>'. "
        "It is shown only this once:",
        file=sys.stderr,
    )
    print(new.token)
    return 0


def _when(value: datetime | None) -> str:
    return "never" if value is None else value.isoformat(timespec="seconds")


def cmd_admin_token_list(args: argparse.Namespace, settings: Settings) -> int:
    for token in on_database(settings, admins.list_tokens):
        if args.json:
            print_json(token.to_json())
            continue
        print(
            f"{token.name:<24} {token.state:<8} created={_when(token.created_at)}"
            f" last_used={_when(token.last_used_at)} expires={_when(token.expires_at)}"
        )
    return 0


def cmd_admin_token_revoke(args: argparse.Namespace, settings: Settings) -> int:
    changed = on_database(settings, lambda conn: admins.revoke_token(conn, args.name))
    what = "revoked; it stops working now" if changed else "was already revoked"
    print(f"admin token {args.name!r} {what}")
    return 0
