"""The attack review over HTTP: read-side floods stop before Graph, and the private card actions
and the people search answer nobody outside the asker's 1:1 chat or outside the helpdesk."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.domain.offers import FORMS_PER_PERSON_PER_HOUR
from tests.bot.conftest import HELPDESK, MANAGER, NOBODY, BotUnderTest, StartBot, activity
from tests.bot.connector import RecordingConnector


def _typeahead(connector_url: str, text: str, **who: Any) -> dict[str, Any]:
    return activity(
        connector_url,
        type="invoke",
        name="application/search",
        value={"queryText": text, "dataset": "tapbot.people"},
        **who,
    )


async def _results(bot: BotUnderTest, body: dict[str, Any]) -> list[Any]:
    answer = await (await bot.post(body)).json()
    assert answer["type"] == "application/vnd.microsoft.search.searchResponse"
    results: list[Any] = answer["value"]["results"]
    return results


async def test_a_loop_of_request_cards_is_stopped_before_it_reads_graph(
    start_bot: StartBot, connector: RecordingConnector
) -> None:
    bot = await start_bot()
    for _ in range(FORMS_PER_PERSON_PER_HOUR):
        await bot.post(activity(connector.url, text="request"))
    reads = bot.directory.called("list_direct_reports")
    assert reads == FORMS_PER_PERSON_PER_HOUR

    await bot.post(activity(connector.url, text="request"))

    card = json.dumps(connector.sent[-1]["attachments"][0]["content"])
    assert "try again later" in card
    assert bot.directory.called("list_direct_reports") == reads


async def test_the_people_search_answers_only_the_helpdesk_in_its_1_1_chat(
    start_bot: StartBot, connector: RecordingConnector
) -> None:
    bot = await start_bot()
    in_channel = _typeahead(connector.url, "Adele", user=HELPDESK)
    in_channel["conversation"]["conversationType"] = "channel"

    assert await _results(bot, in_channel) == []
    assert await _results(bot, _typeahead(connector.url, "Adele", user=MANAGER)) == []
    assert bot.directory.called("search_users") == 0
    found = await _results(bot, _typeahead(connector.url, "Adele", user=HELPDESK))
    assert [r["title"].split(" — ")[0] for r in found] == ["Adele Vance"]


@pytest.mark.parametrize("verb", ["request.details", "request.cancel", "request.replace"])
async def test_private_card_actions_are_refused_outside_the_1_1_chat(
    start_bot: StartBot, connector: RecordingConnector, verb: str
) -> None:
    bot = await start_bot()
    click = activity(
        connector.url,
        type="invoke",
        name="adaptiveCard/action",
        value={
            "action": {
                "type": "Action.Execute",
                "verb": verb,
                "data": {"target": NOBODY.id, "request_id": "x"},
            }
        },
        user=HELPDESK,
    )
    click["conversation"]["conversationType"] = "groupChat"

    answer = await (await bot.post(click)).json()

    assert answer["statusCode"] == 400
    assert "1:1 chat" in answer["value"]
    assert [c for c, _ in bot.directory.calls if c != "users_delta_page"] == []
