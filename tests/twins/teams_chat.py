"""`FakeTeamsChat`: the `TeamsChat` port in memory, for unit tests.

It answers as `bot.teams.chat.ProactiveChat` does over a connector (tests/bot/test_teams_chat):
a key with no stored conversation is `NoConversation`, `open_personal_chat` needs a stored
conversation with the *via* user, every sent card gets a fresh message id, and an update of an
unknown message fails. `refuse` makes Teams refuse the next sends.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.delivery.ports import NoConversation
from bot.domain.errors import DeliveryFailed


@dataclass
class Message:
    key: str
    id: str
    card: Mapping[str, Any]
    edits: list[Mapping[str, Any]] = field(default_factory=list)


class FakeTeamsChat:
    def __init__(self, *, conversations: set[str] | None = None) -> None:
        """*conversations* are user ids who already talked to the bot."""
        self.conversations: dict[str, str] = {
            f"user:{user_id}": f"a:{user_id}" for user_id in conversations or set()
        }
        self.messages: list[Message] = []
        self.refusals = 0

    def refuse(self, times: int = 1) -> None:
        self.refusals += times

    def cards_to(self, user_id: str) -> list[Mapping[str, Any]]:
        return [m.card for m in self.messages if m.key == f"user:{user_id}"]

    async def has_conversation(self, user_id: str) -> bool:
        return f"user:{user_id}" in self.conversations

    async def open_personal_chat(self, user_id: str, chat_id: str, *, via_user_id: str) -> str:
        if f"user:{via_user_id}" not in self.conversations:
            raise DeliveryFailed("I have no chat with you, so I can't reach Teams for them")
        key = f"user:{user_id}"
        self.conversations[key] = chat_id
        return key

    async def send_card(self, key: str, card: Mapping[str, Any]) -> str:
        if key not in self.conversations:
            raise NoConversation("Teams has no conversation with them that I know of")
        if self.refusals:
            self.refusals -= 1
            raise DeliveryFailed("Teams did not accept the message")
        message = Message(key, f"activity-{len(self.messages) + 1}", card)
        self.messages.append(message)
        return message.id

    async def update_card(self, key: str, activity_id: str, card: Mapping[str, Any]) -> None:
        found = next((m for m in self.messages if m.key == key and m.id == activity_id), None)
        if found is None or self.refusals:
            self.refusals = max(self.refusals - 1, 0)
            raise DeliveryFailed("Teams did not accept the edit")
        found.edits.append(card)
