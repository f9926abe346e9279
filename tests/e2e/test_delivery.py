"""Flow 4 through the Agents Playground: the manager picks Liam, is offered a text message and
his personal email (masked), and the pass reaches the fake tenant's outbox by either, hidden
there; with the SMS provider refusing for good, the pass is deleted and the manager told."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import pytest

from sandbox import org
from sandbox.tenant import REDACTED
from tests.e2e.playground_client import PlaygroundClient, card_of
from tests.e2e.sandbox_api import outbox, passes

pytestmark = pytest.mark.e2e

LIAM_MOBILE = "+61491570006"
LIAM_MOBILE_MASKED = "+61 •••• •000 6"
LIAM_PERSONAL = "liam.carter.home@example.net"
LIAM_PERSONAL_MASKED = "l•••@example.net"


async def _carrying_the_pass(tenant: aiohttp.ClientSession) -> dict[str, Any]:
    """The one message on the outbox that carries a pass (notices don't), once it is there."""
    for _ in range(50):
        found = [m for m in await outbox(tenant) if m["carriesPass"]]
        if found:
            [message] = found
            return message
        await asyncio.sleep(0.2)
    raise AssertionError("no message carrying a pass reached the outbox")


async def _step_two(chat: PlaygroundClient, target: str) -> tuple[str, dict[str, Any]]:
    """ "request", pick *target*, Next: the card id and the card of step two."""
    await chat.say("request")
    event = await chat.next_message(lambda e: "Request a Temporary Access Pass" in json.dumps(e))
    card_id = event["message"]["messageId"]
    first = card_of(event)
    assert first is not None
    next_button = first["actions"][0]
    assert (next_button["title"], next_button["verb"]) == ("Next", "request.details")
    answer = await chat.invoke(card_id, "request.details", next_button["data"] | {"target": target})
    card = answer["value"]
    assert isinstance(card, dict), answer
    return card_id, card


def _deliveries(card: dict[str, Any]) -> dict[str, str]:
    for item in card["body"]:
        if item.get("id") == "delivery":
            return {c["value"]: c["title"] for c in item["choices"]}
    raise AssertionError("no delivery choice on the card")


def _submission(card: dict[str, Any], delivery: str) -> dict[str, Any]:
    return card["actions"][0]["data"] | {
        "lifetime": "60",
        "one_time": "true",
        "start": "now",
        "start_date": "",
        "start_time": "",
        "delivery": delivery,
        "justification": "Lost phone, needs to set up the Authenticator again",
    }


async def test_liam_is_offered_a_text_and_his_personal_email_masked(
    manager_chat: PlaygroundClient, tenant: aiohttp.ClientSession
) -> None:
    _, card = await _step_two(manager_chat, org.LIAM_ID)
    offered = _deliveries(card)
    assert offered["sms"] == f"By text message to {LIAM_MOBILE_MASKED}"
    assert offered["email"] == f"By email to {LIAM_PERSONAL_MASKED}"
    assert offered["chat_requester"] == "To me, in this chat"
    text = json.dumps(card, ensure_ascii=False)
    assert "491 570 006" not in text
    assert LIAM_PERSONAL not in text

    _, grace = await _step_two(manager_chat, org.GRACE_ID)  # a UK drama number: no text
    assert "sms" not in _deliveries(grace)
    assert "By text message: not possible" in json.dumps(grace, ensure_ascii=False)


async def test_a_pass_by_text_message_reaches_the_outbox_hidden(
    manager_chat: PlaygroundClient, tenant: aiohttp.ClientSession
) -> None:
    card_id, card = await _step_two(manager_chat, org.LIAM_ID)
    answer = await manager_chat.invoke(card_id, "request.submit", _submission(card, "sms"))

    outcome = json.dumps(answer, ensure_ascii=False)
    assert "Pass issued for Liam Carter" in outcome
    assert f"The pass was sent by text message to {LIAM_MOBILE_MASKED}" in outcome
    text = await _carrying_the_pass(tenant)
    assert (text["kind"], text["channel"], text["to"]) == ("sms", "twilio", [LIAM_MOBILE])
    assert text["reference"].startswith("SM")
    assert REDACTED in text["body"].split("\n")
    assert "Requested by Olivia Bennett" in text["body"]
    assert org.LIAM_ID in await passes(tenant)


async def test_a_pass_by_email_reaches_the_personal_address_hidden(
    manager_chat: PlaygroundClient, tenant: aiohttp.ClientSession
) -> None:
    card_id, card = await _step_two(manager_chat, org.LIAM_ID)
    answer = await manager_chat.invoke(card_id, "request.submit", _submission(card, "email"))

    assert f"The pass was emailed to {LIAM_PERSONAL_MASKED}" in json.dumps(
        answer, ensure_ascii=False
    )
    mail = await _carrying_the_pass(tenant)
    assert (mail["kind"], mail["to"], mail["cc"]) == (
        "email",
        [LIAM_PERSONAL],
        [f"olivia.bennett@{org.DOMAIN}"],
    )
    assert REDACTED in mail["body"]
    async with tenant.get("/outbox") as response:
        page = await response.text()
    assert REDACTED in page


async def test_an_sms_provider_that_refuses_for_good_leaves_no_pass_and_says_why(
    manager_chat: PlaygroundClient, tenant: aiohttp.ClientSession
) -> None:
    # Twilio's 21610: the person replied STOP. Not worth retrying; the pass must go.
    fault = {"route": "twilio_sms", "kind": "error", "status": 400, "code": "21610"}
    async with tenant.post("/_sandbox/faults", json=fault) as response:
        assert response.status < 300, await response.text()
    card_id, card = await _step_two(manager_chat, org.LIAM_ID)
    answer = await manager_chat.invoke(card_id, "request.submit", _submission(card, "sms"))

    outcome = json.dumps(answer, ensure_ascii=False)
    assert "The pass could not be issued" in outcome
    assert "could not deliver it by text message" in outcome
    assert "replied STOP" in outcome
    assert "so I deleted it again" in outcome
    live = (await passes(tenant)).get(org.LIAM_ID)
    assert live is None or live["isUsable"] is False
    assert not [m for m in await outbox(tenant) if m["carriesPass"]]
