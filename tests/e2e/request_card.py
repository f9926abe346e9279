"""Driving the request card from end-to-end tests: open it, fill its pass step, read answers."""

from __future__ import annotations

import json
from typing import Any

from tests.e2e.playground_client import PlaygroundClient, card_of

WHY = "Lost phone, needs to set up the Authenticator again"


async def open_form(chat: PlaygroundClient) -> tuple[str, dict[str, Any]]:
    """Type "request"; the request card's message id and the card."""
    await chat.say("request")
    event = await chat.next_message(lambda e: "Request a Temporary Access Pass" in json.dumps(e))
    card = card_of(event)
    assert card is not None
    return event["message"]["messageId"], card


def pass_inputs(card: dict[str, Any], target: str, why: str = WHY) -> dict[str, Any]:
    """What submitting *card* for *target* sends: an hour, one-time, from now, to my chat."""
    return card["actions"][0]["data"] | {
        "target": target,
        "lifetime": "60",
        "one_time": "true",
        "start": "now",
        "start_date": "",
        "start_time": "",
        "delivery": "chat_requester",
        "justification": why,
    }


def answered_card(answer: dict[str, Any]) -> dict[str, Any]:
    """The card an Action.Execute answer puts in place of the clicked one."""
    value = answer.get("value")
    assert isinstance(value, dict), answer
    return value
