"""The attack review over HTTP: read-side floods stop before Graph, and the private card actions
and the people search answer nobody outside the asker's 1:1 chat or outside the helpdesk."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.domain.offers import DELIVERY_CHECKS_PER_PERSON_PER_HOUR, FORMS_PER_PERSON_PER_HOUR
from bot.domain.rates import SLOW_DOWN
from tests.bot.conftest import HELPDESK, MANAGER, NOBODY, BotUnderTest, StartBot, activity
from tests.bot.connector import RecordingConnector
from tests.twins.store import use_up


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


async def test_forged_submits_that_need_a_persons_details_stop_before_graph(
    start_bot: StartBot, connector: RecordingConnector
) -> None:
    # An SMS submit reads the person's mobile before the request's own limit counts it: a
    # script naming anyone in the tenant is metered before that read.
    bot = await start_bot()
    await use_up(
        bot.store,
        "delivery_check",
        NOBODY.id,
        DELIVERY_CHECKS_PER_PERSON_PER_HOUR,
        at=bot.clock.now(),
    )
    forged = {"form_id": "f" * 32, "target": MANAGER.id, "delivery": "sms", "lifetime": "60"}
    reads = bot.directory.called("get_user")

    answer = await bot.invoke(connector.url, "request.submit", forged, user=NOBODY)

    assert SLOW_DOWN in json.dumps(answer["value"])
    assert bot.directory.called("get_user") == reads
    [refused] = [e for e in await bot.store.list_audit() if e.outcome == "refused"]
    assert (refused.actor_id, refused.reason, refused.detail) == (
        NOBODY.id,
        "rate_limit_requester",
        {"bucket": "delivery_check"},
    )

    # Below the limit the same submit is read, and refused for what it is.
    other = await bot.invoke(connector.url, "request.submit", forged, user=HELPDESK)

    assert SLOW_DOWN not in json.dumps(other["value"])
    assert bot.directory.called("get_user") > reads
