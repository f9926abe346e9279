"""The Teams app package is valid against Microsoft's manifest schema and lists our commands."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import jsonschema
import pytest

from appPackage.build import PackageError, build, manifest
from cards.commands import COMMANDS

SCHEMAS = Path(__file__).resolve().parents[2] / "node_modules/@microsoft/app-manifest/build"
BOT_ID = "44444444-4444-4444-4444-444444444444"


def _schema(manifest_version: str) -> object:
    path = SCHEMAS / f"json-schemas/teams/v{manifest_version}/MicrosoftTeams.schema.json"
    if not path.is_file():
        pytest.fail(f"{path} is missing: run `npm ci` (make install does it)")
    # The package's schema files contain a stray "\a" escape, which it also rewrites itself.
    return json.loads(path.read_text().replace("\\a", "\\u0007"))


def test_the_built_package_holds_a_schema_valid_manifest_and_both_icons(tmp_path: Path) -> None:
    path = build(tmp_path, bot_id=BOT_ID)
    with zipfile.ZipFile(path) as archive:
        assert sorted(archive.namelist()) == ["color.png", "manifest.json", "outline.png"]
        data = json.loads(archive.read("manifest.json"))
        assert archive.read("color.png").startswith(b"\x89PNG")
    jsonschema.validate(data, _schema(data["manifestVersion"]))
    assert data["id"] == data["bots"][0]["botId"] == BOT_ID
    titles = [c["title"] for c in data["bots"][0]["commandLists"][0]["commands"]]
    assert titles == [word for word, _ in COMMANDS]


def test_the_same_inputs_give_the_same_bytes(tmp_path: Path) -> None:
    first = build(tmp_path / "a", bot_id=BOT_ID).read_bytes()
    assert build(tmp_path / "b", bot_id=BOT_ID).read_bytes() == first


def test_a_missing_or_malformed_bot_id_is_refused_with_the_setting_named() -> None:
    with pytest.raises(PackageError, match="MicrosoftAppId must be a GUID"):
        manifest(bot_id="")
    with pytest.raises(PackageError, match="TEAMS_MANIFEST_ID must be a GUID"):
        manifest(bot_id=BOT_ID, manifest_id="my-app")
