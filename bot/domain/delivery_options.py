"""Which ways of delivering a pass work for one person, and where each would go (masked).

The request card offers only the methods that can work: no text message without a mobile
number that can take one, no email without an address, no chat with the person when tapbot
cannot reach them. `delivery_options` decides from facts gathered beforehand (the directory
user, whether tapbot can reach their chat) and the deployment's `DeliverySetup`; it does no I/O.
Destinations are masked (``+44 •••• ••01 11``, ``l•••@example.net``): the requester may see
where the pass goes, never the number or address itself.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from bot.domain.model import DeliveryMethod, DirectoryUser, RequestKind, TapRequest
from bot.domain.phone import MASK, InvalidPhoneNumber, mask_phone, sms_number


class MailTo(enum.StrEnum):
    """Which of the person's addresses a pass email goes to."""

    PERSONAL = "personal"  # the first of ``otherMails`` (seed 002's choice)
    WORK = "work"  # ``mail``


@dataclass(frozen=True, slots=True)
class DeliverySetup:
    """What this deployment can deliver with (from the settings).

    *sms*: an SMS provider is configured. *email*: a sender mailbox is. *chat_to_target*: a
    Teams app id is set, so tapbot can look for (and, with *install_for_target*, install) its
    app for the person. *typed_numbers*: a requester may type a number for a text message.
    """

    sms: bool
    email: bool
    chat_to_target: bool
    mail_to: MailTo = MailTo.PERSONAL
    install_for_target: bool = False
    default_region: str | None = None
    typed_numbers: bool = False


# A deployment that delivers only into the requester's chat (no SMS, mail or app id set).
CHAT_ONLY = DeliverySetup(sms=False, email=False, chat_to_target=False)


@dataclass(frozen=True, slots=True)
class ChatReach:
    """What tapbot knows about reaching the person in Teams: a stored conversation with them,
    and whether its app is installed for them (None when it could not be told)."""

    has_conversation: bool = False
    app_installed: bool | None = False


@dataclass(frozen=True, slots=True)
class DeliveryOption:
    """One method for one person: *available*, and either the masked *destination* (empty when
    there is nothing to show, e.g. "this chat") or why not, in words for the requester.

    *typed_number* is True when the requester may type a number for this text message.
    """

    method: DeliveryMethod
    available: bool
    destination: str = ""
    why_not: str = ""
    typed_number: bool = False


def mail_address(user: DirectoryUser, mail_to: MailTo) -> str | None:
    """The address a pass email for *user* goes to, or None when the directory has none."""
    if mail_to is MailTo.PERSONAL:
        return next((m.strip() for m in user.other_mails if m.strip()), None)
    return user.mail.strip() if user.mail and user.mail.strip() else None


def copied_manager_id(request: TapRequest) -> str | None:
    """The one manager a pass email for *request* may copy (``MAIL_CC_MANAGER``): its
    requester, when they asked as the target's manager (a manager's or a joiner's request,
    the relationship checked right before the pass was made) and needed no helpdesk approval
    for a recent manager change; None for every other request. Whoever made themselves the
    manager is exactly whom the safeguard distrusts, and a helpdesk member's request never
    checked the manager at all: an approver who lets a pass go to the person's own address
    must not be sending a copy to them. The caller copies the manager only if the directory
    still names this id."""
    if request.kind not in (RequestKind.MANAGER, RequestKind.JOINER) or request.stages:
        return None
    return request.requester_id


def mask_email(address: str) -> str:
    """*address* with only its first character and its domain shown: ``l•••@example.net``."""
    local, at, domain = address.rpartition("@")
    if not at or not local:
        return MASK * 3
    return f"{local[0]}{MASK * 3}@{domain}"


def delivery_options(
    target: DirectoryUser,
    setup: DeliverySetup,
    reach: ChatReach,
    *,
    requester_reachable: bool = True,
) -> tuple[DeliveryOption, ...]:
    """Every delivery method, in the order the card lists them, each marked available or not
    for *target*. *requester_reachable* is False when tapbot has no chat with the requester."""
    return (
        _chat_to_requester(requester_reachable),
        _chat_to_target(target, setup, reach),
        _sms(target, setup),
        _email(target, setup),
    )


def _chat_to_requester(reachable: bool) -> DeliveryOption:
    if reachable:
        return DeliveryOption(DeliveryMethod.CHAT_TO_REQUESTER, True)
    return DeliveryOption(
        DeliveryMethod.CHAT_TO_REQUESTER, False, why_not="I have no chat with you to send it to"
    )


def _chat_to_target(
    target: DirectoryUser, setup: DeliverySetup, reach: ChatReach
) -> DeliveryOption:
    method = DeliveryMethod.CHAT_TO_TARGET
    if not setup.chat_to_target:
        return DeliveryOption(method, False, why_not="tapbot is not set up to message people")
    if reach.has_conversation or reach.app_installed:
        return DeliveryOption(method, True)
    if setup.install_for_target and reach.app_installed is False:
        return DeliveryOption(method, True)
    if reach.app_installed is None:
        return DeliveryOption(
            method, False, why_not=f"I can't tell now whether tapbot can reach {_first(target)}"
        )
    return DeliveryOption(
        method, False, why_not=f"tapbot is not installed in Teams for {_first(target)}"
    )


def _sms(target: DirectoryUser, setup: DeliverySetup) -> DeliveryOption:
    method = DeliveryMethod.SMS
    if not setup.sms:
        return DeliveryOption(method, False, why_not="text messages are not set up")
    try:
        number = sms_number(target.mobile_phone or "", default_region=setup.default_region)
    except InvalidPhoneNumber as invalid:
        if setup.typed_numbers:
            return DeliveryOption(method, True, typed_number=True)
        return DeliveryOption(
            method,
            False,
            why_not=f"{_first(target)}'s mobile number in the directory can't be used: "
            f"{invalid.problem.text}",
        )
    return DeliveryOption(method, True, mask_phone(number), typed_number=setup.typed_numbers)


def _email(target: DirectoryUser, setup: DeliverySetup) -> DeliveryOption:
    method = DeliveryMethod.EMAIL
    if not setup.email:
        return DeliveryOption(method, False, why_not="email is not set up")
    address = mail_address(target, setup.mail_to)
    if address is None:
        which = "personal email address" if setup.mail_to is MailTo.PERSONAL else "email address"
        return DeliveryOption(
            method, False, why_not=f"the directory has no {which} for {_first(target)}"
        )
    return DeliveryOption(method, True, mask_email(address))


def _first(user: DirectoryUser) -> str:
    return user.given_name or user.display_name


def by_method(method: DeliveryMethod, *, target_name: str) -> str:
    """How a pass goes, as a phrase for the requester: ``by text message``, ``by email``,
    ``in Liam Carter's own Teams chat``, ``in your chat``."""
    match method:
        case DeliveryMethod.CHAT_TO_REQUESTER:
            return "in your chat"
        case DeliveryMethod.CHAT_TO_TARGET:
            return f"in {target_name}'s own Teams chat"
        case DeliveryMethod.SMS:
            return "by text message"
        case DeliveryMethod.EMAIL:
            return "by email"


def delivered_how(method: DeliveryMethod, *, destination: str, target_name: str) -> str:
    """Where a delivered pass went, for the requester: ``sent by text message to +44 •••• ••01
    11``, ``emailed to l•••@example.net``, ``sent to Liam Carter in Teams``, ``sent to you in
    this chat``. *destination* is the delivery receipt's, masked (empty when unknown)."""
    match method:
        case DeliveryMethod.CHAT_TO_REQUESTER:
            return "sent to you in this chat"
        case DeliveryMethod.CHAT_TO_TARGET:
            return f"sent to {target_name} in Teams"
        case DeliveryMethod.SMS:
            return (
                f"sent by text message to {destination}" if destination else "sent by text message"
            )
        case DeliveryMethod.EMAIL:
            return f"emailed to {destination}" if destination else f"emailed to {target_name}"
