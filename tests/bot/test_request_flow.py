"""Flow 1 over HTTP: "request" → card → Action.Execute submit → pass in chat → redaction."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from bot.domain.model import RequestState
from tests.bot.conftest import MANAGER, NOBODY, BotUnderTest, StartBot, activity
from tests.bot.connector import RecordingConnector
from tests.bot.flows import outside_the_personal_chat


def _inputs(card: dict[str, Any]) -> dict[str, Any]:
    return {item["id"]: item for item in card["body"] if "id" in item}


async def _open_form(bot: BotUnderTest, connector: RecordingConnector) -> dict[str, Any]:
    await bot.post(activity(connector.url, text="request"))
    card: dict[str, Any] = connector.sent[-1]["attachments"][0]["content"]
    return card


def _submission(card: dict[str, Any], target: str, **changes: Any) -> dict[str, Any]:
    data = dict(card["actions"][0]["data"])
    data |= {
        "target": target,
        "lifetime": "60",
        "one_time": "true",
        "start": "now",
        "start_date": "",
        "start_time": "",
        "delivery": "chat_requester",
        "justification": "First day",
    }
    return data | changes


async def test_a_manager_gets_a_pass_in_chat_and_it_is_removed_later(
    start_bot: StartBot, connector: RecordingConnector
) -> None:
    bot = await start_bot()
    form = await _open_form(bot, connector)
    choices = _inputs(form)["target"]["choices"]
    assert [c["title"] for c in choices] == ["Adele Vance", "Lee Gu", "Lynne Robbins"]
    target = choices[0]["value"]

    answer = await bot.invoke(connector.url, "request.submit", _submission(form, target))

    assert answer["type"] == "application/vnd.microsoft.card.adaptive"
    assert "Pass issued for Adele Vance" in json.dumps(answer["value"])
    pass_message = connector.sent[-1]
    pass_text = json.dumps(pass_message["attachments"][0]["content"])
    assert "Temporary Access Pass for Adele Vance" in pass_text
    live = bot.directory.pass_of(target)
    assert live is not None
    [request] = await bot.store.list_requests()
    assert request.state is RequestState.DELIVERED

    bot.clock.advance(minutes=61)
    assert await bot.upkeep.redact_due() == 1
    edit = connector.sent[-1]
    assert "has been removed from this chat" in json.dumps(edit["attachments"][0]["content"])
    assert edit["id"] == "activity-2"


async def test_a_crafted_submit_for_someone_else_is_refused_in_words(
    start_bot: StartBot, connector: RecordingConnector
) -> None:
    bot = await start_bot()
    form = await _open_form(bot, connector)
    sent_before = len(connector.sent)
    answer = await bot.invoke(connector.url, "request.submit", _submission(form, NOBODY.id))
    text = json.dumps(answer["value"])
    assert "No pass was requested" in text
    assert "report" in text.lower()
    assert bot.directory.pass_of(NOBODY.id) is None
    assert len(connector.sent) == sent_before
    events = await bot.store.list_audit()
    assert events[0].outcome == "refused"
    assert events[0].reason == "not_direct_report"


async def test_unknown_fields_and_wrong_types_are_refused(
    start_bot: StartBot, connector: RecordingConnector
) -> None:
    bot = await start_bot()
    form = await _open_form(bot, connector)
    target = _inputs(form)["target"]["choices"][0]["value"]
    for tampered in (
        _submission(form, target, requester_id=MANAGER.id),
        _submission(form, target, lifetime=["60"]),
        _submission(form, target, justification="x" * 3000),
    ):
        answer = await bot.invoke(connector.url, "request.submit", tampered)
        assert "No pass was requested" in json.dumps(answer["value"])
    assert bot.directory.pass_of(target) is None
    reasons = [e.reason for e in await bot.store.list_audit()]
    assert reasons == ["invalid_input"] * 3


async def test_clicking_submit_twice_issues_one_pass(
    start_bot: StartBot, connector: RecordingConnector
) -> None:
    bot = await start_bot()
    form = await _open_form(bot, connector)
    target = _inputs(form)["target"]["choices"][1]["value"]
    data = _submission(form, target)
    await bot.invoke(connector.url, "request.submit", data)
    again = await bot.invoke(connector.url, "request.submit", data)
    assert "Pass issued for Lee Gu" in json.dumps(again["value"])
    assert bot.directory.called("create_pass") == 1


async def test_a_pass_is_removed_from_the_chat_after_a_restart(
    start_bot: StartBot, connector: RecordingConnector
) -> None:
    first = await start_bot()
    form = await _open_form(first, connector)
    target = _inputs(form)["target"]["choices"][2]["value"]
    await first.invoke(connector.url, "request.submit", _submission(form, target))
    await first.client.close()

    first.clock.advance(minutes=61)
    await start_bot(after=first, SCHEDULER_INTERVAL_SECONDS="0.05")
    for _ in range(100):
        if "has been removed" in json.dumps(connector.sent[-1]):
            break
        await asyncio.sleep(0.05)
    assert "has been removed from this chat" in json.dumps(connector.sent[-1])
    assert await first.store.due_edits(first.clock.now()) == []


async def test_the_help_cards_button_opens_the_request_card_in_place(
    start_bot: StartBot, connector: RecordingConnector
) -> None:
    bot = await start_bot()
    await bot.post(activity(connector.url, text="help"))
    button = connector.sent[-1]["attachments"][0]["content"]["actions"][0]
    assert (button["type"], button["verb"]) == ("Action.Execute", "request.open")
    answer = await bot.invoke(connector.url, button["verb"], button["data"])
    assert answer["type"] == "application/vnd.microsoft.card.adaptive"
    assert "Request a Temporary Access Pass" in json.dumps(answer["value"])


async def test_card_clicks_from_another_tenant_or_with_unknown_verbs_do_nothing(
    start_bot: StartBot, connector: RecordingConnector
) -> None:
    bot = await start_bot()
    stranger = await bot.invoke(
        connector.url, "request.open", {}, tenant_id="33333333-3333-3333-3333-333333333333"
    )
    assert stranger["type"] == "application/vnd.microsoft.activity.message"
    assert stranger["statusCode"] == 403
    unknown = await bot.invoke(connector.url, "request.approve_everything", {})
    assert unknown["statusCode"] == 400
    assert [e.reason for e in await bot.store.list_audit()] == ["wrong_tenant"]


async def test_requests_are_only_taken_in_the_personal_chat(
    start_bot: StartBot, connector: RecordingConnector
) -> None:
    bot = await start_bot()
    said, answer = await outside_the_personal_chat(bot, connector, "request", "request.open")
    assert said == "Pass requests are private: ask me in our 1:1 chat."
    assert answer["statusCode"] == 400
    assert "1:1 chat" in answer["value"]
