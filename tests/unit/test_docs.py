"""Every setting and every command is documented (docs/configuration.md, docs/cli.md)."""

from __future__ import annotations

import argparse
from pathlib import Path

from shelfcam.cli import build_parser
from shelfcam.config import documented_settings

DOCS = Path(__file__).resolve().parents[2] / "docs"


def _commands(parser: argparse.ArgumentParser, prefix: str = "shelfcam") -> list[str]:
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                path = f"{prefix} {name}"
                children = _commands(sub, path)
                found.extend(children or [path])
    return found


def test_every_setting_is_documented() -> None:
    text = (DOCS / "configuration.md").read_text()
    missing = [name for name in documented_settings() if f"`{name}`" not in text]
    assert missing == []


def test_every_command_is_documented() -> None:
    text = (DOCS / "cli.md").read_text()
    commands = _commands(build_parser())
    assert "shelfcam device add" in commands
    missing = [command for command in commands if f"`{command}" not in text]
    assert missing == []


def test_every_command_has_an_example_in_its_help() -> None:
    parser = build_parser()
    for command in _commands(parser):
        words = command.split()[1:]
        sub = parser
        for word in words:
            action = next(a for a in sub._actions if isinstance(a, argparse._SubParsersAction))
            sub = action.choices[word]
        assert "example:" in (sub.epilog or ""), command


def test_every_threshold_is_documented_with_its_default() -> None:
    from dataclasses import fields

    from shelfcam.engine.config import Thresholds

    text = (DOCS / "tuning.md").read_text()
    defaults = Thresholds()
    for field in fields(Thresholds):
        row = next(
            (line for line in text.splitlines() if line.startswith(f"| `{field.name}` |")), None
        )
        assert row is not None, field.name
        assert row.split("|")[2].strip() == f"{getattr(defaults, field.name)}", field.name
