"""pyproject.toml declares exactly the distributions the code imports.

The shipped code (bot/, cards/, sandbox/, appPackage/, bench/) may import only the main
dependencies, and every main dependency must be imported by it; tests/ may import main and
``dev`` ones. Imports are found by walking the source with `ast` (function-level imports
included) and mapped to distributions with `importlib.metadata.packages_distributions`, so the
check reads the installed virtualenv.
"""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
import tomllib
from collections.abc import Iterable
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ("bot", "cards", "sandbox", "appPackage", "bench")
LOCAL = frozenset({*SHIPPED, "tests"})

# Declared but not imported yet: other branches of this round import them (apscheduler for
# joiner scheduling). Empty this once it is merged.
WORK_IN_PROGRESS = frozenset({"apscheduler"})
# Used without an import statement, each for the reason given.
USED_WITHOUT_IMPORT = {
    "aiosqlite": "SQLAlchemy loads it for DATABASE_URL sqlite+aiosqlite://",
    "asyncpg": "SQLAlchemy loads it for DATABASE_URL postgresql+asyncpg://",
    "ruff": "a command: make lint",
    "mypy": "a command: make typecheck",
    "pytest-asyncio": "the pytest plugin that runs the async tests (asyncio_mode = auto)",
    "sniffio": "httpcore looks for it on every request; without it, it searches the disk",
}


def _normalise(name: str) -> str:
    """A distribution name as PEP 503 compares them."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _names(requirements: Iterable[str]) -> set[str]:
    found = set()
    for requirement in requirements:
        match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
        assert match, f"cannot read the name in {requirement!r}"
        found.add(_normalise(match.group(1)))
    return found


@cache
def _declared() -> tuple[frozenset[str], frozenset[str]]:
    """(main, dev) distribution names from pyproject.toml."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    main = _names(project["dependencies"])
    dev = _names(project.get("optional-dependencies", {}).get("dev", []))
    return frozenset(main), frozenset(dev)


def _imported_modules(folders: Iterable[str]) -> dict[str, set[str]]:
    """Every absolute import outside the standard library and our own packages, with the files
    that import it."""
    found: dict[str, set[str]] = {}
    for folder in folders:
        for path in sorted((ROOT / folder).rglob("*.py")):
            tree = ast.parse(path.read_text("utf-8"), filename=str(path))
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    modules = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    modules = [node.module]
                else:
                    continue
                for module in modules:
                    top = module.split(".")[0]
                    if top in sys.stdlib_module_names or top in LOCAL:
                        continue
                    found.setdefault(module, set()).add(path.relative_to(ROOT).as_posix())
    return found


@cache
def _top_level_owners() -> dict[str, list[str]]:
    return importlib.metadata.packages_distributions()


@cache
def _files_of(distribution: str) -> frozenset[str]:
    files = importlib.metadata.distribution(distribution).files or []
    return frozenset(str(file) for file in files)


def _distributions_of(module: str) -> set[str]:
    """The distributions that provide *module*; for a namespace package shared by several
    (botbuilder, botframework) the one whose files hold the module's own path."""
    owners = _top_level_owners().get(module.split(".")[0], [])
    if len(owners) <= 1:
        return {_normalise(owner) for owner in owners}
    parts = module.split(".")
    for length in range(len(parts), 0, -1):
        prefix = "/".join(parts[:length])
        providing = {
            owner
            for owner in owners
            if any(f.startswith(prefix + "/") or f == prefix + ".py" for f in _files_of(owner))
        }
        if providing:
            return {_normalise(owner) for owner in providing}
    return {_normalise(owner) for owner in owners}


def _undeclared(folders: Iterable[str], allowed: frozenset[str]) -> list[str]:
    """One line per distribution imported from *folders* but not in *allowed*."""
    problems: dict[str, str] = {}
    for module, files in sorted(_imported_modules(folders).items()):
        distributions = _distributions_of(module)
        where = f"{module} in {sorted(files)[0]}"
        if not distributions:
            problems.setdefault(module.split(".")[0], f"{where}: not installed at all")
        elif not distributions & allowed:
            name = " or ".join(sorted(distributions))
            problems.setdefault(name, f"{name} is imported ({where}) but not declared")
    return sorted(problems.values())


def _used_by(folders: Iterable[str]) -> set[str]:
    used: set[str] = set()
    for module in _imported_modules(folders):
        used |= _distributions_of(module)
    return used


def test_the_shipped_code_imports_only_main_dependencies() -> None:
    main, _dev = _declared()
    assert _undeclared(SHIPPED, main) == []


def test_the_tests_import_only_main_and_dev_dependencies() -> None:
    main, dev = _declared()
    assert _undeclared(["tests"], main | dev) == []


def test_every_main_dependency_is_imported_by_the_shipped_code() -> None:
    main, _dev = _declared()
    used = _used_by(SHIPPED) | WORK_IN_PROGRESS | set(USED_WITHOUT_IMPORT)
    assert sorted(main - used) == []


def test_every_dev_dependency_is_imported_by_the_tests_or_used_as_a_tool() -> None:
    main, dev = _declared()
    used = _used_by(["tests"]) | set(USED_WITHOUT_IMPORT)
    assert sorted(dev - used - main) == []


def test_the_allow_lists_name_only_declared_distributions() -> None:
    """A stale entry would hide a dependency nobody uses any more."""
    main, dev = _declared()
    assert sorted(WORK_IN_PROGRESS - main) == []
    assert sorted(set(USED_WITHOUT_IMPORT) - main - dev) == []
    assert not WORK_IN_PROGRESS & _used_by(SHIPPED), "imported now: remove from WORK_IN_PROGRESS"


def test_the_walk_sees_the_imports() -> None:
    """Guard against a walk that silently finds nothing (every rule above would pass)."""
    assert "aiohttp" in _used_by(SHIPPED)
    assert {"botbuilder-core", "botframework-connector"} <= _used_by(["bot"])
    assert "pytest" in _used_by(["tests"])
