"""`make run` chooses between the sandbox and production by the presence of Azure settings."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from sandbox.run import production_configured


def test_an_app_id_in_the_environment_or_dotenv_means_production(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    assert not production_configured({}, env_file)
    assert production_configured({"MicrosoftAppId": "a1b2"}, env_file)
    env_file.write_text("# Azure\nMicrosoftAppId = 'a1b2'\n")
    assert production_configured({}, env_file)
    env_file.write_text("MicrosoftAppId=\nGRAPH_TENANT_ID=x\n")
    assert not production_configured({}, env_file)


def test_production_mode_runs_the_bot_alone_and_it_reports_missing_settings(
    tmp_path: Path,
) -> None:
    result = subprocess.run(  # noqa: S603  # our own interpreter and module
        [sys.executable, "-m", "sandbox.run", "--workdir", str(tmp_path)],
        env={"MicrosoftAppId": "44444444-4444-4444-4444-444444444444", "PATH": "/usr/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).resolve().parents[2],
        check=False,
    )
    assert "running the bot alone (production mode)" in result.stdout
    assert result.returncode == 2
    assert "MicrosoftAppPassword" in result.stderr
    assert "GRAPH_TENANT_ID is required" in result.stderr
