"""Joiner reminders through the bot's HTTP surface: the card reaches the manager (or the
helpdesk channel) over the connector, and its buttons answer in place."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, time, timedelta
from typing import Any
from urllib.parse import unquote

import pytest

from bot.app import JOINERS, Joiners
from bot.domain.joiners import JoinerState
from tests.bot.conftest import (
    HELPDESK,
    HELPDESK_GROUP_ID,
    MANAGER,
    NOBODY,
    BotUnderTest,
    StartBot,
    activity,
)
from tests.bot.connector import RecordingConnector
from tests.twins.directory import person

EMMA = person("Emma Brooks", id="aaaaaaaa-0000-0000-0000-0000000000e1", job_title="Designer")
TEAMS_APP = "6d8a1f3c-2e9b-4c7a-b5d4-1a3e5c7f9b22"
CHANNEL = "19:helpdesk@thread.tacv2"


def _joiners(bot: BotUnderTest) -> Joiners:
    return bot.client.server.app[JOINERS]


async def _with_joiner(start_bot: StartBot, **settings: str) -> BotUnderTest:
    bot = await start_bot(**settings)
    start = datetime.combine(bot.clock.now().date() + timedelta(days=3), time(0), UTC)
    bot.directory.add_user(
        dataclasses.replace(EMMA, employee_hire_date=start),
        manager_id=MANAGER.id,
        department="Studio",
    )
    return bot


def _channel(user: Any = HELPDESK) -> dict[str, Any]:
    return {
        "user": user,
        "conversation": {
            "id": f"{CHANNEL};messageid=1",
            "conversationType": "channel",
            "isGroup": True,
            "tenantId": "11111111-1111-1111-1111-111111111111",
        },
        "channelData": {
            "tenant": {"id": "11111111-1111-1111-1111-111111111111"},
            "team": {"id": "19:team@thread.tacv2"},
            "channel": {"id": CHANNEL},
        },
    }


def _card(sent: dict[str, Any]) -> dict[str, Any]:
    [attachment] = sent["attachments"]
    card: dict[str, Any] = attachment["content"]
    return card


def _text(card: dict[str, Any]) -> str:
    return json.dumps(card)


def _lines(card: dict[str, Any]) -> list[str]:
    """Each RichTextBlock's runs joined into one line."""
    return [
        "".join(run["text"] for run in block["inlines"])
        for block in card["body"]
        if block["type"] == "RichTextBlock"
    ]


def _posted_to(connector: RecordingConnector, index: int = -1) -> str:
    """The conversation the connector call *index* went to."""
    path = unquote(connector.paths[index])
    return path.removeprefix("/v3/conversations/").split("/activities")[0]


async def test_the_manager_gets_the_reminder_in_their_chat(
    start_bot: StartBot, connector: RecordingConnector
) -> None:
    bot = await _with_joiner(start_bot)
    await bot.post(activity(connector.url, text="help"))  # the manager has talked to the bot

    report = await _joiners(bot).sweep.run()

    assert report.counts["reminded"] == 1
    reminder = connector.sent[-1]
    assert _posted_to(connector) == f"a:{MANAGER.id}"
    assert not reminder.get("text")  # the card alone, so it can be edited later
    card = _card(reminder)
    assert {"type": "TextRun", "text": "Emma Brooks", "weight": "Bolder"} in card["body"][1][
        "inlines"
    ]
    assert _lines(card)[1:3] == ["Job title: Designer", "Department: Studio"]
    event = await bot.store.get_joiner(EMMA.id, bot.clock.now().date() + timedelta(days=3))
    assert event is not None
    assert (event.state, event.conversation_key) == (JoinerState.REMINDED, f"user:{MANAGER.id}")


async def test_a_manager_never_seen_gets_the_app_installed_and_a_new_chat(
    start_bot: StartBot, connector: RecordingConnector
) -> None:
    bot = await _with_joiner(start_bot, TEAMS_APP_ID=TEAMS_APP)
    # Someone else talked to the bot: that is where the connector is.
    await bot.post(activity(connector.url, text="help", user=NOBODY))

    await _joiners(bot).sweep.run()

    assert (MANAGER.id, TEAMS_APP) in bot.directory.installed_apps
    create = [unquote(p) for p in connector.paths].index("/v3/conversations")
    members = connector.sent[create]["members"]
    assert [m["id"] for m in members] == [MANAGER.id]
    assert connector.sent[create]["isGroup"] is False
    assert "Emma Brooks" in _text(_card(connector.sent[-1]))
    stored = await bot.store.get_conversation(f"user:{MANAGER.id}")
    assert stored is not None
    assert stored.reference["user"]["aadObjectId"] == MANAGER.id


async def test_two_joiners_of_a_manager_never_seen_open_one_chat(
    start_bot: StartBot, connector: RecordingConnector
) -> None:
    bot = await _with_joiner(start_bot, TEAMS_APP_ID=TEAMS_APP)
    start = datetime.combine(bot.clock.now().date() + timedelta(days=5), time(0), UTC)
    bot.directory.add_user(person("Finn Second", employee_hire_date=start), manager_id=MANAGER.id)
    await bot.post(activity(connector.url, text="help", user=NOBODY))

    report = await _joiners(bot).sweep.run()

    assert report.counts["reminded"] == 2
    assert [unquote(p) for p in connector.paths].count("/v3/conversations") == 1


async def test_without_a_chat_or_an_app_id_the_reminder_goes_to_the_helpdesk_channel(
    start_bot: StartBot, connector: RecordingConnector
) -> None:
    bot = await _with_joiner(start_bot)
    # tapbot was installed in the helpdesk's team: that channel is the helpdesk's.
    installed = _channel()
    installed["channelData"]["team"]["aadGroupId"] = HELPDESK_GROUP_ID
    installed["conversation"]["id"] = CHANNEL
    await bot.post(activity(connector.url, type="installationUpdate", action="add", **installed))

    await _joiners(bot).sweep.run()

    assert _posted_to(connector) == CHANNEL
    text = _text(_card(connector.sent[-1]))
    assert "For the helpdesk: " in text
    assert "can't be reached in Teams." in text


async def test_a_configured_helpdesk_channel_is_used_even_before_the_bot_heard_from_it(
    start_bot: StartBot, connector: RecordingConnector
) -> None:
    bot = await _with_joiner(start_bot, HELPDESK_CHANNEL_ID="19:configured@thread.tacv2")
    await bot.post(activity(connector.url, text="help", user=NOBODY))

    await _joiners(bot).sweep.run()

    assert _posted_to(connector) == "19:configured@thread.tacv2"


async def test_nobody_reachable_leaves_the_joiner_open(
    start_bot: StartBot, connector: RecordingConnector
) -> None:
    bot = await _with_joiner(start_bot)

    report = await _joiners(bot).sweep.run()

    assert report.counts["undeliverable"] == 1
    assert connector.sent == []


async def _reminded(start_bot: StartBot, connector: RecordingConnector) -> BotUnderTest:
    bot = await _with_joiner(start_bot)
    await bot.post(activity(connector.url, text="help"))
    await _joiners(bot).sweep.run()
    return bot


def _data(bot: BotUnderTest) -> dict[str, str]:
    day = bot.clock.now().date() + timedelta(days=3)
    return {"joiner_id": EMMA.id, "hire_day": day.isoformat()}


async def test_not_needed_updates_the_card_in_place(
    start_bot: StartBot, connector: RecordingConnector
) -> None:
    bot = await _reminded(start_bot, connector)

    answer = await bot.invoke(connector.url, "joiner.not_needed", _data(bot))

    assert answer["type"] == "application/vnd.microsoft.card.adaptive"
    text = _text(answer["value"])
    assert "Marked not needed" in text
    assert "Emma Brooks" in text
    assert "actions" not in answer["value"]
    event = await bot.store.get_joiner(EMMA.id, bot.clock.now().date() + timedelta(days=3))
    assert event is not None
    assert event.state is JoinerState.NOT_NEEDED


async def test_remind_me_tomorrow_says_when(
    start_bot: StartBot, connector: RecordingConnector
) -> None:
    bot = await _reminded(start_bot, connector)

    answer = await bot.invoke(connector.url, "joiner.tomorrow", _data(bot))

    tomorrow = bot.clock.now().date() + timedelta(days=1)
    assert f"I'll remind you again on {tomorrow:%A} {tomorrow.day} {tomorrow:%B}." in _text(
        answer["value"]
    )


async def test_the_helpdesk_answers_from_the_channel(
    start_bot: StartBot, connector: RecordingConnector
) -> None:
    bot = await _reminded(start_bot, connector)

    answer = await bot.invoke(connector.url, "joiner.not_needed", _data(bot), **_channel())

    assert "Marked not needed" in _text(answer["value"])


async def test_someone_else_is_refused_and_shown_nothing_of_the_joiner(
    start_bot: StartBot, connector: RecordingConnector
) -> None:
    bot = await _reminded(start_bot, connector)

    answer = await bot.invoke(connector.url, "joiner.not_needed", _data(bot), user=NOBODY)

    value = answer["value"]
    assert "Only the joiner's manager or the helpdesk can answer this reminder." in _text(value)
    # The click may be forged (a joiner's id and a guessed day): the reminder is not redrawn.
    assert "Emma Brooks" not in _text(value)
    assert "actions" not in value
    refused = [e for e in await bot.store.list_audit() if e.outcome == "refused"]
    assert [(e.actor_id, e.reason) for e in refused] == [(NOBODY.id, "not_manager_or_helpdesk")]


@pytest.mark.parametrize("data", [{}, {"joiner_id": "x", "hire_day": "yesterday"}])
async def test_tampered_card_data_is_out_of_date(
    start_bot: StartBot, connector: RecordingConnector, data: dict[str, str]
) -> None:
    bot = await _reminded(start_bot, connector)

    answer = await bot.invoke(connector.url, "joiner.not_needed", data)

    assert "This reminder is out of date." in _text(answer["value"])
