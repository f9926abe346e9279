"""Over HTTP: help, "team" and Review stop reading Microsoft Entra for someone who loops them,
and say so in words; other people are not affected."""

from __future__ import annotations

import json
from typing import Any

from bot.domain.deciding import APPROVALS_SLOW_DOWN
from bot.domain.rates import (
    HELP_PER_PERSON_PER_HOUR,
    REVIEWS_PER_PERSON_PER_HOUR,
    SLOW_DOWN,
    TEAM_PAGES_PER_PERSON_PER_HOUR,
)
from cards.text import readable_text
from tests.bot.conftest import (
    HELPDESK,
    HELPDESK_GROUP_ID,
    MANAGER,
    BotUnderTest,
    StartBot,
    activity,
)
from tests.bot.connector import RecordingConnector
from tests.bot.flows import helpdesk_submission
from tests.twins.directory import person
from tests.twins.store import use_up

APPROVER = person("Ada Approver", id="aaaaaaaa-0000-0000-0000-00000000000d")


async def _past_the_limit(
    start_bot: StartBot, bucket: str, person_id: str, count: int
) -> tuple[BotUnderTest, int]:
    """A bot where *person_id* has used up *bucket*; and how many reads it has made so far."""
    bot = await start_bot()
    await use_up(bot.store, bucket, person_id, count, at=bot.clock.now())
    return bot, len(bot.directory.calls)


async def _say(bot: BotUnderTest, connector: RecordingConnector, text: str, **who: Any) -> str:
    await bot.post(activity(connector.url, text=text, **who))
    return readable_text(connector.sent[-1]["attachments"][0]["content"])


async def test_a_loop_of_messages_gets_help_without_reading_entra(
    start_bot: StartBot, connector: RecordingConnector
) -> None:
    bot, reads = await _past_the_limit(start_bot, "help", MANAGER.id, HELP_PER_PERSON_PER_HOUR)

    slowed = await _say(bot, connector, "what can you do?")
    someone_else = await _say(bot, connector, "help", user=HELPDESK)

    assert "very often in the last hour" in slowed
    assert "team: " in slowed  # the commands are still listed
    assert "You are in the helpdesk group" in someone_else
    assert bot.directory.called("list_direct_reports") == 1  # Hana's, not Megan's
    assert len(bot.directory.calls) > reads


async def test_a_loop_of_team_pages_is_told_to_slow_down(
    start_bot: StartBot, connector: RecordingConnector
) -> None:
    bot, reads = await _past_the_limit(
        start_bot, "team", MANAGER.id, TEAM_PAGES_PER_PERSON_PER_HOUR
    )

    card = await _say(bot, connector, "team")

    assert "I can't show your team right now" in card
    assert SLOW_DOWN in card
    assert len(bot.directory.calls) == reads


async def _waiting_request(bot: BotUnderTest, connector: RecordingConnector) -> dict[str, Any]:
    """Hana asks for a pass for Lee; return the Review button's data."""
    _, data = await helpdesk_submission(bot, connector)
    await bot.invoke(connector.url, "request.submit", data, user=HELPDESK)
    [request] = await bot.store.list_requests()
    return {"request_id": request.id, "stage": "1"}


async def test_a_loop_of_reviews_gets_the_card_without_buttons_and_a_slow_down(
    start_bot: StartBot, connector: RecordingConnector
) -> None:
    bot = await start_bot()
    bot.directory.add_user(APPROVER)
    bot.directory.add_group(HELPDESK_GROUP_ID, APPROVER.id)
    review = await _waiting_request(bot, connector)
    await use_up(bot.store, "review", APPROVER.id, REVIEWS_PER_PERSON_PER_HOUR, at=bot.clock.now())
    reads = len(bot.directory.calls)

    answer = await bot.invoke(connector.url, "approval.review", review, user=APPROVER)

    card = answer["value"]
    assert APPROVALS_SLOW_DOWN in readable_text(card)
    assert [a["title"] for a in card["actions"]] == ["Review"]
    assert len(bot.directory.calls) == reads
    assert "Approve" not in json.dumps(card["actions"])
