"""A newcomer starts the sandbox and finds Olivia's joiner reminders in her Playground at once:
Ethan Walsh (3 days) and Mia Rossi (6 days), not Oscar Nguyen (10 days). "Not needed" updates
the card in place; one click on "Issue for day one" gives Mia a pass that starts at the first
instant of her first day (Europe/London) and emails it to her personal address.

This module starts a sandbox of its own: the Playground hands messages sent before anyone
looked to the first WebSocket that connects, which must be this test's, as it would be the
newcomer's browser.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest

from sandbox import org
from sandbox.run import Ports, Sandbox
from sandbox.stack import free_port
from tests.e2e.playground_client import Event, PlaygroundClient, card_of
from tests.e2e.sandbox_api import outbox, passes

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def fresh_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    workdir: Path = tmp_path_factory.mktemp("joiners")
    ports = Ports(
        bot=free_port(), manager_playground=free_port(), helpdesk_playground=free_port(), tenant=0
    )
    running = Sandbox(workdir, ports)
    running.start()
    yield running
    running.stop()


@pytest.fixture
async def olivia(fresh_sandbox: Sandbox) -> AsyncIterator[PlaygroundClient]:
    async with aiohttp.ClientSession() as http:
        client = PlaygroundClient(fresh_sandbox.playgrounds[0].url, http)
        await client.connect()  # no drain: what waited for the newcomer is the point
        yield client
        await client.close()


def _names(card: dict[str, Any]) -> list[str]:
    return [
        run["text"]
        for block in card.get("body", [])
        if block.get("type") == "RichTextBlock"
        for run in block["inlines"]
        if run.get("weight") == "Bolder"
    ]


async def _reminders(chat: PlaygroundClient, count: int) -> dict[str, Event]:
    """The first *count* reminder cards to arrive, by joiner name."""
    found: dict[str, Event] = {}
    while len(found) < count:
        event = await chat.next_message(
            lambda e: "A new joiner starts soon" in json.dumps(card_of(e) or {})
        )
        card = card_of(event)
        assert card is not None
        found[_names(card)[0]] = event
    return found


async def test_olivia_finds_the_reminders_answers_one_and_issues_the_other_in_one_click(
    fresh_sandbox: Sandbox, olivia: PlaygroundClient
) -> None:
    assert "Ethan Walsh, starts" in fresh_sandbox.joiner_sweep
    assert "Oscar Nguyen" not in fresh_sandbox.joiner_sweep

    reminders = await _reminders(olivia, 2)

    assert set(reminders) == {"Ethan Walsh", "Mia Rossi"}
    with pytest.raises(asyncio.TimeoutError):
        await olivia.next_message(lambda e: "Oscar Nguyen" in json.dumps(e), wait_seconds=2)
    ethan = reminders["Ethan Walsh"]
    card = card_of(ethan)
    assert card is not None
    text = json.dumps(card)
    assert "(in 3 days)" in text
    assert "Junior Accountant" in text
    assert [a["title"] for a in card["actions"]] == [
        "Issue for day one",
        "Not needed",
        "Remind me tomorrow",
    ]

    not_needed = card["actions"][1]
    answer = await olivia.invoke(
        ethan["message"]["messageId"], not_needed["verb"], not_needed["data"]
    )

    assert answer["type"] == "application/vnd.microsoft.card.adaptive"
    assert "Marked not needed" in json.dumps(answer["value"])
    assert "Ethan Walsh" in _names(answer["value"])

    await _one_click_issues_mias_pass_for_day_one(fresh_sandbox, olivia, reminders["Mia Rossi"])


async def _one_click_issues_mias_pass_for_day_one(
    sandbox: Sandbox, olivia: PlaygroundClient, mia: Event
) -> None:
    card = card_of(mia)
    assert card is not None
    [choices] = [b for b in card["body"] if b.get("id") == "delivery"]
    offered = {c["value"]: c["title"] for c in choices["choices"]}
    assert offered["email"] == "By email to m•••@example.org"
    assert "sms" not in offered  # Mia has no mobile number
    issue = card["actions"][0]
    assert issue["title"] == "Issue for day one"

    answer = await olivia.invoke(
        mia["message"]["messageId"], issue["verb"], issue["data"] | {"delivery": "email"}
    )

    assert "Pass issued for Mia Rossi" in json.dumps(answer["value"], ensure_ascii=False)
    async with aiohttp.ClientSession(base_url=sandbox.tenant["base_url"]) as tenant:
        issued, sent = (await passes(tenant))[org.JOINER_IDS[1]], await outbox(tenant)
    london = ZoneInfo("Europe/London")
    hire_day = (datetime.now(UTC) + timedelta(days=6)).date()
    day_one = datetime.combine(hire_day, time(0), london).astimezone(UTC)
    assert datetime.fromisoformat(issued["startDateTime"]) == day_one
    [mail] = [m for m in sent if m["carriesPass"]]
    assert mail["to"] == ["mia.rossi@example.org"]
