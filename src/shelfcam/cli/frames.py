"""`shelfcam frames migrate`: move event frames from the file store to an object store."""

from __future__ import annotations

import argparse
import asyncio

from shelfcam import runtime
from shelfcam.cli.common import print_json
from shelfcam.config import Settings
from shelfcam.db.connect import connection
from shelfcam.db.migrate import migrate
from shelfcam.frames.files import FileFrameStore
from shelfcam.frames.migration import MigrationReport, migrate_frames, target_of
from shelfcam.frames.objects import S3FrameStore, s3_client


def cmd_frames_migrate(args: argparse.Namespace, settings: Settings) -> int:
    location = target_of(args.to)  # before the database starts: a typo fails at once
    files = FileFrameStore(settings.data_dir)
    objects = S3FrameStore(location, s3_client(settings.s3_endpoint_url))

    async def run(url: str) -> MigrationReport:
        async with connection(url) as conn:
            return await migrate_frames(conn, files, objects, dry_run=args.dry_run)

    with runtime.database(settings) as url:
        migrate(url)
        report = asyncio.run(run(url))
    if args.json:
        print_json(report.as_json())
    else:
        print(report.text())
    if not args.dry_run and settings.frame_store != location.url:
        print(
            f"new frames still go to {settings.frame_store!r}: set "
            f"SHELFCAM_FRAME_STORE={location.url} and restart shelfcam"
        )
    return 0
