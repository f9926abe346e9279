"""Attacks on 'Issue for day one' and JOINER_AUTO_ISSUE through the bot's HTTP surface: who
gets the pass when someone made themselves the joiner's manager, and what a clicker who may
not answer a reminder gets to see."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, time

import pytest

from bot.app import MANAGER_SYNC
from bot.domain.model import RequestState
from tests.bot.conftest import HELPDESK, MANAGER, NOBODY, StartBot, activity
from tests.bot.connector import RecordingConnector
from tests.bot.test_joiner_issue import (
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
