"""pyproject.toml declares what the code imports, and nothing it does not: the package's
dependencies for src/, the dev group for tests/ and benchmarks/."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def _name(requirement: str) -> str:
    found = re.match(r"[A-Za-z0-9_.-]+", requirement)
    assert found is not None, requirement
    return found.group(0).lower().replace("_", "-")


def _type_only(tree: ast.Module) -> set[ast.AST]:
    """The nodes inside ``if TYPE_CHECKING:`` blocks (imports for the type checker only)."""
    inside: set[ast.AST] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and ast.unparse(node.test) in (
            "TYPE_CHECKING",
            "typing.TYPE_CHECKING",
        ):
            for child in node.body:
                inside |= set(ast.walk(child))
    return inside


def _imported(folder: Path, *, type_only: bool = False) -> set[str]:
    """Top-level modules imported anywhere under ``folder`` (not the standard library's,
    not the project's own): those imported at run time, or with ``type_only`` those
    imported for the type checker only."""
    found: set[str] = set()
    for path in folder.rglob("*.py"):
        tree = ast.parse(path.read_text(), str(path))
        checking = _type_only(tree)
        for node in ast.walk(tree):
            if (node in checking) != type_only:
                continue
            if isinstance(node, ast.Import):
                found |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                found.add(node.module.split(".")[0])
    own = {"shelfcam", "tests", "benchmarks", "__future__"}
    return {m for m in found if m not in sys.stdlib_module_names and m not in own}


def _distributions(modules: set[str]) -> dict[str, set[str]]:
    where = packages_distributions()
    return {m: {d.lower().replace("_", "-") for d in where.get(m, [])} for m in modules}


RUNTIME = {_name(r) for r in PROJECT["project"]["dependencies"]}
DEV = {_name(r) for r in PROJECT["dependency-groups"]["dev"]}


def test_src_imports_only_declared_dependencies() -> None:
    undeclared = {
        m: d for m, d in _distributions(_imported(ROOT / "src")).items() if not d & RUNTIME
    }
    assert undeclared == {}


def test_every_dependency_is_imported_by_src() -> None:
    used = set().union(*_distributions(_imported(ROOT / "src")).values())
    assert RUNTIME - used == set()


def test_tests_and_benchmarks_import_declared_packages() -> None:
    modules = _imported(ROOT / "tests") | _imported(ROOT / "benchmarks")
    undeclared = {m: d for m, d in _distributions(modules).items() if not d & (RUNTIME | DEV)}
    assert undeclared == {}


def test_type_only_imports_of_src_are_dev_dependencies() -> None:
    modules = _imported(ROOT / "src", type_only=True)
    undeclared = {m: d for m, d in _distributions(modules).items() if not d & DEV}
    assert undeclared == {}
