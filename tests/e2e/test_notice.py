"""The person a pass is for hears of it by text message (the sandbox runs with
NOTICE_METHODS=sms,email and the fake Twilio): through the real bot, its Twilio client and the
fake's checks, onto the outbox, without the pass."""

from __future__ import annotations

import asyncio
import json

import aiohttp
import pytest

from sandbox import org
from tests.e2e.playground_client import PlaygroundClient, card_of
from tests.e2e.sandbox_api import outbox

pytestmark = pytest.mark.e2e


async def test_the_person_gets_a_text_saying_a_pass_was_issued_and_by_whom(
    manager_chat: PlaygroundClient, tenant: aiohttp.ClientSession
) -> None:
    await manager_chat.say("request")
    event = await manager_chat.next_message(
        lambda e: "Request a Temporary Access Pass" in json.dumps(e)
    )
    form = card_of(event)
    assert form is not None
    data = form["actions"][0]["data"] | {
        "target": org.LIAM_ID,
        "lifetime": "60",
        "one_time": "true",
        "start": "now",
        "start_date": "",
        "start_time": "",
        "delivery": "chat_requester",
        "justification": "Lost phone",
    }
    await manager_chat.invoke(event["message"]["messageId"], "request.submit", data)

    for _ in range(50):
        texts = [m for m in await outbox(tenant) if m["kind"] == "sms"]
        if texts:
            break
        await asyncio.sleep(0.2)
    [text] = texts
    assert (text["channel"], text["to"]) == ("twilio", ["+61491570006"])
    assert text["reference"].startswith("SM")
    assert "at the request of Olivia Bennett and sent to Olivia Bennett in Teams" in text["body"]
    assert "call the Contoso service desk, extension 4000 at once" in text["body"]
    assert text["carriesPass"] is False
