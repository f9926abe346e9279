"""One channel per delivery method: what the person reads, handed to a transport.

Every channel raises only `DeliveryFailed`, with a sentence that names the channel and why
(the workflow tells the requester and deletes the pass). The pass value is revealed only to
build the one message that carries it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from zoneinfo import ZoneInfo

from bot.delivery.email import EmailComposer
from bot.delivery.messages import PassFacts, notice_text, sms_text
from bot.delivery.ports import NoConversation, SmsSender, TeamsChat
from bot.domain.delivery_options import MailTo, copied_manager_id, mail_address, mask_email
from bot.domain.errors import DeliveryFailed, DirectoryAccessDenied, DirectoryError
from bot.domain.model import (
    DeliveryMethod,
    DeliveryReceipt,
    DirectoryUser,
    IssuedPass,
    MailMessage,
    TapRequest,
)
from bot.domain.phone import InvalidPhoneNumber, mask_phone, sms_number
from bot.domain.ports import Clock, Directory, Mailer
from cards.delivery import notice_card, own_pass_card
from cards.request import pass_card, when

NO_CHAT_WITH_REQUESTER = "I have no chat with you to send it to; open a chat with me first"
NOT_SET_UP_FOR_CHATS = "tapbot is not set up to message people in their own chat"


@dataclass(frozen=True, slots=True)
class Wording:
    """What every message needs besides the pass: the zone dates are shown in, and whom a
    person should call about a pass they did not expect."""

    timezone: ZoneInfo
    contact: str


class Recipient:
    """The person a request's pass is for, as the directory describes them now (read once,
    when a channel first needs it)."""

    def __init__(self, request: TapRequest, directory: Directory) -> None:
        self.request = request
        self._directory = directory
        self._target: DirectoryUser | None = None

    async def target(self) -> DirectoryUser:
        """The target from the directory; DeliveryFailed when it cannot be read."""
        if self._target is None:
            try:
                self._target = await self._directory.get_user(self.request.target_id)
            except DirectoryError:
                raise DeliveryFailed(
                    f"I couldn't read {self.request.target_name}'s details from the directory"
                ) from None
        return self._target


class Parcel(Recipient):
    """One pass on its way: the request, the issued pass, and its recipient."""

    def __init__(
        self, request: TapRequest, issued: IssuedPass, directory: Directory, clock: Clock
    ) -> None:
        super().__init__(request, directory)
        self.issued = issued
        self._clock = clock

    def now(self) -> datetime:
        return self._clock.now()

    def facts(self, person: DirectoryUser, wording: Wording) -> PassFacts:
        info = self.issued.info
        return PassFacts(
            first_name=person.given_name or person.display_name,
            requested_by=self.request.requester_name,
            starts=info.start_at,
            ends=info.ends_at,
            one_time=info.is_usable_once,
            timezone=wording.timezone,
            contact=wording.contact,
            issued_at=info.created_at or self.now(),
        )


class PassChannel(Protocol):
    """Delivers a pass by one method."""

    @property
    def method(self) -> DeliveryMethod: ...

    async def why_not(self, recipient: Recipient) -> str | None:
        """Why this method cannot reach *recipient* now (a sentence for the requester), or
        None when it can. Sends nothing; raises nothing for an outside failure."""
        ...

    async def deliver(self, parcel: Parcel) -> DeliveryReceipt:
        """Deliver *parcel*'s pass; raise DeliveryFailed with a sentence for the requester."""
        ...


class NoticeChannel(Protocol):
    """Tells the person that a pass was issued for them (never with the pass)."""

    @property
    def method(self) -> DeliveryMethod: ...

    async def available_for(self, parcel: Parcel) -> bool:
        """Tell whether the notice can go to *parcel*'s target this way (no sending)."""
        ...

    async def send_notice(self, parcel: Parcel, delivered: DeliveryReceipt) -> DeliveryReceipt:
        """Send the notice about the pass *delivered* went out with; raise DeliveryFailed."""
        ...


class ChatToRequester:
    """The pass in the requester's 1:1 chat, hidden behind "Show pass"."""

    method = DeliveryMethod.CHAT_TO_REQUESTER

    def __init__(self, chat: TeamsChat, wording: Wording) -> None:
        self._chat = chat
        self._wording = wording

    async def why_not(self, recipient: Recipient) -> str | None:
        if await self._chat.has_conversation(recipient.request.requester_id):
            return None
        return NO_CHAT_WITH_REQUESTER

    async def deliver(self, parcel: Parcel) -> DeliveryReceipt:
        info, zone = parcel.issued.info, self._wording.timezone
        card = pass_card(
            target_name=parcel.request.target_name,
            value=parcel.issued.secret.reveal(),
            starts=when(info.start_at, zone),
            ends=when(info.ends_at, zone),
            one_time=info.is_usable_once,
        )
        key = f"user:{parcel.request.requester_id}"
        try:
            activity_id = await self._chat.send_card(key, card)
        except NoConversation:
            raise DeliveryFailed(NO_CHAT_WITH_REQUESTER) from None
        return DeliveryReceipt(
            self.method, key, activity_id, provider="teams", reference=activity_id
        )


class ChatToTarget:
    """The pass in the target's own 1:1 chat with tapbot.

    Without a stored conversation, the chat is found through Graph: tapbot's Teams app
    (*teams_app_id*) is installed for the person when it is not and *install* allows, then the
    installation's chat is opened. A person Teams cannot reach is a DeliveryFailed.
    """

    method = DeliveryMethod.CHAT_TO_TARGET

    def __init__(
        self,
        chat: TeamsChat,
        directory: Directory,
        wording: Wording,
        *,
        teams_app_id: str,
        install: bool,
    ) -> None:
        self._chat = chat
        self._directory = directory
        self._wording = wording
        self._app_id = teams_app_id
        self._install = install

    async def deliver(self, parcel: Parcel) -> DeliveryReceipt:
        person = await parcel.target()
        key = await self._conversation(parcel)
        info, zone = parcel.issued.info, self._wording.timezone
        card = own_pass_card(
            username=person.user_principal_name,
            requested_by=parcel.request.requester_name,
            value=parcel.issued.secret.reveal(),
            starts=when(info.start_at, zone),
            ends=when(info.ends_at, zone),
            one_time=info.is_usable_once,
            contact=self._wording.contact,
        )
        activity_id = await self._chat.send_card(key, card)
        return DeliveryReceipt(
            self.method, key, activity_id, provider="teams", reference=activity_id
        )

    async def why_not(self, recipient: Recipient) -> str | None:
        user_id, name = recipient.request.target_id, recipient.request.target_name
        if await self._chat.has_conversation(user_id):
            return None
        if not self._app_id:
            return NOT_SET_UP_FOR_CHATS
        try:
            installed = await self._directory.is_app_installed_for(user_id, self._app_id)
        except DirectoryError:
            return f"Microsoft Graph did not let me check whether tapbot can reach {name} in Teams"
        if installed or self._install:
            return None
        return f"tapbot is not installed in Teams for {name}"

    async def available_for(self, parcel: Parcel) -> bool:
        return await self.why_not(parcel) is None

    async def send_notice(self, parcel: Parcel, delivered: DeliveryReceipt) -> DeliveryReceipt:
        person = await parcel.target()
        key = await self._conversation(parcel)
        text = notice_text(
            parcel.facts(person, self._wording), delivered.method, delivered.destination
        )
        activity_id = await self._chat.send_card(key, notice_card(text))
        return DeliveryReceipt(self.method, key, activity_id, provider="teams")

    async def _conversation(self, parcel: Parcel) -> str:
        request = parcel.request
        user_id, name = request.target_id, request.target_name
        if await self._chat.has_conversation(user_id):
            return f"user:{user_id}"
        if not self._app_id:
            raise DeliveryFailed(NOT_SET_UP_FOR_CHATS)
        try:
            if not await self._directory.is_app_installed_for(user_id, self._app_id):
                if not self._install:
                    raise DeliveryFailed(f"tapbot is not installed in Teams for {name}")
                await self._directory.install_app_for(user_id, self._app_id)
            chat_id = await self._directory.personal_chat_id(user_id, self._app_id)
        except DirectoryAccessDenied:
            raise DeliveryFailed(
                f"tapbot is not allowed to install itself in Teams for {name}"
            ) from None
        except DirectoryError:
            raise DeliveryFailed(
                f"Microsoft Graph did not let me find {name}'s chat with tapbot"
            ) from None
        if chat_id is None:
            raise DeliveryFailed(f"Teams has no chat between tapbot and {name} yet")
        return await self._chat.open_personal_chat(
            user_id, chat_id, via_user_id=request.requester_id
        )


class SmsChannel:
    """The pass by text message to the target's mobile number from the directory, or to the
    number the requester typed (``request.typed_number``) while *typed_numbers* allows it.
    Notices always go to the directory's number."""

    method = DeliveryMethod.SMS

    def __init__(
        self,
        sender: SmsSender,
        wording: Wording,
        *,
        default_region: str | None,
        typed_numbers: bool = False,
    ) -> None:
        self._sender = sender
        self._wording = wording
        self._region = default_region
        self._typed_numbers = typed_numbers

    async def why_not(self, recipient: Recipient) -> str | None:
        try:
            if recipient.request.typed_number is None:
                self._number(await recipient.target())
            else:
                self._typed(recipient.request.typed_number)
        except DeliveryFailed as failure:
            return failure.reason
        return None

    async def deliver(self, parcel: Parcel) -> DeliveryReceipt:
        person = await parcel.target()
        typed = parcel.request.typed_number
        number = self._number(person) if typed is None else self._typed(typed)
        text = sms_text(
            parcel.issued.secret.reveal(), parcel.facts(person, self._wording), now=parcel.now()
        )
        return await self._send(number, text)

    async def available_for(self, parcel: Parcel) -> bool:
        try:
            self._number(await parcel.target())
        except DeliveryFailed:
            return False
        return True

    async def send_notice(self, parcel: Parcel, delivered: DeliveryReceipt) -> DeliveryReceipt:
        person = await parcel.target()
        number = self._number(person)
        text = notice_text(
            parcel.facts(person, self._wording), delivered.method, delivered.destination
        )
        return await self._send(number, text)

    def _number(self, person: DirectoryUser) -> str:
        try:
            return sms_number(person.mobile_phone or "", default_region=self._region)
        except InvalidPhoneNumber as invalid:
            raise DeliveryFailed(
                f"{person.display_name}'s mobile number in the directory can't take a text "
                f"message: {invalid.problem.text}"
            ) from None

    def _typed(self, number: str) -> str:
        if not self._typed_numbers:
            raise DeliveryFailed(
                "a number typed by the requester is no longer allowed for text messages here"
            )
        try:
            return sms_number(number, default_region=self._region)
        except InvalidPhoneNumber as invalid:
            raise DeliveryFailed(
                f"the mobile number typed for it can't take a text message: {invalid.problem.text}"
            ) from None

    async def _send(self, number: str, text: str) -> DeliveryReceipt:
        reference = await self._sender.send_sms(number, text)
        return DeliveryReceipt(
            self.method,
            provider=self._sender.provider,
            reference=reference,
            destination=mask_phone(number),
        )


class EmailChannel:
    """The pass by email (Graph sendMail) to the target's personal or work address, with
    their manager in copy when *cc_manager* and that manager asked for it
    (`copied_manager_id`)."""

    method = DeliveryMethod.EMAIL

    def __init__(
        self,
        mailer: Mailer,
        directory: Directory,
        composer: EmailComposer,
        wording: Wording,
        *,
        mail_to: MailTo,
        cc_manager: bool,
    ) -> None:
        self._mailer = mailer
        self._directory = directory
        self._composer = composer
        self._wording = wording
        self._mail_to = mail_to
        self._cc_manager = cc_manager

    async def deliver(self, parcel: Parcel) -> DeliveryReceipt:
        person = await parcel.target()
        address = self._address(person)
        manager = await self._copied_manager(parcel.request, person)
        cc = (manager.mail,) if manager and manager.mail and manager.mail != address else ()
        message = self._composer.pass_message(
            to=address,
            cc=cc,
            person=person,
            value=parcel.issued.secret.reveal(),
            facts=parcel.facts(person, self._wording),
            manager_name=manager.display_name if manager else None,
            now=parcel.now(),
        )
        return await self._send(message, address)

    async def why_not(self, recipient: Recipient) -> str | None:
        try:
            self._address(await recipient.target())
        except DeliveryFailed as failure:
            return failure.reason
        return None

    async def available_for(self, parcel: Parcel) -> bool:
        return mail_address(await parcel.target(), self._mail_to) is not None

    async def send_notice(self, parcel: Parcel, delivered: DeliveryReceipt) -> DeliveryReceipt:
        person = await parcel.target()
        address = self._address(person)
        message = self._composer.notice_message(
            to=address,
            person=person,
            facts=parcel.facts(person, self._wording),
            method=delivered.method,
            destination=delivered.destination,
        )
        return await self._send(message, address)

    def _address(self, person: DirectoryUser) -> str:
        address = mail_address(person, self._mail_to)
        if address is None:
            which = (
                "personal email address" if self._mail_to is MailTo.PERSONAL else "email address"
            )
            raise DeliveryFailed(f"the directory has no {which} for {person.display_name}")
        return address

    async def _copied_manager(
        self, request: TapRequest, person: DirectoryUser
    ) -> DirectoryUser | None:
        """The manager to copy, if any (`copied_manager_id`): read now, and copied only while
        the directory still names the one who asked."""
        expected = copied_manager_id(request) if self._cc_manager else None
        if expected is None:
            return None
        manager = await self._manager(person)
        return manager if manager is not None and manager.id == expected else None

    async def _manager(self, person: DirectoryUser) -> DirectoryUser | None:
        try:
            return await self._directory.get_manager(person.id)
        except DirectoryError:
            raise DeliveryFailed(
                f"I couldn't read {person.display_name}'s manager, who is copied on the email"
            ) from None

    async def _send(self, message: MailMessage, address: str) -> DeliveryReceipt:
        try:
            await self._mailer.send_mail(message)
        except DirectoryError as error:
            raise DeliveryFailed(f"the email could not be sent: {_mail_failure(error)}") from None
        return DeliveryReceipt(self.method, provider="graph", destination=mask_email(address))


def _mail_failure(error: DirectoryError) -> str:
    if error.code in ("ErrorInvalidUser", "MailboxNotEnabledForRESTAPI") or error.status == 404:
        return "the sending mailbox (MAIL_SENDER) does not exist or has no mailbox"
    if isinstance(error, DirectoryAccessDenied):
        return "tapbot is not allowed to send mail from that mailbox"
    if error.status == 429:
        return "Exchange Online is busy; please try again in a few minutes"
    if error.status >= 500 or error.status == 0:
        return "Exchange Online did not answer"
    return f"Exchange Online refused it ({error.code or error.status})"
