"""Conversation references: remember where each person and channel can be reached, and reach them.

References are stored through the domain `Store` under ``user:<aad object id>`` (a person's 1:1
chat with the bot) or ``channel:<channel id>``, so any bot instance can send proactively.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
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

    def __init__(self, store: Store, clock: Clock, *, remembered: int = 10_000) -> None:
        self._store = store
        self._clock = clock
        # What this process last saved per key: an unchanged reference is not written again
        # (a turn would otherwise cost a database write just to repeat itself).
        self._saved: OrderedDict[str, Mapping[str, Any]] = OrderedDict()
        self._remembered = remembered

    async def remember(self, activity: Activity, tenant_id: str) -> None:
        """Store a reference to *activity*'s conversation (personal chats and channels only)."""
        key = conversation_key(activity)
        if key is None:
            return
        reference = TurnContext.get_conversation_reference(activity)
        # Proactive posts start new messages; keeping the triggering message's id would only
        # make every stored reference different from the last.
        reference.activity_id = None
        if key.startswith("channel:") and reference.conversation is not None:
            # A channel message arrives in its thread; proactive posts go to the channel itself.
            reference.conversation.id = key.removeprefix("channel:")
        serialised = reference.serialize()
        if self._saved.get(key) == serialised:
            self._saved.move_to_end(key)
            return
        record = ConversationRecord(
            key=key, tenant_id=tenant_id, reference=serialised, updated_at=self._clock.now()
        )
        await self._store.save_conversation(record)
        self._saved[key] = serialised
        self._saved.move_to_end(key)
        if len(self._saved) > self._remembered:
            self._saved.popitem(last=False)

    async def save(self, key: str, tenant_id: str, reference: ConversationReference) -> None:
        """Store *reference* under *key* (one the bot built, e.g. from Graph's chat id)."""
        serialised = reference.serialize()
        record = ConversationRecord(
            key=key, tenant_id=tenant_id, reference=serialised, updated_at=self._clock.now()
        )
        await self._store.save_conversation(record)
        self._saved.pop(key, None)

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
