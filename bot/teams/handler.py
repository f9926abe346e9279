"""The Teams activity handler: activity → domain call → card.

Text commands route by exact first word through `TapbotHandler.commands`; card submits and
Action.Execute invokes route by their ``verb`` through tables. Identities come only from the
authenticated activity (`caller_of`); anything in card data is untrusted input.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import structlog
from botbuilder.core import CardFactory, MessageFactory, TurnContext
from botbuilder.core.teams import TeamsActivityHandler
from botbuilder.schema import (
    AdaptiveCardInvokeValue,
    ChannelAccount,
    ConversationReference,
    InvokeResponse,
)
from botbuilder.schema.teams import TeamsChannelData

from bot.domain.audit import Auditor
from bot.domain.requester import Profiles
from bot.teams.approval_cards import ApprovalCards
from bot.teams.audit_cards import AuditCards
from bot.teams.board import HELPDESK_CHANNEL_KEY
from bot.teams.identity import Caller, caller_of
from bot.teams.joiner_cards import JoinerCards
from bot.teams.proactive import ConversationReferences
from bot.teams.request_cards import RequestCards
from bot.teams.status_cards import StatusCards
from bot.teams.team_cards import TeamCards
from cards import joiner as joiner_card
from cards.approval import APPROVE, DENY, REPOST, REVIEW
from cards.commands import COMMANDS, commands_table
from cards.help import HelpView, help_card
from cards.request import CANCEL, DETAILS, OPEN, REPLACE, SEARCH, SUBMIT
from cards.search import PEOPLE_DATASET

log = structlog.get_logger(__name__)

_MENTION = re.compile(r"<at>.*?</at>", re.IGNORECASE | re.DOTALL)

CommandHandler = Callable[[TurnContext, Caller], Awaitable[None]]
CardAction = Callable[[Caller, Mapping[str, object]], Awaitable[dict[str, Any]]]
Place = tuple[ConversationReference, str]
PlacedAction = Callable[[Caller, Mapping[str, object], Place | None], Awaitable[dict[str, Any]]]


@dataclass(frozen=True, slots=True)
class TeamsDeps:
    """What the Teams layer needs from the composition root."""

    profiles: Profiles
    references: ConversationReferences
    auditor: Auditor
    tenant_id: str
    helpdesk_group_id: str
    request_cards: RequestCards
    approval_cards: ApprovalCards
    team_cards: TeamCards
    audit_cards: AuditCards
    status_cards: StatusCards
    joiner_cards: JoinerCards | None = None


class TapbotHandler(TeamsActivityHandler):  # type: ignore[misc]  # botbuilder is untyped
    """Turns Teams activities into domain calls and cards."""

    def __init__(self, deps: TeamsDeps) -> None:
        super().__init__()
        self._deps = deps
        self.commands: dict[str, CommandHandler] = commands_table(
            {
                "help": self._help,
                "request": self._request,
                "team": self._private_card(deps.team_cards.open, TEAM_IS_PRIVATE),
                "status": self._private_card(deps.status_cards.open, STATUS_IS_PRIVATE),
                "audit": self._private_card(deps.audit_cards.open, AUDIT_IS_PRIVATE),
            }
        )
        cards = deps.request_cards
        # Request cards are private: they name people and what may be done for them.
        self.card_actions: dict[str, CardAction] = {
            OPEN: lambda caller, _data: cards.form(caller),
            REPLACE: cards.replace,
            CANCEL: cards.cancel,
            REPOST: cards.repost,
            SEARCH: cards.search,
            DETAILS: cards.details,
            **deps.team_cards.actions,
            **deps.audit_cards.actions,
            **deps.status_cards.actions,
        }
        # The submitted card is remembered where it is, to be updated while approvals run.
        self.placed_actions: dict[str, PlacedAction] = {SUBMIT: cards.submit}
        # Approval cards live in the helpdesk channel as well as in chats.
        approvals = deps.approval_cards
        self.anywhere_actions: dict[str, CardAction] = {
            REVIEW: approvals.review,
            APPROVE: approvals.approve,
            DENY: approvals.deny,
        }
        # A joiner reminder's helpdesk copy sits in a channel; each answer authorises the
        # clicker itself.
        self.anywhere_placed_actions: dict[str, PlacedAction] = {}
        if deps.joiner_cards is not None:
            joiners = deps.joiner_cards
            self.anywhere_actions |= {
                joiner_card.NOT_NEEDED: joiners.not_needed,
                joiner_card.TOMORROW: joiners.tomorrow,
            }
            # Issuing makes a request whose card, there, follows its approvals.
            self.anywhere_placed_actions[joiner_card.ISSUE] = joiners.issue

    async def on_turn(self, turn_context: TurnContext) -> None:
        caller = caller_of(turn_context.activity)
        if caller is not None and caller.tenant_id.lower() == self._deps.tenant_id.lower():
            await self._deps.references.remember(turn_context.activity, caller.tenant_id)
        await super().on_turn(turn_context)

    async def on_message_activity(self, turn_context: TurnContext) -> None:
        caller = await self._authorised_caller(turn_context)
        if caller is None:
            return
        text = _MENTION.sub("", turn_context.activity.text or "").strip().lower()
        word = text.split(maxsplit=1)[0] if text else ""
        command = self.commands.get(word)
        if command is not None:
            await command(turn_context, caller)
            return
        await self._send_help(
            turn_context, caller, unrecognised=bool(word) or bool(turn_context.activity.value)
        )

    async def on_installation_update_add(self, turn_context: TurnContext) -> None:
        caller = await self._authorised_caller(turn_context)
        if caller is None:
            return
        if turn_context.activity.conversation.conversation_type == "personal":
            await self._send_help(turn_context, caller, welcome=True)
            return
        if await self._remember_helpdesk_channel(turn_context, caller):
            await self._deps.request_cards.helpdesk_channel_known()

    async def on_teams_members_added(  # the welcome goes out on installationUpdate instead
        self,
        teams_members_added: list[ChannelAccount],
        team_info: Any,
        turn_context: TurnContext,
    ) -> None:
        return

    async def on_invoke_activity(self, turn_context: TurnContext) -> InvokeResponse:
        if turn_context.activity.name == "application/search":
            return await self._typeahead(turn_context)
        if turn_context.activity.name != "adaptiveCard/action":
            return await super().on_invoke_activity(turn_context)
        # botbuilder 4.17's own path double-serialises the response and leaves `action` a
        # dict (teams-playground.md §4.1-4.2): read the value ourselves.
        value = AdaptiveCardInvokeValue(**(turn_context.activity.value or {}))
        action = value.action if isinstance(value.action, dict) else {}
        verb = action.get("verb") if isinstance(action.get("verb"), str) else None
        caller = await self._authorised_caller(turn_context, reply=False)
        if caller is None:
            return _invoke_message(403, "You can't use this card.")
        raw = action.get("data")
        data = {k: v for k, v in raw.items() if k != "verb"} if isinstance(raw, dict) else {}
        anywhere = self.anywhere_actions.get(verb or "")
        if anywhere is not None:
            return _invoke_card(await anywhere(caller, data))
        anywhere_placed = self.anywhere_placed_actions.get(verb or "")
        if anywhere_placed is not None:
            return _invoke_card(await anywhere_placed(caller, data, _place(turn_context)))
        private = self.card_actions.get(verb or "")
        placed = self.placed_actions.get(verb or "")
        if private is None and placed is None:
            log.info("card action with no handler", verb=verb)
            return _invoke_message(400, "This card is out of date. Type help to start again.")
        if not _is_personal(turn_context):
            # The card lists people and their eligibility: not for a group.
            return _invoke_message(400, PERSONAL_ONLY)
        if placed is not None:
            return _invoke_card(await placed(caller, data, _place(turn_context)))
        assert private is not None
        return _invoke_card(await private(caller, data))

    async def _typeahead(self, turn_context: TurnContext) -> InvokeResponse:
        """Answer a typeahead list's query (Teams' ``application/search`` invoke)."""
        caller = await self._authorised_caller(turn_context, reply=False)
        value = turn_context.activity.value if isinstance(turn_context.activity.value, dict) else {}
        query = value.get("queryText")
        if caller is None or value.get("dataset") != PEOPLE_DATASET or not isinstance(query, str):
            return _search_results([])
        if not _is_personal(turn_context):
            return _search_results([])
        return _search_results(await self._deps.request_cards.typeahead(caller, query[:100]))

    async def _remember_helpdesk_channel(self, turn_context: TurnContext, caller: Caller) -> bool:
        """tapbot installed in a team: if it is the helpdesk's team, its approval cards go to
        the channel it was installed in (unless HELPDESK_CHANNEL_ID says otherwise). True
        when it was the helpdesk's team."""
        data = turn_context.activity.channel_data
        if not isinstance(data, dict) or not self._deps.helpdesk_group_id:
            return False
        channel_data = TeamsChannelData().deserialize(data)
        team = channel_data.team
        channel = channel_data.channel or team
        group = getattr(team, "aad_group_id", None) if team is not None else None
        if not group or group.lower() != self._deps.helpdesk_group_id.lower() or not channel:
            return False
        reference = TurnContext.get_conversation_reference(turn_context.activity)
        reference.activity_id = None
        if reference.conversation is not None:
            reference.conversation.id = channel.id
        await self._deps.references.save(HELPDESK_CHANNEL_KEY, caller.tenant_id, reference)
        return True

    async def _authorised_caller(
        self, turn_context: TurnContext, *, reply: bool = True
    ) -> Caller | None:
        """Return the caller if they may talk to this bot at all; else audit and explain."""
        caller = caller_of(turn_context.activity)
        if caller is not None and caller.tenant_id.lower() == self._deps.tenant_id.lower():
            return caller
        reason = "no_entra_identity" if caller is None else "wrong_tenant"
        await self._deps.auditor.record(
            "conversation",
            "refused",
            actor_id=caller.user_id if caller else "unknown",
            reason=reason,
            detail={"tenant": caller.tenant_id if caller else ""},
        )
        if reply:
            await turn_context.send_activity(
                "Sorry, I only work for people signed in to this organisation's Microsoft Entra "
                "tenant."
            )
        return None

    async def _help(self, turn_context: TurnContext, caller: Caller) -> None:
        await self._send_help(turn_context, caller)

    async def _request(self, turn_context: TurnContext, caller: Caller) -> None:
        if not _is_personal(turn_context):
            await turn_context.send_activity(PERSONAL_ONLY)
            return
        card = await self._deps.request_cards.form(caller)
        await turn_context.send_activity(MessageFactory.attachment(CardFactory.adaptive_card(card)))

    def _private_card(
        self, build: Callable[[Caller], Awaitable[dict[str, Any]]], elsewhere: str
    ) -> CommandHandler:
        """A command that answers with *build*'s card, in the 1:1 chat only."""

        async def command(turn_context: TurnContext, caller: Caller) -> None:
            if not _is_personal(turn_context):
                await turn_context.send_activity(elsewhere)
                return
            card = CardFactory.adaptive_card(await build(caller))
            await turn_context.send_activity(MessageFactory.attachment(card))

        return command

    async def _send_help(
        self,
        turn_context: TurnContext,
        caller: Caller,
        *,
        welcome: bool = False,
        unrecognised: bool = False,
    ) -> None:
        profile = await self._deps.profiles.of(caller.user_id, fallback_name=caller.name)
        view = HelpView(
            display_name=profile.display_name,
            direct_reports=profile.direct_reports,
            is_helpdesk=profile.is_helpdesk,
            role_known=profile.known,
            commands=COMMANDS,
            welcome=welcome,
            unrecognised=unrecognised,
            slowed_down=profile.slowed_down,
        )
        card = CardFactory.adaptive_card(help_card(view))
        await turn_context.send_activity(MessageFactory.attachment(card))


# Invoke bodies are plain dicts: msrest cannot serialise AdaptiveCardInvokeResponse with a text
# value (its `value` is typed as an object), which turned every message answer into a 500.


PERSONAL_ONLY = "Pass requests are private: ask me in our 1:1 chat."
TEAM_IS_PRIVATE = "Your team's passes are private: ask me in our 1:1 chat."
AUDIT_IS_PRIVATE = "The audit trail is private: ask me in our 1:1 chat."
STATUS_IS_PRIVATE = "Your requests are private: ask me in our 1:1 chat."


def _is_personal(turn_context: TurnContext) -> bool:
    conversation = turn_context.activity.conversation
    return getattr(conversation, "conversation_type", None) == "personal"


def _place(turn_context: TurnContext) -> Place | None:
    """Where the card that was clicked sits: its conversation and its activity id."""
    activity = turn_context.activity
    if not activity.reply_to_id:
        return None
    reference = TurnContext.get_conversation_reference(activity)
    reference.activity_id = None
    return reference, str(activity.reply_to_id)


def _search_results(results: list[dict[str, str]]) -> InvokeResponse:
    body = {
        "statusCode": 200,
        "type": "application/vnd.microsoft.search.searchResponse",
        "value": {"results": results},
    }
    return InvokeResponse(status=200, body=body)


def _invoke_card(card: dict[str, Any]) -> InvokeResponse:
    """An Action.Execute response that replaces the clicked card with *card*."""
    body = {"statusCode": 200, "type": "application/vnd.microsoft.card.adaptive", "value": card}
    return InvokeResponse(status=200, body=body)


def _invoke_message(status: int, text: str) -> InvokeResponse:
    """An Action.Execute response that shows *text* to the clicker as a message."""
    body = {
        "statusCode": status,
        "type": "application/vnd.microsoft.activity.message",
        "value": text,
    }
    return InvokeResponse(status=200, body=body)
