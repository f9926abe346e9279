"""Flows 2 and 3 through the Agents Playground: Priya (helpdesk) asks, Tom (helpdesk) approves or
denies in the IT Helpdesk team's Approvals channel, and a manager's request after a manager
change goes to the helpdesk instead of a dead end."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest

from sandbox import org
from sandbox.playground import APPROVALS_CHANNEL_ID
from tests.e2e.playground_client import Event, PlaygroundClient, card_of, card_text
from tests.e2e.request_card import answered_card, pass_inputs
from tests.e2e.sandbox_api import passes

pytestmark = pytest.mark.e2e


async def _helpdesk_asks_for(chat: PlaygroundClient, query: str, target: str, why: str) -> Event:
    """Priya opens the card, searches, picks *target*, submits: the answer's card event."""
    await chat.say("request")
    opened = await chat.next_message(lambda e: "Request a Temporary Access Pass" in json.dumps(e))
    card_id = opened["message"]["messageId"]
    found = answered_card(await chat.invoke(card_id, "request.search", {"query": query}))
    targets = [c for b in found["body"] if b.get("id") == "target" for c in b["choices"]]
    assert target in [c["value"] for c in targets], found
    details = answered_card(await chat.invoke(card_id, "request.details", {"target": target}))
    assert "Another helpdesk member approves" in card_text(details)
    answer = await chat.invoke(card_id, "request.submit", pass_inputs(details, target, why))
    return {"card_id": card_id, "card": answered_card(answer)}


async def _approval_card(chat: PlaygroundClient, name: str) -> tuple[str, dict[str, Any]]:
    """Wait for the approval card about *name* in the Approvals channel; return the thread
    conversation id to click in, and the card."""

    def about(event: Event) -> bool:
        card = card_of(event)
        return card is not None and f"Approve a Temporary Access Pass for {name}" in card_text(card)

    event = await chat.next_message(about)
    assert event.get("actionConversationId", "").startswith(APPROVALS_CHANNEL_ID), event
    root = event["message"]["messageId"]
    card = card_of(event)
    assert card is not None
    return f"{APPROVALS_CHANNEL_ID};messageid={root}", card | {"_root": root}


def _says(event: Event, *words: str) -> bool:
    text = json.dumps(event)
    return all(word in text for word in words)


def _review_data(card: dict[str, Any]) -> dict[str, Any]:
    [review] = [a for a in card["actions"] if a["verb"] == "approval.review"]
    data: dict[str, Any] = review["data"]
    return data


async def test_a_helpdesk_request_is_approved_by_another_member_and_the_pass_reaches_priya(
    helpdesk_chat: PlaygroundClient,
    approver_chat: PlaygroundClient,
    tenant: aiohttp.ClientSession,
) -> None:
    asked = await _helpdesk_asks_for(helpdesk_chat, "Liam", org.LIAM_ID, "Lost phone, verified")
    assert "waiting for a helpdesk member other than Priya Shah" in card_text(asked["card"])
    assert org.LIAM_ID not in await passes(tenant)

    thread, card = await _approval_card(approver_chat, "Liam Carter")
    assert "Asked by Priya Shah" in card_text(card)
    assert "Accounts Payable Specialist" in card_text(card)
    data = _review_data(card)
    mine = answered_card(
        await approver_chat.invoke(card["_root"], "approval.review", data, conversation=thread)
    )
    assert [a["title"] for a in mine["actions"]] == ["Approve", "Deny"]
    done = answered_card(
        await approver_chat.invoke(card["_root"], "approval.approve", data, conversation=thread)
    )

    assert "Approved by Tom Becker" in card_text(done)
    delivered, updated = await helpdesk_chat.each_message(
        lambda e: _says(e, "Show pass", "Liam Carter"),
        lambda e: e.get("action") == "updateMessage" and _says(e, "was issued", "Liam Carter"),
    )
    assert "Temporary Access Pass for Liam Carter" in json.dumps(delivered)
    assert org.LIAM_ID in await passes(tenant)
    assert updated["message"]["messageId"] == asked["card_id"]


async def test_the_requester_cannot_approve_her_own_request(
    helpdesk_chat: PlaygroundClient,
    approver_chat: PlaygroundClient,
    tenant: aiohttp.ClientSession,
) -> None:
    asked = await _helpdesk_asks_for(helpdesk_chat, "Grace", org.GRACE_ID, "New phone")
    _thread, card = await _approval_card(approver_chat, "Grace Kim")
    data = _review_data(card)

    # A crafted click as Priya, from her own chat, with the request's id and stage.
    answer = answered_card(await helpdesk_chat.invoke(asked["card_id"], "approval.approve", data))

    assert "You can't approve or deny your own request" in card_text(answer)
    assert org.GRACE_ID not in await passes(tenant)
    # Withdrawn, so it does not expire in the middle of a later test.
    cancelled = answered_card(
        await helpdesk_chat.invoke(
            asked["card_id"], "request.cancel", {"request_id": data["request_id"]}
        )
    )
    assert "Cancelled by the requester" in card_text(cancelled)


async def test_a_denial_with_its_reason_reaches_the_requester(
    helpdesk_chat: PlaygroundClient,
    approver_chat: PlaygroundClient,
    tenant: aiohttp.ClientSession,
) -> None:
    asked = await _helpdesk_asks_for(helpdesk_chat, "Sophie", org.SOPHIE_ID, "Forgot password")
    thread, card = await _approval_card(approver_chat, "Sophie Turner")
    data = _review_data(card)

    no_reason = answered_card(
        await approver_chat.invoke(card["_root"], "approval.deny", data, conversation=thread)
    )
    denied = answered_card(
        await approver_chat.invoke(
            card["_root"],
            "approval.deny",
            data | {"reason": "Caller could not confirm her employee number"},
            conversation=thread,
        )
    )

    assert "Please say why you deny" in card_text(no_reason)
    assert "Denied by Tom Becker" in card_text(denied)
    told, updated = await helpdesk_chat.each_message(
        lambda e: _says(e, "denied your request", "Sophie Turner"),
        lambda e: e.get("action") == "updateMessage" and _says(e, "Denied", "Sophie Turner"),
    )
    assert "Caller could not confirm her employee number" in json.dumps(told)
    assert updated["message"]["messageId"] == asked["card_id"]
    assert org.SOPHIE_ID not in await passes(tenant)


async def test_a_request_nobody_decides_expires(
    helpdesk_chat: PlaygroundClient, tenant: aiohttp.ClientSession
) -> None:
    asked = await _helpdesk_asks_for(helpdesk_chat, "Ava", org.AVA_ID, "Laptop swap")

    told, updated = await helpdesk_chat.each_message(
        lambda e: e.get("action") == "createMessage" and _says(e, "expired", "Ava Thompson"),
        lambda e: e.get("action") == "updateMessage" and _says(e, "Expired", "Ava Thompson"),
        wait_seconds=120,
    )

    assert "nobody decided it" in json.dumps(told)
    assert updated["message"]["messageId"] == asked["card_id"]
    assert org.AVA_ID not in await passes(tenant)


async def test_a_managers_request_after_a_manager_change_goes_to_the_helpdesk(
    manager_chat: PlaygroundClient,
    approver_chat: PlaygroundClient,
    tenant: aiohttp.ClientSession,
) -> None:
    await manager_chat.say("request")
    opened = await manager_chat.next_message(
        lambda e: "Request a Temporary Access Pass" in json.dumps(e)
    )
    form = card_of(opened)
    assert form is not None
    zoe = [c for c in form["body"][1]["choices"] if c["value"] == org.RECENT_MANAGER_CHANGE_ID]
    assert "the helpdesk approves" in zoe[0]["title"]
    answer = answered_card(
        await manager_chat.invoke(
            opened["message"]["messageId"],
            "request.submit",
            pass_inputs(form, org.RECENT_MANAGER_CHANGE_ID, "Back from leave, new phone"),
        )
    )
    assert "waiting for a helpdesk member" in card_text(answer)
    assert org.RECENT_MANAGER_CHANGE_ID not in await passes(tenant)

    thread, card = await _approval_card(approver_chat, "Zoe Adams")
    assert "Manager changed recently" in card_text(card)
    assert "Daniel Okafor" in card_text(card)  # the previous manager
    assert "Robert Lang" in card_text(card)  # who changed it
    await approver_chat.invoke(
        card["_root"], "approval.approve", _review_data(card), conversation=thread
    )

    await manager_chat.next_message(lambda e: "Show pass" in json.dumps(e))
    assert org.RECENT_MANAGER_CHANGE_ID in await passes(tenant)
