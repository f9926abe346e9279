"""Putting joiner reminders in front of people in Teams: the `JoinerReminders` port.

To the manager: through the conversation reference stored when they last talked to the bot
(``user:<id>``). Without one, and when ``TEAMS_APP_ID`` is set, the app is installed for them
through Graph (idempotent) and the 1:1 chat is created through the Bot Framework connector
(addressed by their Entra object id, which Teams accepts once the app is installed for them),
at the service URL of a conversation the bot already knows; its reference is stored for next
time. To the helpdesk: the channel ``HELPDESK_CHANNEL_ID`` names, or else the channel tapbot
was installed in within the helpdesk's team (where approval cards go too).

A send that certainly did not happen (no reference, a 4xx from the connector, a connection
that could not be opened) raises ReminderUndeliverable; one that may have arrived (a timeout
or a 5xx after the request went out) raises it with ``maybe_sent`` so it is never repeated.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

import structlog
from botbuilder.core import CardFactory, MessageFactory, TurnContext
from botbuilder.integration.aiohttp import CloudAdapter
from botbuilder.schema import (
    ChannelAccount,
    ConversationAccount,
    ConversationParameters,
    ConversationReference,
)
from msrest.exceptions import ClientRequestError, HttpOperationError

from bot.domain.delivery_options import delivered_how
from bot.domain.errors import DirectoryError, ReminderUndeliverable, StoreError
from bot.domain.joiners import Recipient, Reminder, ReminderReceipt, local_today
from bot.domain.model import (
    REQUESTER_COPY,
    ConversationRecord,
    RequestMessage,
    RequestState,
    TapRequest,
)
from bot.domain.ports import Clock, Directory, Store
from bot.teams.board import HELPDESK_CHANNEL_KEY
from bot.teams.delivery_choices import delivery_choices
from bot.teams.proactive import ConversationReferences
from cards.joiner import JoinerReminderView, outcome_card, reminder_card
from cards.request import lifetime_label, when
from cards.text import Part, name, sentence

log = structlog.get_logger(__name__)

# The person answering a reminder may be in a channel: their own chat with tapbot, said so.
OWN_CHAT = "To me, in my chat with tapbot"


def day_words(day: date) -> str:
    """A day as people read it: ``Friday 13 June``."""
    return f"{day:%A} {day.day} {day:%B}"


def pass_terms(minutes: int, one_time: bool) -> str:
    """What a day-one pass is, for the card: ``8 hours, for more than one sign-in``."""
    uses = "for one sign-in only" if one_time else "for more than one sign-in"
    return f"{lifetime_label(minutes)}, {uses}"


def reminder_view(
    reminder: Reminder, timezone: ZoneInfo, today: date, *, notice: str = ""
) -> JoinerReminderView:
    """The card's view of *reminder*, with days counted from *today*."""
    notice = notice or reminder.notice
    return JoinerReminderView(
        joiner_id=reminder.joiner_id,
        hire_day=reminder.hire_day.isoformat(),
        joiner_name=reminder.joiner_name,
        starts_on=day_words(reminder.hire_day),
        days_until=(reminder.hire_day - today).days,
        day_one=when(reminder.starts_at, timezone),
        job_title=reminder.job_title or "",
        department=reminder.department or "",
        manager_name=reminder.manager.display_name if reminder.manager else "",
        helpdesk_reason=reminder.helpdesk_reason.value if reminder.helpdesk_reason else "",
        notice=notice,
        attention=bool(reminder.notice),
        terms=pass_terms(reminder.lifetime_minutes, reminder.one_time)
        if reminder.lifetime_minutes
        else "",
        deliveries=delivery_choices(reminder.deliveries, reminder.joiner_name, own_chat=OWN_CHAT),
    )


def automatic_lines(request: TapRequest, timezone: ZoneInfo) -> list[Part]:
    """What a reminder says about the pass ``JOINER_AUTO_ISSUE`` asked for."""
    person = name(request.target_name)
    match request.state:
        case RequestState.DELIVERED:
            how = delivered_how(
                request.delivery, destination=request.delivered_to, target_name=request.target_name
            )
            lines: list[Part] = [
                sentence("I issued ", person, "'s pass for day one; it was ", how, ".")
            ]
            if request.pass_ends_at is not None:
                start = when(request.start_at, timezone) if request.start_at else "now"
                until = when(request.pass_ends_at, timezone)
                lines.append(f"It works from {start} until {until}.")
            return lines
        case RequestState.PENDING_APPROVAL:
            return [
                sentence(
                    "I asked for ",
                    person,
                    "'s pass for day one. Their manager changed recently, so a helpdesk member "
                    "approves it first. Type status to follow it.",
                )
            ]
    return [
        sentence("I asked for ", person, "'s pass for day one. Type status to see where it stands.")
    ]


class TeamsJoinerReminders:
    """`JoinerReminders` over the Bot Framework connector."""

    def __init__(
        self,
        adapter: CloudAdapter,
        references: ConversationReferences,
        store: Store,
        directory: Directory,
        clock: Clock,
        *,
        app_id: str,
        tenant_id: str,
        teams_app_id: str,
        helpdesk_channel_id: str,
        timezone: ZoneInfo,
    ) -> None:
        self._adapter = adapter
        self._references = references
        self._store = store
        self._directory = directory
        self._clock = clock
        self._app_id = app_id
        self._tenant_id = tenant_id
        self._teams_app_id = teams_app_id
        self._helpdesk_channel_id = helpdesk_channel_id
        self._timezone = timezone
        self._opening: dict[str, asyncio.Lock] = {}

    async def to_manager(self, reminder: Reminder) -> ReminderReceipt:
        manager = reminder.manager
        if manager is None:
            raise ReminderUndeliverable("no_manager")
        key = f"user:{manager.id}"
        # One chat opening per manager at a time in this process: a sweep works on several of
        # their joiners at once. (Teams answers a second creation with the same 1:1 chat.)
        async with self._opening.setdefault(key, asyncio.Lock()):
            if await self._references.reference_for(key) is None:
                await self._open_chat(manager.id, key)
        activity_id = await self._post(key, self._card(reminder))
        await self._follow(reminder, key, activity_id)
        return ReminderReceipt(Recipient.MANAGER, key, activity_id)

    async def to_helpdesk(self, reminder: Reminder) -> ReminderReceipt:
        key = await self._helpdesk_key()
        activity_id = await self._post(key, self._card(reminder))
        await self._follow(reminder, key, activity_id)
        return ReminderReceipt(Recipient.HELPDESK, key, activity_id)

    async def _follow(self, reminder: Reminder, key: str, activity_id: str) -> None:
        """A pass asked for automatically that waits for an approval: its card here follows
        the request as a requester's card does (decided, issued, expired)."""
        request = reminder.request
        if request is None or request.state is not RequestState.PENDING_APPROVAL:
            return
        try:
            record = await self._store.get_conversation(key)
            if record is None or not activity_id:
                return
            await self._store.add_request_message(
                RequestMessage(
                    request_id=request.id,
                    audience=REQUESTER_COPY,
                    activity_id=activity_id,
                    reference=record.reference,
                    posted_at=self._clock.now(),
                )
            )
        except StoreError:
            # The reminder went out; only its updates are lost (the manager is still told in
            # their chat as the request moves on).
            log.warning("automatic request card not remembered", request_id=request.id)

    def _card(self, reminder: Reminder) -> dict[str, Any]:
        today = local_today(self._clock.now(), self._timezone)
        view = reminder_view(reminder, self._timezone, today)
        if reminder.request is not None:
            return outcome_card(view, automatic_lines(reminder.request, self._timezone))
        return reminder_card(view)

    async def _helpdesk_key(self) -> str:
        """The helpdesk channel, as approval cards find it: ``HELPDESK_CHANNEL_ID``, else the
        channel tapbot was installed in within the helpdesk's team. Never just any channel
        tapbot has heard from: it may be added to any team, and a reminder names the joiner,
        their job and where their pass could go."""
        if self._helpdesk_channel_id:
            key = f"channel:{self._helpdesk_channel_id}"
            if await self._store.get_conversation(key) is None:
                await self._remember_channel(key, self._helpdesk_channel_id)
            return key
        record = await self._store.get_conversation(HELPDESK_CHANNEL_KEY)
        if record is not None and record.tenant_id == self._tenant_id:
            return record.key
        raise ReminderUndeliverable("no_helpdesk_channel")

    async def _known_endpoint(self) -> ConversationReference:
        """A stored reference of this tenant, for its service URL and bot account: the
        connector endpoint for conversations the bot has not seen yet."""
        for prefix in ("user:", "channel:"):
            for record in await self._store.list_conversations(prefix, limit=10):
                if record.tenant_id == self._tenant_id:
                    known: ConversationReference = ConversationReference().deserialize(
                        dict(record.reference)
                    )
                    if known.service_url and known.bot is not None:
                        return known
        raise ReminderUndeliverable("no_service_url")

    async def _remember_channel(self, key: str, channel_id: str) -> None:
        """Store a reference to the configured channel (posts to it start new threads)."""
        known = await self._known_endpoint()
        reference = ConversationReference(
            channel_id="msteams",
            service_url=known.service_url,
            bot=known.bot,
            conversation=ConversationAccount(
                id=channel_id, conversation_type="channel", tenant_id=self._tenant_id
            ),
        )
        await self._save(key, reference)

    async def _open_chat(self, user_id: str, key: str) -> None:
        """Install the app for *user_id* and create their 1:1 chat; store its reference."""
        if not self._teams_app_id:
            raise ReminderUndeliverable("no_chat")
        try:
            await self._directory.install_app_for(user_id, self._teams_app_id)
        except DirectoryError as error:
            raise ReminderUndeliverable(f"install_failed:{error.code or error.status}") from None
        known = await self._known_endpoint()
        parameters = ConversationParameters(
            is_group=False,
            bot=known.bot,
            members=[ChannelAccount(id=user_id)],
            tenant_id=self._tenant_id,
            channel_data={"tenant": {"id": self._tenant_id}},
        )
        created: list[str] = []

        async def keep(turn_context: TurnContext) -> None:
            created.append(turn_context.activity.conversation.id)

        # Creating the chat sends no reminder yet: any failure here is a plain "not sent".
        await self._guarded(
            lambda: self._adapter.create_conversation(
                self._app_id, keep, parameters, "msteams", known.service_url
            ),
            "create_chat_failed",
            sends=False,
        )
        if not created or not created[0]:
            raise ReminderUndeliverable("create_chat_failed")
        reference = ConversationReference(
            channel_id="msteams",
            service_url=known.service_url,
            bot=known.bot,
            user=ChannelAccount(id=user_id, aad_object_id=user_id),
            conversation=ConversationAccount(
                id=created[0], conversation_type="personal", tenant_id=self._tenant_id
            ),
        )
        await self._save(key, reference)

    async def _save(self, key: str, reference: ConversationReference) -> None:
        await self._store.save_conversation(
            ConversationRecord(
                key=key,
                tenant_id=self._tenant_id,
                reference=reference.serialize(),
                updated_at=self._clock.now(),
            )
        )

    async def _post(self, key: str, card: dict[str, Any]) -> str:
        """Post *card* alone (text and card together become two messages in Teams, and the
        card could then not be updated) in the conversation under *key*; its activity id."""
        sent: list[str] = []
        failures: list[BaseException] = []

        async def send(turn_context: TurnContext) -> None:
            # botbuilder hands a failing callback to on_turn_error and returns normally, so
            # the failure is caught inside the turn and raised again outside it.
            try:
                response = await turn_context.send_activity(
                    MessageFactory.attachment(CardFactory.adaptive_card(card))
                )
            except Exception as exc:
                failures.append(exc)
            else:
                sent.append(getattr(response, "id", "") or "")

        reached = await self._guarded(
            lambda: self._references.continue_with(self._adapter, self._app_id, key, send),
            "send_failed",
            sends=True,
        )
        if failures:
            raise _undeliverable(failures[0], "send_failed")
        if not reached:
            raise ReminderUndeliverable("no_chat")
        return sent[0] if sent else ""

    @staticmethod
    async def _guarded(call: Callable[[], Awaitable[Any]], reason: str, *, sends: bool) -> Any:
        try:
            return await call()
        except ReminderUndeliverable:
            raise
        except Exception as exc:  # the connector's errors vary by transport; never echo them
            failure = _undeliverable(exc, reason)
            if not sends:
                failure = ReminderUndeliverable(failure.reason)
            raise failure from None


def _undeliverable(error: BaseException, reason: str) -> ReminderUndeliverable:
    """What a connector failure means: certainly not sent, or perhaps sent."""
    log.warning("teams reminder failed", reason=reason, error_type=type(error).__name__)
    if isinstance(error, HttpOperationError):
        status = getattr(error.response, "status_code", 0) or 0
        if 400 <= status < 500:
            return ReminderUndeliverable(f"{reason}:{status}")
        return ReminderUndeliverable(f"{reason}:{status}", maybe_sent=True)
    if isinstance(error, ClientRequestError) and _never_connected(error):
        return ReminderUndeliverable(f"{reason}:unreachable")
    return ReminderUndeliverable(reason, maybe_sent=True)


def _never_connected(error: ClientRequestError) -> bool:
    """True when the request never left: the connection could not be opened."""
    inner: object = getattr(error, "inner_exception", None)
    seen = 0
    while inner is not None and seen < 5:
        if type(inner).__name__ in ("NewConnectionError", "ConnectTimeoutError"):
            return True
        args = getattr(inner, "args", ())
        inner = getattr(inner, "reason", None) or (args[0] if args else None)
        if isinstance(inner, str):
            return False
        seen += 1
    return False
