"""`TeamsBoard`: the `RequestBoard` port over Teams — approval cards in the helpdesk channel and
in approvers' chats, the requester's card, and keeping every copy up to date.

Posts and edits go out proactively through stored conversation references, so whichever bot
process handles a click can update every copy. Each copy is remembered in the store
(`RequestMessage`) with the reference it was posted through.

The helpdesk channel is HELPDESK_CHANNEL_ID, or the channel where tapbot was installed in the
helpdesk team (remembered under `HELPDESK_CHANNEL_KEY`). A channel is reached through the
service URL of its members' chats with the bot: in Teams one URL serves the tenant; the Agents
Playground runs one per person, and each must get its own copy (teams-playground.md §12.3).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from zoneinfo import ZoneInfo

import structlog
from botbuilder.core import CardFactory, MessageFactory, TurnContext
from botbuilder.integration.aiohttp import CloudAdapter
from botbuilder.schema import ConversationAccount, ConversationReference

from bot.domain.approvals import shown_to_deciders
from bot.domain.model import (
    REQUESTER_COPY,
    ApprovalPosting,
    ApproverKind,
    RequestMessage,
    RequestState,
    TapRequest,
    Unseen,
    approval_copy,
)
from bot.domain.ports import Clock, Store
from bot.domain.telling import nobody_shown
from bot.teams.proactive import ConversationReferences
from bot.teams.views import approval_view
from cards.approval import approval_card, request_status_card
from cards.request import confirm_replace_card, when

log = structlog.get_logger(__name__)

HELPDESK_CHANNEL_KEY = "helpdesk:channel"
Card = dict[str, Any]


class TeamsBoard:
    """Posts and updates the cards of requests (see the module docstring)."""

    def __init__(
        self,
        adapter: CloudAdapter,
        references: ConversationReferences,
        store: Store,
        clock: Clock,
        *,
        app_id: str,
        timezone: ZoneInfo,
        helpdesk_channel_id: str,
    ) -> None:
        self._adapter = adapter
        self._references = references
        self._store = store
        self._clock = clock
        self._app_id = app_id
        self._timezone = timezone
        self._channel_id = helpdesk_channel_id

    async def ask_for_approval(
        self, request: TapRequest, *, approver_ids: Sequence[str]
    ) -> ApprovalPosting:
        stage = request.current_stage
        if stage is None:
            return ApprovalPosting(0, Unseen.NO_APPROVER_CHAT)
        card = approval_card(
            approval_view(request, self._timezone),
            refresh_user_ids=await self._teams_ids(approver_ids),
        )
        if stage.approver is ApproverKind.MANAGER:
            places = [
                ("approver", ref)
                for ref in [await self._references.reference_for(f"user:{i}") for i in approver_ids]
                if ref is not None
            ]
            unreached = Unseen.NO_APPROVER_CHAT
        else:
            channel = await self._channel(approver_ids, request)
            places = [("channel", ref) for ref in channel or []]
            unreached = Unseen.NO_HELPDESK_CHANNEL if channel is None else Unseen.NO_CHANNEL_ROUTE
        if not places:
            return ApprovalPosting(0, unreached)
        posted = 0
        for audience, reference in places:
            activity_id = await self._post(reference, card)
            if activity_id:
                copy = approval_copy(audience, request.stage)
                await self.remember(request.id, copy, reference, activity_id)
                posted += 1
        return ApprovalPosting(posted, None if posted else Unseen.TEAMS_ERROR)

    async def show(self, request: TapRequest) -> None:
        view = approval_view(request, self._timezone)
        copies = await self._store.list_request_messages(request.id)
        unseen = not shown_to_deciders(request, copies)
        for copy in copies:
            if copy.audience == REQUESTER_COPY:
                card = self.requester_card(request, unseen=unseen)
            else:
                card = approval_card(view)
            reference = ConversationReference().deserialize(dict(copy.reference))
            await self._update(reference, copy.activity_id, card)

    def requester_card(
        self,
        request: TapRequest,
        *,
        unseen: bool = False,
        why: Unseen | None = None,
        note: str = "",
    ) -> Card:
        """The requester's card for *request* as it stands (a question when it waits on them).
        *unseen*: its waiting stage reached nobody who may decide it, for the reason *why*
        when known; the card says so, what to do (after *note*, when given), and offers "Post
        it again"."""
        if request.state is RequestState.DRAFT and request.context.existing_pass_ends_at:
            return confirm_replace_card(
                request_id=request.id,
                target_name=request.target_name,
                active_until=when(request.context.existing_pass_ends_at, self._timezone),
            )
        view = approval_view(request, self._timezone)
        if view.pending and (unseen or why is not None):
            words = nobody_shown(request, why, button_here=True)
            return request_status_card(view, unseen=f"{note} {words}".strip())
        return request_status_card(view)

    async def remember(
        self, request_id: str, audience: str, reference: ConversationReference, activity_id: str
    ) -> None:
        """Remember a copy of *request_id*'s card, to update it as the request moves on."""
        await self._store.add_request_message(
            RequestMessage(
                request_id=request_id,
                audience=audience,
                activity_id=activity_id,
                reference=reference.serialize(),
                posted_at=self._clock.now(),
            )
        )

    async def _channel(
        self, approver_ids: Sequence[str], request: TapRequest
    ) -> list[ConversationReference] | None:
        """The helpdesk channel, once per service URL that its approvers (else the requester)
        reach the bot through; None when no helpdesk channel is known."""
        channel_id = self._channel_id
        if not channel_id:
            stored = await self._store.get_conversation(HELPDESK_CHANNEL_KEY)
            channel_id = (
                str((stored.reference.get("conversation") or {}).get("id", "")) if stored else ""
            )
        if not channel_id:
            log.warning("no helpdesk channel: set HELPDESK_CHANNEL_ID or install tapbot there")
            return None
        chats = [await self._references.reference_for(f"user:{i}") for i in approver_ids]
        known = [c for c in chats if c is not None] or [
            c for c in [await self._references.reference_for(f"user:{request.requester_id}")] if c
        ]
        by_url: dict[str, ConversationReference] = {}
        for chat in known:
            if chat.service_url and chat.service_url not in by_url:
                by_url[chat.service_url] = _in_channel(chat, channel_id)
        return list(by_url.values())

    async def _teams_ids(self, user_ids: Sequence[str]) -> list[str]:
        """The Teams user ids (``29:…``) of those of *user_ids* tapbot has talked to: what
        ``refresh.userIds`` wants."""
        found = []
        for user_id in user_ids:
            reference = await self._references.reference_for(f"user:{user_id}")
            if reference is not None and reference.user is not None and reference.user.id:
                found.append(str(reference.user.id))
        return found

    async def _post(self, reference: ConversationReference, card: Card) -> str:
        sent: list[str] = []

        async def send(turn_context: TurnContext) -> None:
            # A new message, not a reply: `send_activity` would reply to the proactive turn's
            # made-up activity id, which a channel would take for a thread to answer in.
            activity = TurnContext.apply_conversation_reference(
                MessageFactory.attachment(CardFactory.adaptive_card(card)), reference
            )
            activity.reply_to_id = None
            client = turn_context.turn_state.get(turn_context.adapter.BOT_CONNECTOR_CLIENT_KEY)
            response = await client.conversations.send_to_conversation(
                reference.conversation.id, activity
            )
            sent.append(getattr(response, "id", "") or "")

        await self._run(reference, send, "post")
        return sent[0] if sent else ""

    async def _update(self, reference: ConversationReference, activity_id: str, card: Card) -> None:
        async def update(turn_context: TurnContext) -> None:
            activity = MessageFactory.attachment(CardFactory.adaptive_card(card))
            activity.id = activity_id
            await turn_context.update_activity(activity)

        await self._run(reference, update, "update")

    async def _run(self, reference: ConversationReference, callback: Any, what: str) -> None:
        failures: list[BaseException] = []

        async def guarded(turn_context: TurnContext) -> None:
            # botbuilder hands a failing callback to on_turn_error and returns normally.
            try:
                await callback(turn_context)
            except Exception as exc:
                failures.append(exc)

        try:
            await self._adapter.continue_conversation(reference, guarded, self._app_id)
        except Exception as exc:  # the connector's errors vary by transport; never echo them
            failures.append(exc)
        if failures:
            log.warning("approval card " + what + " failed", error_type=type(failures[0]).__name__)


def _in_channel(chat: ConversationReference, channel_id: str) -> ConversationReference:
    """A reference to *channel_id* on the service that serves *chat*: posting through it starts
    a new thread in the channel."""
    tenant = getattr(chat.conversation, "tenant_id", None) if chat.conversation else None
    return ConversationReference(
        channel_id=chat.channel_id,
        service_url=chat.service_url,
        bot=chat.bot,
        conversation=ConversationAccount(
            id=channel_id, is_group=True, conversation_type="channel", tenant_id=tenant
        ),
    )
