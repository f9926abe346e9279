"""Import rules of the codebase, checked by walking the source with `ast`.

- `bot/domain` is plain Python: no I/O libraries, no adapters.
- Only `bot/teams` imports botbuilder (and its msrest/botframework companions).
- Nothing in `bot/` or `cards/` imports the sandbox.
- Adapters never import the composition root; cards stay pure.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
IO_LIBRARIES = {
    "aiohttp",
    "botbuilder",
    "botframework",
    "msrest",
    "httpx",
    "msal",
    "sqlalchemy",
    "asyncpg",
    "aiosqlite",
    "alembic",
    "structlog",
    "requests",
    "jinja2",
    "apscheduler",
    "prometheus_client",
    "socket",
    "urllib",
    "subprocess",
}
ADAPTERS = {
    "bot.teams",
    "bot.graph",
    "bot.store",
    "bot.delivery",
    "bot.scheduler",
    "bot.identity",
    "bot.app",
    "bot.config",
    "bot.web",
}
BOTBUILDER = {"botbuilder", "botframework", "msrest"}


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text("utf-8"), filename=str(path))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


def _modules(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


def _rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def _top(name: str) -> str:
    return name.split(".")[0]


def _under(name: str, packages: set[str]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in packages)


@pytest.mark.parametrize("path", _modules("bot/domain"), ids=_rel)
def test_domain_is_plain_python(path: Path) -> None:
    bad = [n for n in _imports(path) if _top(n) in IO_LIBRARIES or _under(n, ADAPTERS)]
    assert not bad, f"{_rel(path)} imports {bad}"


@pytest.mark.parametrize("path", _modules("bot") + _modules("cards"), ids=_rel)
def test_botbuilder_only_in_teams_package(path: Path) -> None:
    if _rel(path).startswith("bot/teams/"):
        return
    bad = [n for n in _imports(path) if _top(n) in BOTBUILDER]
    assert not bad, f"{_rel(path)} imports {bad}; botbuilder belongs in bot/teams/ only"


@pytest.mark.parametrize("path", _modules("bot") + _modules("cards"), ids=_rel)
def test_production_code_never_imports_sandbox(path: Path) -> None:
    bad = [n for n in _imports(path) if _top(n) in {"sandbox", "tests", "bench"}]
    assert not bad, f"{_rel(path)} imports {bad}"


@pytest.mark.parametrize("path", _modules("bot"), ids=_rel)
def test_only_the_entry_points_import_the_composition_root(path: Path) -> None:
    if _rel(path) in {"bot/app.py", "bot/__main__.py"}:
        return
    bad = [n for n in _imports(path) if _under(n, {"bot.app", "bot.__main__"})]
    assert not bad, f"{_rel(path)} imports the composition root: {bad}"


@pytest.mark.parametrize("path", _modules("cards"), ids=_rel)
def test_cards_are_pure_builders(path: Path) -> None:
    bad = [n for n in _imports(path) if _top(n) in IO_LIBRARIES - {"jinja2"} or _under(n, ADAPTERS)]
    assert not bad, f"{_rel(path)} imports {bad}"


def test_rules_see_the_code() -> None:
    """Guard against the walk silently finding nothing (a moved folder would pass every rule)."""
    assert len(_modules("bot/domain")) >= 3
    assert any(_rel(p).startswith("bot/teams/") for p in _modules("bot"))
