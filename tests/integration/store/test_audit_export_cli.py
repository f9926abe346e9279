"""``python -m bot audit export`` as an operator runs it: output, errors and exit codes."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from bot.audit_export import COLUMNS, MOMENT_FORMAT
from bot.domain.model import AuditEvent
from bot.store.sql import create_store, migrate
from tests.integration.store.support import T0

ROOT = Path(__file__).resolve().parents[3]
SETTINGS = {
    "GRAPH_TENANT_ID": "11111111-1111-4111-8111-111111111111",
    "GRAPH_CLIENT_ID": "22222222-2222-4222-8222-222222222222",
    "GRAPH_CLIENT_SECRET": "export-only",
}


def _run(*args: str, **env: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(  # noqa: S603  # our own module, fixed arguments
        [sys.executable, "-m", "bot", *args],
        cwd=ROOT,
        env=os.environ | SETTINGS | env,
        capture_output=True,
        timeout=60,
        check=False,
    )


async def _database(tmp_path: Path, events: int) -> str:
    url = f"sqlite:///{tmp_path / 'tapbot.db'}"
    await migrate(url)
    store = create_store(url)
    try:
        for n in range(events):
            event = AuditEvent(
                at=T0 + timedelta(minutes=n), action="pass", outcome="issued", actor_id="m1"
            )
            await store.append_audit(event)
    finally:
        await store.close()
    return url


async def test_the_export_goes_to_stdout_for_the_window_given(tmp_path: Path) -> None:
    url = await _database(tmp_path, 5)
    done = _run(
        "audit", "export", "--since", "2025-06-09T08:01:00Z", "--until", "2025-06-09T08:04",
        "--format", "csv", DATABASE_URL=url,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = done.stdout.decode().splitlines()
    assert lines[0] == ",".join(COLUMNS)
    assert [line.split(",")[0] for line in lines[1:]] == ["2", "3", "4"]
    assert done.stderr == b""


async def test_a_malformed_since_is_exit_2_naming_the_format(tmp_path: Path) -> None:
    url = await _database(tmp_path, 1)
    done = _run("audit", "export", "--since", "last monday", "--format", "json", DATABASE_URL=url)
    assert done.returncode == 2
    assert done.stdout == b""
    error = done.stderr.decode()
    assert "usage: python -m bot audit export" in error
    assert f"--since must be {MOMENT_FORMAT}" in " ".join(error.split())


async def test_an_unreadable_database_is_exit_1_with_nothing_written(tmp_path: Path) -> None:
    a_file = tmp_path / "file"
    a_file.write_text("")
    done = _run(
        "audit", "export", "--since", "2025-01-01", "--format", "csv",
        DATABASE_URL=f"sqlite:///{a_file}/below-a-file.db",
    )  # fmt: skip
    assert done.returncode == 1
    assert done.stdout == b""
    assert done.stderr.decode().startswith("audit export failed: store list_audit failed")


def test_settings_problems_are_exit_2_listing_them() -> None:
    done = _run("audit", "export", "--since", "2025-01-01", "--format", "csv", GRAPH_TENANT_ID="")
    assert done.returncode == 2
    assert "GRAPH_TENANT_ID is required" in done.stderr.decode()


def test_an_unknown_command_is_exit_2_with_the_usage() -> None:
    done = _run("serve-please")
    assert done.returncode == 2
    assert "usage: python -m bot" in done.stderr.decode()
