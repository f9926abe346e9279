"""Conversation references: remember where each person and channel can be reached, and reach them.

References are stored through the domain `Store` under ``user:<aad object id>`` (a person's 1:1
chat with the bot) or ``channel:<channel id>``, so any bot instance can send proactively.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from botbuilder.core import TurnContext
from botbuilder.integration.aiohttp import CloudAdapter
from botbuilder.schema import Activity, ConversationReference

from bot.domain.model import ConversationRecord
from bot.domain.ports import Clock, Store


def conversation_key(activity: Activity) -> str | None:
    """Return the key a reference to *activity*'s conversation is stored under, if any."""
    conversation = activity.conversation
    conversation_type = getattr(conversation, "conversation_type", None) if conversation else None
    if conversation_type == "personal":
        sender = activity.from_property
        user_id = getattr(sender, "aad_object_id", None) if sender else None
        return f"user:{user_id}" if user_id else None
    if conversation_type == "channel" and isinstance(activity.channel_data, dict):
        channel = activity.channel_data.get("channel") or {}
        channel_id = channel.get("id") if isinstance(channel, dict) else None
        return f"channel:{channel_id}" if channel_id else None
    return None


class ConversationReferences:
    """Save and use conversation references kept in the store."""

    def __init__(self, store: Store, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    async def remember(self, activity: Activity, tenant_id: str) -> None:
        """Store a reference to *activity*'s conversation (personal chats and channels only)."""
        key = conversation_key(activity)
        if key is None:
            return
        reference = TurnContext.get_conversation_reference(activity)
        if key.startswith("channel:") and reference.conversation is not None:
            # A channel message arrives in its thread; proactive posts go to the channel itself.
            reference.conversation.id = key.removeprefix("channel:")
        record = ConversationRecord(
            key=key,
            tenant_id=tenant_id,
            reference=reference.serialize(),
            updated_at=self._clock.now(),
        )
        await self._store.save_conversation(record)

    async def reference_for(self, key: str) -> ConversationReference | None:
        record = await self._store.get_conversation(key)
        if record is None:
            return None
        reference: ConversationReference = ConversationReference().deserialize(
            dict(record.reference)
        )
        return reference

    async def continue_with(
        self,
        adapter: CloudAdapter,
        bot_app_id: str,
        key: str,
        callback: Callable[[TurnContext], Awaitable[Any]],
    ) -> bool:
        """Run *callback* in the conversation stored under *key*; False when none is stored."""
        reference = await self.reference_for(key)
        if reference is None:
            return False
        await adapter.continue_conversation(reference, callback, bot_app_id)
        return True
