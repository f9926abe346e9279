""" "status" through the Agents Playground: Priya (helpdesk) asks for a pass for Lucas, sees it
waiting for another helpdesk member in her status, and cancels it from there; the approval card
in Tom's Approvals channel turns to "Cancelled". Olivia (manager) sees the pass she got issued."""

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


def _runs(card: dict[str, Any]) -> list[str]:
    """The text of every TextRun, in order: where the cards put names from the directory."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "TextRun":
                found.append(str(node.get("text", "")))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(card)
    return found


def _rows(card: dict[str, Any]) -> list[dict[str, Any]]:
    """The request rows of a status card, newest first."""
    return [item for item in card["body"] if item.get("type") == "Container"]


def _row(card: dict[str, Any], request_id: str) -> dict[str, Any]:
    """The row of *card* whose Cancel button names *request_id*."""
    for item in _rows(card):
        for element in item["items"]:
            for action in element.get("actions", []):
                if action["data"].get("request_id") == request_id:
                    return item
    raise AssertionError(f"no row to cancel {request_id}: {card_text(card)}")


def _cancel(row: dict[str, Any]) -> dict[str, Any]:
    [button] = [a for e in row["items"] for a in e.get("actions", [])]
    assert (button["title"], button["verb"]) == ("Cancel request", "status.cancel")
    return dict(button)


async def _status(chat: PlaygroundClient) -> tuple[str, dict[str, Any]]:
    """Type "status"; return the card's message id and the card."""
    await chat.say("status")
    event = await chat.next_message(lambda e: "Your pass requests" in json.dumps(e))
    card = card_of(event)
    assert card is not None
    return event["message"]["messageId"], card


async def _approval_card(chat: PlaygroundClient, request_id: str) -> tuple[str, dict[str, Any]]:
    """Wait for the approval card of *request_id* in the Approvals channel (a card of an earlier
    test's request may be replayed to a new connection); return its root message id and the
    card."""

    def about(event: Event) -> bool:
        card = card_of(event)
        reviews = [a for a in (card or {}).get("actions", []) if a.get("verb") == "approval.review"]
        return any(a["data"].get("request_id") == request_id for a in reviews)

    event = await chat.next_message(about)
    assert event.get("actionConversationId", "").startswith(APPROVALS_CHANNEL_ID), event
    card = card_of(event)
    assert card is not None
    return event["message"]["messageId"], card


async def test_priya_cancels_her_waiting_request_from_status_and_toms_card_says_cancelled(
    helpdesk_chat: PlaygroundClient,
    approver_chat: PlaygroundClient,
    tenant: aiohttp.ClientSession,
) -> None:
    await helpdesk_chat.say("request")
    opened = await helpdesk_chat.next_message(
        lambda e: "Request a Temporary Access Pass" in json.dumps(e)
    )
    form_id = opened["message"]["messageId"]
    found = answered_card(await helpdesk_chat.invoke(form_id, "request.search", {"query": "Lucas"}))
    assert org.LUCAS_ID in json.dumps(found)
    details = answered_card(
        await helpdesk_chat.invoke(form_id, "request.details", {"target": org.LUCAS_ID})
    )
    asked = answered_card(
        await helpdesk_chat.invoke(
            form_id, "request.submit", pass_inputs(details, org.LUCAS_ID, "New laptop, verified")
        )
    )
    assert "waiting for a helpdesk member other than Priya Shah" in card_text(asked)
    [withdraw] = [a for a in asked["actions"] if a["verb"] == "request.cancel"]
    request_id = withdraw["data"]["request_id"]
    root, approval = await _approval_card(approver_chat, request_id)
    assert "Approve a Temporary Access Pass for Lucas Meyer" in card_text(approval)

    status_id, status = await _status(helpdesk_chat)

    row = _row(status, request_id)
    runs = _runs(row)
    assert "For Lucas Meyer" in runs
    assert "Waiting for approval" in runs
    assert any("waiting for a helpdesk member other than Priya Shah to decide" in r for r in runs)

    button = _cancel(row)
    after = answered_card(await helpdesk_chat.invoke(status_id, button["verb"], button["data"]))

    assert _runs(after)[0] == "Your request for Lucas Meyer is cancelled: no pass will be issued."
    lucas = next(r for r in _rows(after) if "For Lucas Meyer" in _runs(r))
    assert "Cancelled" in _runs(lucas)
    assert "status.cancel" not in json.dumps(lucas)  # the row no longer offers Cancel
    updated = await approver_chat.next_message(
        lambda e: (
            e.get("action") == "updateMessage"
            and e["message"]["messageId"] == root
            and "Cancelled" in json.dumps(e)
        )
    )
    final = card_of(updated)
    assert final is not None
    assert "Cancelled by the requester. No pass was issued." in _runs(final)
    assert not [a for a in final.get("actions", []) if a.get("verb") == "approval.approve"]
    assert org.LUCAS_ID not in await passes(tenant)

    # A second click on the old card changes nothing and says why.
    again = answered_card(await helpdesk_chat.invoke(status_id, button["verb"], button["data"]))
    assert _runs(again)[0] == (
        "Nothing was cancelled: your request for Lucas Meyer isn't waiting any more (cancelled)."
    )


async def test_olivia_sees_the_pass_she_got_issued_in_her_status(
    manager_chat: PlaygroundClient, tenant: aiohttp.ClientSession
) -> None:
    await manager_chat.say("request")
    opened = await manager_chat.next_message(
        lambda e: "Request a Temporary Access Pass" in json.dumps(e)
    )
    form = card_of(opened)
    assert form is not None
    answer = await manager_chat.invoke(
        opened["message"]["messageId"],
        "request.submit",
        pass_inputs(form, org.SOPHIE_ID, "Forgot her password before the audit"),
    )
    assert "Pass issued for Sophie Turner" in json.dumps(answer)
    assert org.SOPHIE_ID in await passes(tenant)

    _status_id, status = await _status(manager_chat)

    runs = _runs(status)
    newest = runs.index("For Sophie Turner")
    assert runs[newest + 1] == "Issued"
    assert runs[newest + 2].startswith(
        "The pass was issued and sent to you in this chat, valid until "
    )
