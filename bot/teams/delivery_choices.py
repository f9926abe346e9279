"""The delivery part of a card that asks for a pass: the ways that work for one person, each
with where it goes (masked), and the ways that don't, with why."""

from __future__ import annotations

from collections.abc import Sequence

from bot.domain.delivery_options import DeliveryOption
from bot.domain.model import DeliveryMethod
from cards.request import DeliveryChoices

METHOD_NAMES: dict[DeliveryMethod, str] = {
    DeliveryMethod.CHAT_TO_REQUESTER: "In this chat",
    DeliveryMethod.CHAT_TO_TARGET: "In their own Teams chat",
    DeliveryMethod.SMS: "By text message",
    DeliveryMethod.EMAIL: "By email",
}


def delivery_choices(
    options: Sequence[DeliveryOption], first_name: str, *, own_chat: str = "To me, in this chat"
) -> DeliveryChoices:
    """*options* for the person called *first_name* as a card's choices: those available, the
    others with why not (the asker's own chat always works, so it is never listed as not
    possible), and a number box where typing a number is allowed. *own_chat* titles the
    asker's chat with tapbot."""
    offered: list[tuple[str, str]] = []
    not_offered: list[str] = []
    number_label = ""
    for option in options:
        if option.available:
            offered.append((option.method.value, _title(option, first_name, own_chat)))
            if option.method is DeliveryMethod.SMS and option.typed_number:
                number_label = (
                    f"Or type a mobile number for the text message (empty: {option.destination})"
                    if option.destination
                    else "Mobile number for the text message"
                )
        elif option.method is not DeliveryMethod.CHAT_TO_REQUESTER:
            not_offered.append(f"{METHOD_NAMES[option.method]}: not possible, {option.why_not}.")
    return DeliveryChoices(offered, not_offered, number_label)


def _title(option: DeliveryOption, first: str, own_chat: str) -> str:
    """A choice's title (plain text in Teams, never Markdown): the method and where it goes."""
    match option.method:
        case DeliveryMethod.CHAT_TO_REQUESTER:
            return own_chat
        case DeliveryMethod.CHAT_TO_TARGET:
            return f"To {first}, in their own Teams chat"
        case DeliveryMethod.SMS:
            if option.destination:
                return f"By text message to {option.destination}"
            return "By text message to a number I type"
        case DeliveryMethod.EMAIL:
            return f"By email to {option.destination}"
