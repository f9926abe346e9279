"""The welcome and help card: what tapbot does and what *this* person may do with it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from adaptive_cards import types
from adaptive_cards.card import AdaptiveCard, Fact, FactSet, RichTextBlock, TextBlock, TextRun

from cards import CARD_VERSION, to_plain
from cards.text import name


@dataclass(frozen=True, slots=True)
class HelpView:
    """What the help card shows.

    *direct_reports* and *is_helpdesk* come from the directory; *role_known* is False when it
    could not be read, or was not read because the person asked for help too often
    (*slowed_down*). *commands* are (word, what it does) pairs the bot understands now.
    """

    display_name: str
    direct_reports: int
    is_helpdesk: bool
    role_known: bool
    commands: Sequence[tuple[str, str]]
    welcome: bool = False
    unrecognised: bool = False
    slowed_down: bool = False


def help_card(view: HelpView) -> dict[str, Any]:
    """Build the help card for *view*."""
    first_name = name(view.display_name).text.split(" ")[0] if view.display_name else ""
    first_name = first_name or "there"
    if view.welcome:
        opening = f"Hello {first_name}, I'm tapbot."
    elif view.unrecognised:
        opening = "I didn't recognise that. Here is what I can do."
    else:
        opening = f"Hello {first_name}, here is what I can do."

    body: list[Any] = [
        # The opening holds a name from the directory: a TextRun, never read as Markdown.
        RichTextBlock(
            inlines=[
                TextRun(text=opening, size=types.FontSize.MEDIUM, weight=types.FontWeight.BOLDER)
            ]
        ),
        TextBlock(
            text=(
                "I get a Microsoft Entra Temporary Access Pass to the right person, safely: a "
                "new joiner on their first day, or someone who lost the phone they sign in with. "
                "With the pass they sign in once and set up passwordless sign-in."
            ),
            wrap=True,
        ),
        TextBlock(
            text="What you can do",
            weight=types.FontWeight.BOLDER,
            wrap=True,
            spacing=types.Spacing.MEDIUM,
        ),
    ]
    body += [TextBlock(text=line, wrap=True) for line in _abilities(view)]
    body += [
        TextBlock(
            text="Commands", weight=types.FontWeight.BOLDER, wrap=True, spacing=types.Spacing.MEDIUM
        ),
        FactSet(facts=[Fact(title=word, value=what) for word, what in view.commands]),
        TextBlock(
            text=(
                "I check every request against Entra: the person must report to you (or a "
                "second helpdesk member must approve), and I never issue a pass to an "
                "administrator, a disabled account, or to you for yourself."
            ),
            wrap=True,
            is_subtle=True,
            size=types.FontSize.SMALL,
            spacing=types.Spacing.MEDIUM,
        ),
    ]
    card = to_plain(AdaptiveCard.new().version(CARD_VERSION).add_items(body).create())
    if view.role_known and (view.direct_reports or view.is_helpdesk):
        # A plain dict: the typed builder has no Action.Execute (Universal Actions).
        card["actions"] = [
            {
                "type": "Action.Execute",
                "title": "Request a pass",
                "verb": "request.open",
                "data": {},
            }
        ]
    return card


def _abilities(view: HelpView) -> list[str]:
    if view.slowed_down:
        return [
            "You've asked me for help very often in the last hour, so I'm not checking your "
            "details in Microsoft Entra for a while. The commands below still work."
        ]
    if not view.role_known:
        return [
            "I couldn't read your details from the directory just now, so I can't tell what "
            "you may do. Please try again in a minute; if it keeps happening, tell your IT team."
        ]
    lines: list[str] = []
    if view.direct_reports:
        people = "person" if view.direct_reports == 1 else "people"
        lines.append(
            f"You manage {view.direct_reports} {people} in the directory, so you can request "
            "a pass for any of them who is eligible."
        )
    if view.is_helpdesk:
        lines.append(
            "You are in the helpdesk group, so you can request a pass for anyone eligible in "
            "the organisation: search for them on the request card. Your organisation's "
            "approvals apply first (by default, another helpdesk member approves)."
        )
    if not lines:
        lines.append(
            "You don't manage anyone in the directory and you aren't in the helpdesk group, so "
            "you can't request passes. If you need one yourself, ask your manager or the "
            "helpdesk."
        )
    return lines
