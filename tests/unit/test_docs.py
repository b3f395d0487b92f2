"""Every setting and every command is documented (docs/configuration.md, docs/cli.md)."""

from __future__ import annotations

import argparse
import importlib
import re
from pathlib import Path

import annotated_types

from shelfcam.cli import build_parser
from shelfcam.config import Settings, documented_settings

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


def _table_rows() -> dict[str, tuple[str, str]]:
    """Setting -> (default cell, range cell) of the table in docs/configuration.md."""
    rows = {}
    for line in (DOCS / "configuration.md").read_text().splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        found = re.fullmatch(r"`(SHELFCAM_[A-Z0-9_]+)`", cells[0]) if len(cells) >= 4 else None
        if found:
            rows[found.group(1)] = (cells[1], cells[2])
    return rows


def _shown(value: object) -> str:
    if value is None:
        return "unset"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def test_documented_defaults_and_ranges_match_the_settings() -> None:
    rows = _table_rows()
    for name, field in Settings.model_fields.items():
        env = f"SHELFCAM_{name.upper()}"
        default_cell, range_cell = rows[env]
        default = re.match(r"`([^`]*)`", default_cell)
        shown = default.group(1) if default else default_cell.split()[0]
        assert shown == _shown(field.default), env
        # A range written as "low-high" (">low-high" for an open bound) must be the field's.
        plain = re.fullmatch(r"(>?)(\d+)-(\d+)", range_cell)
        if plain is None:
            continue
        bounds = {type(m).__name__: m for m in field.metadata}
        low = bounds["Gt"] if plain.group(1) else bounds["Ge"]
        assert isinstance(low, annotated_types.Gt | annotated_types.Ge), env
        assert int(plain.group(2)) == (low.gt if isinstance(low, annotated_types.Gt) else low.ge)
        high = bounds["Le"]
        assert isinstance(high, annotated_types.Le), env
        assert int(plain.group(3)) == high.le, env


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


ROOT = DOCS.parent
PACKAGE = ROOT / "src" / "shelfcam"
PATH = r"(?<![\w.:/-])((?:[\w-]+/)+[\w-]+\.(?:py|md|toml|sql))\b"
"""A file named by its path (``engine/stock.py``); not one beside the checkout (``../``)."""
READ = [*sorted(DOCS.glob("*.md")), ROOT / "README.md", ROOT / "CONTRIBUTING.md"]


def _code_spans(path: Path) -> list[str]:
    return re.findall(r"`([^`\n]+)`", path.read_text())


def _resolves(dotted: str) -> bool:
    """``shelfcam.a.b.name``: the longest module prefix imports and the rest are its
    attributes."""
    parts = dotted.split(".")
    for cut in range(len(parts), 1, -1):
        module = PACKAGE.joinpath(*parts[1:cut])
        if module.with_suffix(".py").is_file() or (module / "__init__.py").is_file():
            try:
                found: object = importlib.import_module(".".join(parts[:cut]))
                for name in parts[cut:]:
                    found = getattr(found, name)
            except (ImportError, AttributeError):
                return False
            return True
    return False


def test_every_module_the_docs_name_exists() -> None:
    """A reader of the repository alone can follow every reference (docs/architecture.md)."""
    packages = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()}
    modules = {p.stem for p in PACKAGE.glob("*.py")}
    broken = []
    for doc in READ:
        for span in _code_spans(doc):
            for dotted in re.findall(r"\bshelfcam(?:\.\w+)+(?!\w*/)", span):
                if dotted.split(".")[1] in packages | modules and not _resolves(dotted):
                    broken.append(f"{doc.name}: {dotted}")
            for path in re.findall(PATH, span):
                places = (ROOT / path, ROOT / "src" / path, PACKAGE / path, ROOT / "tests" / path)
                if not any(place.is_file() for place in places):
                    broken.append(f"{doc.name}: {path}")
    assert broken == []


def test_the_map_names_every_package_and_nothing_cites_an_outside_design() -> None:
    architecture = (DOCS / "architecture.md").read_text()
    for package in sorted(p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()):
        assert f"`{package}/`" in architecture, package
    citing = [
        str(path.relative_to(ROOT))
        for folder in ("src", "docs", "tests", "benchmarks")
        for path in (ROOT / folder).rglob("*")
        if path.suffix in {".py", ".md", ".sql", ".toml", ".html"}
        and "DESIGN" + ".md" in path.read_text()
    ]
    assert citing == []
