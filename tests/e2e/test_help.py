"""A person types "help" in the Playground and gets the card that knows what they may do."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sandbox import org
from tests.e2e.playground_client import PlaygroundClient, card_of, card_text

pytestmark = pytest.mark.e2e


def _reports_of_manager() -> int:
    return len(org.seed(datetime.now(UTC)).direct_reports(org.MANAGER_ID))


async def test_manager_types_help_and_sees_how_many_people_they_manage(
    manager_chat: PlaygroundClient,
) -> None:
    reports = _reports_of_manager()
    await manager_chat.say("help")
    event = await manager_chat.next_message(lambda e: card_of(e) is not None)
    card = card_of(event)
    assert card is not None
    assert f"You manage {reports} people" in card_text(card)


async def test_installing_the_app_welcomes_the_helpdesk_member(
    helpdesk_chat: PlaygroundClient,
) -> None:
    await helpdesk_chat.install()
    event = await helpdesk_chat.next_message(
        lambda e: "helpdesk group" in card_text(card_of(e) or {})
    )
    card = card_of(event)
    assert card is not None
    assert "You are in the helpdesk group" in card_text(card)
