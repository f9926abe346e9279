"""The transports the delivery channels send through, as Protocols.

Each has a real adapter and an in-memory twin in ``tests/twins/`` that pass the same contract
tests. Every method raises only `DeliveryFailed` (whose reason is a sentence for the requester).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from bot.domain.errors import DeliveryFailed


class NoConversation(DeliveryFailed):
    """`TeamsChat` has no stored conversation under the key: the person never talked to the
    bot there (callers put it in their own words)."""


class SmsSender(Protocol):
    """A text-message provider (Twilio, Azure Communication Services)."""

    @property
    def provider(self) -> str:
        """The provider's short name for receipts and audit (``twilio``, ``acs``)."""
        ...

    async def send_sms(self, to: str, text: str) -> str:
        """Send *text* to the E.164 number *to*; return the provider's id for the message.

        Transient failures (throttling, 5xx, lost connections) are retried inside; what
        remains raises `SmsFailed` naming the provider and why, never the text.
        """
        ...


class TeamsChat(Protocol):
    """Proactive messages in Teams 1:1 chats, addressed by conversation key (``user:<id>``)."""

    async def has_conversation(self, user_id: str) -> bool:
        """Tell whether a conversation with *user_id* is stored (they talked to the bot)."""
        ...

    async def open_personal_chat(self, user_id: str, chat_id: str, *, via_user_id: str) -> str:
        """Remember the 1:1 chat *chat_id* (from Graph's app installation) with *user_id* and
        return its conversation key. The service address is taken from the stored
        conversation with *via_user_id* (same tenant); DeliveryFailed when there is none."""
        ...

    async def send_card(self, key: str, card: Mapping[str, Any]) -> str:
        """Post *card* in the conversation under *key*; return the message's id. Raise
        NoConversation when none is stored under *key*, DeliveryFailed when Teams refuses."""
        ...

    async def update_card(self, key: str, activity_id: str, card: Mapping[str, Any]) -> None:
        """Replace message *activity_id* in the conversation under *key* with *card*."""
        ...
