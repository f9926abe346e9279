"""``python -m bot joiners sweep``: prints what it found and did; its exit status tells."""

from __future__ import annotations

import dataclasses
import io
from datetime import UTC, datetime, time, timedelta

import pytest

from bot.__main__ import main
from bot.app import GraphComponents, open_joiners
from bot.cli import joiners_sweep
from bot.config import Settings
from bot.domain.errors import DirectoryUnavailable
from bot.domain.model import ConversationRecord
from tests.bot.conftest import BASE_SETTINGS, MANAGER, TENANT_ID, seeded_directory
from tests.bot.connector import RecordingConnector
from tests.twins.clock import ManualClock
from tests.twins.directory import FakeDirectory, person
from tests.twins.store import MemoryStore

NOW = datetime(2025, 6, 10, 7, 0, tzinfo=UTC)


async def _healthy() -> None:
    return None


def _world(connector: RecordingConnector) -> tuple[FakeDirectory, MemoryStore, ManualClock]:
    clock = ManualClock(NOW)
    directory = seeded_directory(clock)
    for name, user_id, days in (
        ("Ethan Walsh", "10000000-0000-4000-8000-000000000021", 3),
        ("Oscar Nguyen", "10000000-0000-4000-8000-000000000023", 10),
    ):
        hired = datetime.combine(NOW.date() + timedelta(days=days), time(0), UTC)
        directory.add_user(
            dataclasses.replace(person(name, id=user_id), employee_hire_date=hired),
            manager_id=MANAGER.id,
        )
    store = MemoryStore()
    store._conversations[f"user:{MANAGER.id}"] = ConversationRecord(
        key=f"user:{MANAGER.id}",
        tenant_id=TENANT_ID,
        reference={
            "channelId": "msteams",
            "serviceUrl": connector.url,
            "bot": {"id": "28:tapbot"},
            "user": {"id": f"29:{MANAGER.id}", "aadObjectId": MANAGER.id},
            "conversation": {"id": f"a:{MANAGER.id}", "conversationType": "personal"},
        },
        updated_at=NOW,
    )
    return directory, store, clock


async def _sweep(
    directory: FakeDirectory, store: MemoryStore, clock: ManualClock, **extra: str
) -> tuple[int, str]:
    settings = Settings.from_env(BASE_SETTINGS | {"TIMEZONE": "Europe/London"} | extra)
    graph = GraphComponents(directory, directory, directory, _healthy)
    out = io.StringIO()
    status = await joiners_sweep(
        lambda: open_joiners(settings, store=store, graph=graph, clock=clock), out
    )
    return status, out.getvalue()


async def test_it_prints_each_joiner_and_a_summary(connector: RecordingConnector) -> None:
    status, printed = await _sweep(*_world(connector))

    assert status == 0
    assert printed.splitlines() == [
        "Joiner sweep for Tue 10 Jun (Europe/London): hire dates from Sun 8 Jun to Tue 17 Jun.",
        "  Ethan Walsh, starts Fri 13 Jun (in 3 days): reminder sent to Megan Bowen",
        "1 joiner in the window: 1 reminded, 0 skipped, 0 unreachable, 0 failed.",
    ]
    assert len(connector.sent) == 1


async def test_with_auto_issue_it_says_the_pass_was_asked_for(
    connector: RecordingConnector,
) -> None:
    directory, store, clock = _world(connector)
    ethan = "10000000-0000-4000-8000-000000000021"
    directory.users[ethan] = dataclasses.replace(
        directory.users[ethan], other_mails=("ethan@example.net",)
    )
    directory.set_created(ethan, NOW - timedelta(days=4))
    directory.add_user(person("tapbot Notifications", user_principal_name="tapbot@contoso.example"))

    status, printed = await _sweep(
        directory,
        store,
        clock,
        JOINER_AUTO_ISSUE="true",
        MAIL_SENDER="tapbot@contoso.example",
    )

    assert status == 0
    # tapbot has no earlier record of Ethan's manager here: the helpdesk approves first.
    assert (
        "  Ethan Walsh, starts Fri 13 Jun (in 3 days): reminder sent to Megan Bowen; "
        "pass asked for automatically, pending approval"
    ) in printed.splitlines()
    [request] = await store.list_requests()
    assert request.target_id == ethan


async def test_a_second_run_says_it_was_already_handled(connector: RecordingConnector) -> None:
    world = _world(connector)
    await _sweep(*world)

    status, printed = await _sweep(*world)

    assert status == 0
    assert "  Ethan Walsh, starts Fri 13 Jun (in 3 days): skipped (already reminded)" in printed
    assert len(connector.sent) == 1


async def test_a_directory_failure_exits_one_and_says_to_run_again(
    connector: RecordingConnector,
) -> None:
    directory, store, clock = _world(connector)
    directory.fail("list_joiners", DirectoryUnavailable("down", code="serviceNotAvailable"))

    status, printed = await _sweep(directory, store, clock)

    assert status == 1
    assert "The directory stopped answering while listing joiners (serviceNotAvailable)" in printed


def test_unknown_arguments_and_bad_settings_exit_two(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["joiners", "sweep", "--now"]) == 2
    assert "usage: python -m bot" in capsys.readouterr().err

    monkeypatch.chdir("/")
    for name in BASE_SETTINGS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TIMEZONE", "Mars/Olympus")
    assert main(["joiners", "sweep"]) == 2
    assert "TIMEZONE='Mars/Olympus' is not an IANA time zone" in capsys.readouterr().err
