"""`ProactiveChat`: the delivery's `TeamsChat` transport over Bot Framework proactive messages.

Messages go out through stored conversation references, so the same code serves a live turn,
a retry and a different bot instance. A person's 1:1 chat found through Graph (the app's
installation chat) is stored like any other reference, with the service address of a
conversation the bot already has in that tenant. Cards may carry a pass: they are sent and
never logged, and no error raised here quotes them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import structlog
from botbuilder.core import CardFactory, MessageFactory, TurnContext
from botbuilder.integration.aiohttp import CloudAdapter
from botbuilder.schema import ChannelAccount, ConversationAccount, ConversationReference

from bot.delivery.ports import NoConversation
from bot.domain.errors import DeliveryFailed
from bot.teams.proactive import ConversationReferences

log = structlog.get_logger(__name__)


class ProactiveChat:
    """Send and edit cards in 1:1 chats addressed by conversation key (``user:<id>``)."""

    def __init__(
        self, adapter: CloudAdapter, references: ConversationReferences, *, app_id: str
    ) -> None:
        self._adapter = adapter
        self._references = references
        self._app_id = app_id

    async def has_conversation(self, user_id: str) -> bool:
        return await self._references.reference_for(f"user:{user_id}") is not None

    async def open_personal_chat(self, user_id: str, chat_id: str, *, via_user_id: str) -> str:
        template = await self._references.reference_for(f"user:{via_user_id}")
        if template is None or not template.service_url:
            raise DeliveryFailed("I have no chat with you, so I can't reach Teams for them")
        tenant_id = getattr(template.conversation, "tenant_id", None) or ""
        reference = ConversationReference(
            channel_id=template.channel_id or "msteams",
            service_url=template.service_url,
            bot=template.bot,
            user=ChannelAccount(aad_object_id=user_id),
            conversation=ConversationAccount(
                id=chat_id, conversation_type="personal", tenant_id=tenant_id or None
            ),
        )
        key = f"user:{user_id}"
        await self._references.save(key, tenant_id, reference)
        return key

    async def send_card(self, key: str, card: Mapping[str, Any]) -> str:
        sent: list[str] = []

        async def send(turn_context: TurnContext) -> None:
            response = await turn_context.send_activity(
                MessageFactory.attachment(CardFactory.adaptive_card(dict(card)))
            )
            sent.append(getattr(response, "id", "") or "")

        await self._run(key, send, failure="Teams did not accept the message")
        if not sent or not sent[0]:
            # Without the message id a pass could never be removed from the chat again.
            raise DeliveryFailed("Teams did not confirm the message")
        return sent[0]

    async def update_card(self, key: str, activity_id: str, card: Mapping[str, Any]) -> None:
        async def update(turn_context: TurnContext) -> None:
            activity = MessageFactory.attachment(CardFactory.adaptive_card(dict(card)))
            activity.id = activity_id
            await turn_context.update_activity(activity)

        await self._run(key, update, failure="Teams did not accept the edit")

    async def _run(
        self, key: str, callback: Callable[[TurnContext], Awaitable[None]], *, failure: str
    ) -> None:
        """Run *callback* in the conversation stored under *key*; raise DeliveryFailed if it
        cannot be reached or the callback fails."""
        failures: list[BaseException] = []

        async def guarded(turn_context: TurnContext) -> None:
            # botbuilder hands a failing callback to on_turn_error and returns normally, so
            # the failure is caught here, inside the turn, and raised again outside it.
            try:
                await callback(turn_context)
            except Exception as exc:
                failures.append(exc)

        try:
            reached = await self._references.continue_with(
                self._adapter, self._app_id, key, guarded
            )
        except Exception as exc:  # the connector's errors vary by transport; never echo them
            failures.append(exc)
            reached = True
        if failures:
            log.warning("teams send failed", key=key, error_type=type(failures[0]).__name__)
            raise DeliveryFailed(failure)
        if not reached:
            raise NoConversation("Teams has no conversation with them that I know of")
