"""Delivering a pass in the requester's Teams 1:1 chat, and removing it later.

Messages go out proactively through the stored conversation reference, so the same code serves
a live turn, a retry and a different bot instance. The pass value is put into the card and
nowhere else: not in logs, not in exceptions.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from zoneinfo import ZoneInfo

import structlog
from botbuilder.core import CardFactory, MessageFactory, TurnContext
from botbuilder.integration.aiohttp import CloudAdapter

from bot.domain.errors import DeliveryFailed
from bot.domain.model import (
    DeliveryMethod,
    DeliveryReceipt,
    IssuedPass,
    ScheduledEdit,
    TapRequest,
)
from bot.teams.proactive import ConversationReferences
from cards.request import pass_card, redacted_pass_card, when

log = structlog.get_logger(__name__)


class ChatDelivery:
    """The `PassDelivery` port over Teams chat (``chat_requester``)."""

    def __init__(
        self,
        adapter: CloudAdapter,
        references: ConversationReferences,
        *,
        app_id: str,
        timezone: ZoneInfo,
    ) -> None:
        self._adapter = adapter
        self._references = references
        self._app_id = app_id
        self._timezone = timezone

    async def deliver(self, request: TapRequest, issued: IssuedPass) -> DeliveryReceipt:
        if request.delivery is not DeliveryMethod.CHAT_TO_REQUESTER:
            raise DeliveryFailed("that delivery method is not available yet")
        info = issued.info
        card = pass_card(
            target_name=request.target_name,
            value=issued.secret.reveal(),
            starts=when(info.start_at, self._timezone),
            ends=when(info.ends_at, self._timezone),
            one_time=info.is_usable_once,
        )
        key = f"user:{request.requester_id}"
        sent: list[str] = []

        async def send(turn_context: TurnContext) -> None:
            response = await turn_context.send_activity(
                MessageFactory.attachment(CardFactory.adaptive_card(card))
            )
            sent.append(getattr(response, "id", "") or "")

        await self._run(key, send, failure="Teams did not accept the message")
        if not sent or not sent[0]:
            # Without the message id the pass could never be removed from the chat again.
            raise DeliveryFailed("Teams did not confirm the message")
        return DeliveryReceipt(
            DeliveryMethod.CHAT_TO_REQUESTER, conversation_key=key, activity_id=sent[0]
        )

    async def redact(self, edit: ScheduledEdit) -> None:
        ends = datetime.fromisoformat(str(edit.payload.get("ends_at")))
        card = redacted_pass_card(
            target_name=str(edit.payload.get("target_name", "")), ends=when(ends, self._timezone)
        )

        async def update(turn_context: TurnContext) -> None:
            activity = MessageFactory.attachment(CardFactory.adaptive_card(card))
            activity.id = edit.activity_id
            await turn_context.update_activity(activity)

        await self._run(edit.conversation_key, update, failure="Teams did not accept the edit")

    async def notify(self, user_id: str, text: str) -> bool:
        async def send(turn_context: TurnContext) -> None:
            await turn_context.send_activity(text)

        try:
            await self._run(f"user:{user_id}", send, failure="Teams did not accept the message")
        except DeliveryFailed:
            return False
        return True

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
            raise DeliveryFailed("I have no chat with you to send it to; open a chat with me first")
