"""Build the Teams app package (``make package``): ``dist/tapbot-<version>.zip``.

The zip holds ``manifest.json`` (from ``manifest.template.json``) and the two icons. The bot id
is ``MicrosoftAppId``; the manifest's app id is ``TEAMS_MANIFEST_ID``, or the bot id when unset.
Both are read from the environment or ``.env``, as the bot reads its settings. Upload the zip
in Teams admin center (or Developer Portal) for the organisation. The id Teams then gives the
app in the organisation's catalog is another (``TEAMS_APP_ID``, which the bot uses to install
it for people through Graph); only a store app keeps its manifest id.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tomllib
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cards.commands import COMMANDS

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
_GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
# Zip entries carry this fixed time so the same inputs give byte-identical packages.
_FIXED_TIME = (2020, 1, 1, 0, 0, 0)


class PackageError(ValueError):
    """The settings cannot make a valid package; the message says which and why."""


def version() -> str:
    with (ROOT / "pyproject.toml").open("rb") as file:
        value: str = tomllib.load(file)["project"]["version"]
    return value


def manifest(*, bot_id: str, manifest_id: str = "", app_version: str | None = None) -> Any:
    """The manifest for *bot_id* (a GUID); *manifest_id* (the app's id in it) defaults to it."""
    app_id = manifest_id or bot_id
    problems = [
        f"{name} must be a GUID (got {value!r})"
        for name, value in (("MicrosoftAppId", bot_id), ("TEAMS_MANIFEST_ID", app_id))
        if not _GUID.match(value)
    ]
    if problems:
        raise PackageError("; ".join(problems))
    text = (HERE / "manifest.template.json").read_text()
    for key, value in {
        "version": app_version or version(),
        "manifest_id": app_id,
        "bot_id": bot_id,
    }.items():
        text = text.replace("{{" + key + "}}", value)
    data = json.loads(text)
    commands = [{"title": word, "description": description} for word, description in COMMANDS]
    data["bots"][0]["commandLists"][0]["commands"] = commands
    return data


def build(out_dir: Path, *, bot_id: str, manifest_id: str = "") -> Path:
    """Write the package into *out_dir* and return its path."""
    data = manifest(bot_id=bot_id, manifest_id=manifest_id)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"tapbot-{data['version']}.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        entries = {
            "manifest.json": json.dumps(data, indent=2).encode(),
            "color.png": (HERE / "color.png").read_bytes(),
            "outline.png": (HERE / "outline.png").read_bytes(),
        }
        for name, content in entries.items():
            archive.writestr(zipfile.ZipInfo(name, _FIXED_TIME), content)
    return path


def _settings(environ: Mapping[str, str], env_file: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    if env_file.is_file():
        for line in env_file.read_text().splitlines():
            key, sep, value = line.partition("=")
            if sep and not key.lstrip().startswith("#"):
                values[key.strip()] = value.strip().strip("'\"")
    wanted = {"MicrosoftAppId", "TEAMS_MANIFEST_ID"}
    return values | {k: v for k, v in environ.items() if k in wanted}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make package", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "dist")
    args = parser.parse_args(argv)
    settings = _settings(os.environ, ROOT / ".env")
    try:
        path = build(
            args.out,
            bot_id=settings.get("MicrosoftAppId", ""),
            manifest_id=settings.get("TEAMS_MANIFEST_ID", ""),
        )
    except PackageError as exc:
        print(f"Cannot build the Teams app package: {exc}", file=sys.stderr)
        return 2
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
