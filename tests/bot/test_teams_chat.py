"""One contract for the `TeamsChat` transport: `ProactiveChat` through botbuilder to a
recording connector, and the `FakeTeamsChat` twin."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any
from urllib.parse import unquote

import pytest
from botbuilder.schema import ChannelAccount, ConversationAccount, ConversationReference

from bot.config import Settings
from bot.delivery.ports import NoConversation, TeamsChat
from bot.domain.errors import DeliveryFailed
from bot.observability import Metrics
from bot.teams.chat import ProactiveChat
from bot.teams.proactive import ConversationReferences
from bot.teams.runtime import TeamsRuntime
from tests.bot.conftest import BASE_SETTINGS, MANAGER, TENANT_ID
from tests.bot.connector import RecordingConnector
from tests.twins.clock import ManualClock
from tests.twins.store import MemoryStore
from tests.twins.teams_chat import FakeTeamsChat

TARGET_ID = "bbbbbbbb-0000-0000-0000-00000000000b"
CHAT_ID = f"19:app_{TARGET_ID}@unq.gbl.spaces"
CARD = {"type": "AdaptiveCard", "version": "1.5", "body": [{"type": "TextBlock", "text": "x"}]}


class Side:
    chat: TeamsChat

    async def seed(self, user_id: str) -> None:
        """*user_id* has talked to the bot: their conversation is stored."""
        raise NotImplementedError

    def posted(self) -> list[tuple[str, Mapping[str, Any]]]:
        """(conversation id, card) of every new message."""
        raise NotImplementedError

    def edited(self) -> list[tuple[str, str]]:
        """(conversation id, message id) of every edit."""
        raise NotImplementedError


class RealSide(Side):
    def __init__(self, connector: RecordingConnector) -> None:
        runtime = TeamsRuntime(Settings.from_env(BASE_SETTINGS), Metrics())
        self.connector = connector
        self.references = ConversationReferences(MemoryStore(), ManualClock())
        self.chat = ProactiveChat(runtime.adapter, self.references, app_id="")

    async def seed(self, user_id: str) -> None:
        reference = ConversationReference(
            channel_id="msteams",
            service_url=self.connector.url,
            bot=ChannelAccount(id="28:tapbot", name="tapbot"),
            user=ChannelAccount(id=f"29:{user_id}", aad_object_id=user_id),
            conversation=ConversationAccount(
                id=f"a:{user_id}", conversation_type="personal", tenant_id=TENANT_ID
            ),
        )
        await self.references.save(f"user:{user_id}", TENANT_ID, reference)

    def posted(self) -> list[tuple[str, Mapping[str, Any]]]:
        return [
            (body["conversation"]["id"], body["attachments"][0]["content"])
            for (method, _), body in zip(self.connector.calls, self.connector.sent, strict=True)
            if method == "POST"
        ]

    def edited(self) -> list[tuple[str, str]]:
        edits = []
        for method, path in self.connector.calls:
            if method == "PUT":
                conversation, _, activity = (
                    unquote(path).split("/conversations/")[1].partition("/activities/")
                )
                edits.append((conversation, activity))
        return edits


class TwinSide(Side):
    def __init__(self) -> None:
        self.twin = FakeTeamsChat()
        self.chat = self.twin

    async def seed(self, user_id: str) -> None:
        self.twin.conversations[f"user:{user_id}"] = f"a:{user_id}"

    def posted(self) -> list[tuple[str, Mapping[str, Any]]]:
        return [(self.twin.conversations[m.key], m.card) for m in self.twin.messages]

    def edited(self) -> list[tuple[str, str]]:
        return [(self.twin.conversations[m.key], m.id) for m in self.twin.messages for _ in m.edits]


@pytest.fixture(params=["teams", "twin"])
async def side(request: pytest.FixtureRequest) -> AsyncIterator[Side]:
    if request.param == "twin":
        yield TwinSide()
        return
    connector = RecordingConnector()
    connector.start()
    try:
        yield RealSide(connector)
    finally:
        connector.stop()


async def test_a_card_goes_to_the_stored_conversation(side: Side) -> None:
    await side.seed(MANAGER.id)

    message_id = await side.chat.send_card(f"user:{MANAGER.id}", CARD)

    assert message_id
    assert side.posted() == [(f"a:{MANAGER.id}", CARD)]
    assert await side.chat.has_conversation(MANAGER.id)


async def test_no_stored_conversation_is_said_so(side: Side) -> None:
    assert not await side.chat.has_conversation(TARGET_ID)
    with pytest.raises(NoConversation):
        await side.chat.send_card(f"user:{TARGET_ID}", CARD)
    assert side.posted() == []


async def test_a_chat_found_through_graph_is_opened_with_the_requesters_service(
    side: Side,
) -> None:
    await side.seed(MANAGER.id)

    key = await side.chat.open_personal_chat(TARGET_ID, CHAT_ID, via_user_id=MANAGER.id)
    await side.chat.send_card(key, CARD)

    assert key == f"user:{TARGET_ID}"
    assert await side.chat.has_conversation(TARGET_ID)
    assert side.posted() == [(CHAT_ID, CARD)]


async def test_a_chat_cannot_be_opened_without_any_conversation_in_the_tenant(
    side: Side,
) -> None:
    with pytest.raises(DeliveryFailed):
        await side.chat.open_personal_chat(TARGET_ID, CHAT_ID, via_user_id=MANAGER.id)
    assert not await side.chat.has_conversation(TARGET_ID)


async def test_a_sent_card_can_be_replaced(side: Side) -> None:
    await side.seed(MANAGER.id)
    message_id = await side.chat.send_card(f"user:{MANAGER.id}", CARD)

    await side.chat.update_card(f"user:{MANAGER.id}", message_id, CARD)

    assert side.edited() == [(f"a:{MANAGER.id}", message_id)]
