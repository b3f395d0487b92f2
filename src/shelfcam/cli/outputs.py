"""``shelfcam outputs``: the outputs' own commands."""

from __future__ import annotations

import argparse
import asyncio
import sys

from shelfcam.config import Settings
from shelfcam.outputs.probe import send_test_messages


def cmd_outputs_test(args: argparse.Namespace, settings: Settings) -> int:
    """A test message to every configured output; one line per output with its answer.
    Exit 1 if any failed, or none is configured."""
    answers = asyncio.run(send_test_messages(settings))
    if not answers:
        print(
            "no output is configured: set SHELFCAM_MQTT_URL, SHELFCAM_NOTIFY_URLS or "
            "SHELFCAM_WEBHOOK_URLS (docs/integrations.md)",
            file=sys.stderr,
        )
        return 1
    for answer in answers:
        verdict = "ok" if answer.ok else "FAILED"
        print(f"{answer.name:<18} {verdict:<6} {answer.label}: {answer.said}")
    return 0 if all(answer.ok for answer in answers) else 1
