"""Cards sent to the person a pass is for, in their own Teams chat, and plain notices.

The requester's pass card is `cards.request.pass_card`; these speak to the person themselves.
Names, the user name and the pass are TextRuns (`cards.text`), never Markdown.
"""

from __future__ import annotations

from typing import Any

from cards import CARD_VERSION
from cards.request import hidden_pass
from cards.text import Part, name, rich, sentence, text, typed


def _card(
    body: list[dict[str, Any]], actions: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    card: dict[str, Any] = {"type": "AdaptiveCard", "version": CARD_VERSION, "body": body}
    if actions:
        card["actions"] = actions
    return card


def own_pass_card(
    *,
    username: str,
    requested_by: str,
    value: str,
    starts: str,
    ends: str,
    one_time: bool,
    contact: str,
) -> dict[str, Any]:
    """A pass delivered to its own holder, hidden until "Show pass" is clicked."""
    body = [
        text("Your Temporary Access Pass", size="Medium", weight="Bolder"),
        rich(
            sentence(
                name(requested_by),
                " asked for this pass so you can sign in as ",
                typed(username),
                " and set up a passwordless way to sign in.",
            )
        ),
        *hidden_pass(
            value, starts=starts, ends=ends, use="One sign-in" if one_time else "Until it expires"
        ),
        rich(
            sentence(
                "Never share it: nobody from IT will ask you for it. If you did not expect it, "
                "call ",
                contact,
                " at once. I will remove it from this chat by the time it expires.",
            ),
            subtle=True,
        ),
    ]
    actions = [
        {"type": "Action.ToggleVisibility", "title": "Show pass", "targetElements": ["pass"]}
    ]
    return _card(body, actions)


def own_redacted_pass_card(*, ends: str) -> dict[str, Any]:
    """What a pass sent to its holder becomes once it is removed from the chat."""
    return _card(
        [
            text("Your Temporary Access Pass", size="Medium", weight="Bolder"),
            rich(
                sentence(
                    f"The pass (valid until {ends}) has been removed from this chat. If you "
                    "still need one, ask your manager or the helpdesk."
                )
            ),
        ]
    )


def notice_card(message: Part) -> dict[str, Any]:
    """A message from tapbot, shown literally (it may hold names)."""
    return _card([rich(message)])
