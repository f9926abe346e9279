"""Attacks on 'Issue for day one' and JOINER_AUTO_ISSUE through the bot's HTTP surface: who
gets the pass when someone made themselves the joiner's manager, and what a clicker who may
not answer a reminder gets to see."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, time, timedelta
from typing import Any
from urllib.parse import unquote

import pytest

from bot.app import MANAGER_SYNC
from bot.domain.joiners import JoinerState
from bot.domain.model import DirectoryUser, IssuedPass, RequestState
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
from tests.bot.flows import team_channel
from tests.bot.test_joiner_issue import (
    CHANNEL,
    EMMA,
    MAIL,
    _click,
    _hire_day,
    _joiners,
    _reminded,
    _text,
)
from tests.twins.directory import person


async def test_a_manager_who_made_themselves_the_manager_gets_no_copy_of_the_pass(
    start_bot: StartBot, connector: RecordingConnector
) -> None:
    bot = await start_bot(**(MAIL | {"JOINER_AUTO_ISSUE": "true"}))
    bot.directory.add_user(person("tapbot Notifications", user_principal_name=MAIL["MAIL_SENDER"]))
    start = datetime.combine(_hire_day(bot), time(0), UTC)
    bot.directory.add_user(dataclasses.replace(EMMA, employee_hire_date=start))
    bot.directory.set_created(EMMA.id, bot.clock.now() - timedelta(days=4))  # a new account
    # Megan made herself the manager a moment ago: the safeguard sends the automatic request
    # to the helpdesk, whose member approves a pass by email to Emma's personal address.
    bot.directory.set_manager(EMMA.id, MANAGER.id, by=MANAGER.id)
    await bot.client.server.app[MANAGER_SYNC].poll()
    await bot.post(activity(connector.url, text="help"))
    await _joiners(bot).sweep.run()
    [request] = await bot.store.list_requests()
    assert request.state is RequestState.PENDING_APPROVAL

    await bot.invoke(
        connector.url,
        "approval.approve",
        {"request_id": request.id, "stage": "1"},
        user=HELPDESK,
    )

    [mail] = bot.directory.sent_mail
    assert mail.to == ("emma.home@example.net",)
    assert mail.cc == ()
    assert "is in copy" not in mail.html_body


@pytest.mark.parametrize("verb", ["joiner.issue", "joiner.not_needed", "joiner.tomorrow"])
async def test_a_clicker_who_may_not_answer_learns_nothing_about_the_joiner(
    start_bot: StartBot, connector: RecordingConnector, verb: str
) -> None:
    bot = await _reminded(start_bot, connector)

    # Anyone in the tenant can send a click naming a joiner's id and a guessed start day.
    answer = await bot.invoke(connector.url, verb, _click(bot, "email"), user=NOBODY)

    shown = _text(answer["value"])
    assert "Only the joiner's manager or the helpdesk" in shown
    for private in ("Emma Brooks", "Designer", "e•••@example.net", MANAGER.display_name):
        assert private not in shown
    assert "actions" not in answer["value"]
    refused = [e for e in await bot.store.list_audit() if e.outcome == "refused"]
    assert [(e.actor_id, e.reason) for e in refused] == [(NOBODY.id, "not_manager_or_helpdesk")]


def _in_channel(user: DirectoryUser) -> dict[str, Any]:
    """Who clicks, and where: the reminder's copy in the helpdesk channel."""
    tenant = "11111111-1111-1111-1111-111111111111"
    return {
        "user": user,
        "conversation": {
            "id": f"{CHANNEL};messageid=1",
            "conversationType": "channel",
            "isGroup": True,
            "tenantId": tenant,
        },
        "channelData": {
            "tenant": {"id": tenant},
            "team": {"id": "19:team@thread.tacv2"},
            "channel": {"id": CHANNEL},
        },
        "replyToId": "reminder-1",
    }


async def test_the_clickers_own_chat_is_refused_at_the_click_when_they_have_none(
    start_bot: StartBot, connector: RecordingConnector
) -> None:
    bot = await _reminded(start_bot, connector)

    # Hana answers in the channel and has never talked to tapbot in a 1:1 chat: the pass could
    # never reach her, which would be found only after another helpdesk member approved.
    answer = await bot.invoke(
        connector.url, "joiner.issue", _click(bot, "chat_requester"), **_in_channel(HELPDESK)
    )

    assert "I have no chat with you" in _text(answer["value"])
    assert await bot.store.list_requests() == []
    event = await bot.store.get_joiner(EMMA.id, _hire_day(bot))
    assert event is not None
    assert event.state is JoinerState.REMINDED


async def test_a_pass_asked_for_in_the_channel_goes_to_the_clickers_own_chat_only(
    start_bot: StartBot, connector: RecordingConnector, capfd: pytest.CaptureFixture[str]
) -> None:
    bot = await _reminded(start_bot, connector, APPROVAL_MODE="none")
    # Hana has a 1:1 chat with tapbot, and answers the reminder in the channel.
    await bot.post(activity(connector.url, text="help", user=HELPDESK))
    before = len(connector.sent)
    values = _record_pass_values(bot)

    answer = await bot.invoke(
        connector.url, "joiner.issue", _click(bot, "chat_requester"), **_in_channel(HELPDESK)
    )

    [value] = values
    shown = _text(answer["value"])
    assert "Pass issued for Emma Brooks" in shown
    assert value not in shown
    assert "I've sent the pass to you in your chat with tapbot" in shown
    sent = [
        (path, json.dumps(body)) for path, body in zip(connector.paths, connector.sent, strict=True)
    ]
    carrying = [path for path, body in sent[before:] if value in body]
    assert len(carrying) == 1
    assert f"/v3/conversations/a%3A{HELPDESK.id}/" in carrying[0]
    # Nor is it in the audit trail, the reminder's event or the logs.
    assert value not in json.dumps([repr(e) for e in await bot.store.list_audit()])
    event = await bot.store.get_joiner(EMMA.id, _hire_day(bot))
    assert value not in repr(event)
    [request] = await bot.store.list_requests()
    assert value not in repr(request)
    logged = capfd.readouterr()
    assert "tapbot started" in logged.out + logged.err
    assert value not in logged.out + logged.err


def _record_pass_values(bot: BotUnderTest) -> list[str]:
    """The values of the passes the fake tenant creates from now on."""
    values: list[str] = []
    create = bot.directory.create_pass

    async def recording(*args: Any, **kwargs: Any) -> IssuedPass:
        issued = await create(*args, **kwargs)
        values.append(issued.secret.reveal())
        return issued

    bot.directory.create_pass = recording  # type: ignore[method-assign]
    return values


SALES_CHANNEL = "19:sales-general@thread.tacv2"
SALES_GROUP = "99999999-0000-0000-0000-00000000005a"


async def _without_manager(start_bot: StartBot) -> BotUnderTest:
    bot = await start_bot()
    start = datetime.combine(_hire_day(bot), time(0), UTC)
    bot.directory.add_user(dataclasses.replace(EMMA, employee_hire_date=start))
    return bot


async def test_a_reminder_for_the_helpdesk_never_goes_to_another_teams_channel(
    start_bot: StartBot, connector: RecordingConnector
) -> None:
    bot = await _without_manager(start_bot)
    # tapbot was added to the Sales team too, and someone asked it for help there.
    await bot.post(
        activity(
            connector.url, text="help", user=NOBODY, **team_channel(SALES_CHANNEL, SALES_GROUP)
        )
    )
    before = len(connector.sent)

    report = await _joiners(bot).sweep.run()

    assert report.counts["undeliverable"] == 1
    assert not [p for p in connector.paths[before:] if "sales-general" in p]
    assert "Emma Brooks" not in json.dumps(connector.sent[before:])


async def test_a_reminder_for_the_helpdesk_goes_where_tapbot_was_installed_in_its_team(
    start_bot: StartBot, connector: RecordingConnector
) -> None:
    bot = await _without_manager(start_bot)
    await bot.post(
        activity(
            connector.url,
            type="installationUpdate",
            action="add",
            user=HELPDESK,
            **team_channel(CHANNEL, HELPDESK_GROUP_ID),
        )
    )
    await bot.post(
        activity(
            connector.url, text="help", user=NOBODY, **team_channel(SALES_CHANNEL, SALES_GROUP)
        )
    )
    before = len(connector.sent)

    report = await _joiners(bot).sweep.run()

    assert report.counts["reminded"] == 1
    [path] = connector.paths[before:]
    assert CHANNEL in unquote(path)
    assert "has no manager in the directory" in json.dumps(connector.sent[-1])
