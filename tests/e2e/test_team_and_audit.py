""" "team" and "audit" through the Agents Playground, against the fake tenant's Graph: Olivia
sees her team and revokes a pass she issued, and asks for a pass from a row straight at its pass
step; a revoke for someone who is not hers is refused; Priya (helpdesk) reads the audit trail
and Olivia may not."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest

from sandbox import org
from tests.e2e.playground_client import PlaygroundClient, card_of
from tests.e2e.sandbox_api import passes

pytestmark = pytest.mark.e2e


async def _card_for(chat: PlaygroundClient, text: str, title: str) -> tuple[str, dict[str, Any]]:
    """Type *text*; return the id and content of the card whose text holds *title*."""
    await chat.say(text)
    event = await chat.next_message(lambda e: title in json.dumps(e))
    card = card_of(event)
    assert card is not None
    return event["message"]["messageId"], card


async def _issue(chat: PlaygroundClient, target: str) -> None:
    """A pass for *target* through the request card, as Olivia would get it."""
    card_id, form = await _card_for(chat, "request", "Request a Temporary Access Pass")
    data = form["actions"][0]["data"] | {
        "target": target,
        "lifetime": "60",
        "one_time": "true",
        "start": "now",
        "start_date": "",
        "start_time": "",
        "delivery": "chat_requester",
        "justification": "Lost phone, needs to set up the Authenticator again",
    }
    answer = await chat.invoke(card_id, "request.submit", data)
    assert "Pass issued for" in json.dumps(answer)


def _buttons(card: dict[str, Any], verb: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "Action.Execute" and node.get("verb") == verb:
                found.append(node)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(card)
    return found


def _runs(card: dict[str, Any]) -> list[str]:
    """The text of every TextRun, in order: where the cards put names from the directory."""
    return [run["text"] for run in _text_runs(card)]


def _text_runs(node: Any) -> list[dict[str, Any]]:
    if isinstance(node, dict):
        own = [node] if node.get("type") == "TextRun" else []
        return own + [r for value in node.values() for r in _text_runs(value)]
    if isinstance(node, list):
        return [r for item in node for r in _text_runs(item)]
    return []


async def test_olivia_sees_her_team_and_revokes_a_pass_she_issued(
    manager_chat: PlaygroundClient, tenant: aiohttp.ClientSession
) -> None:
    await _issue(manager_chat, org.LIAM_ID)
    issued = (await passes(tenant))[org.LIAM_ID]

    card_id, team = await _card_for(manager_chat, "team", "Your team's passes")

    assert "Liam Carter" in _runs(team)
    assert any(r.startswith("Active from") for r in _runs(team))
    [revoke] = _buttons(team, "team.revoke")
    assert revoke["data"] == {"target": org.LIAM_ID, "pass_id": issued["id"]}

    question = await manager_chat.invoke(card_id, "team.revoke", revoke["data"])
    assert "Revoke this pass?" in json.dumps(question)
    assert org.LIAM_ID in await passes(tenant)

    [confirm] = _buttons(question["value"], "team.revoke_confirm")
    done = await manager_chat.invoke(
        card_id, "team.revoke_confirm", confirm["data"] | {"tell_them": "false"}
    )

    assert _runs(done["value"])[0] == "Liam Carter's pass was revoked: it no longer works."
    assert org.LIAM_ID not in await passes(tenant)
    assert _buttons(done["value"], "team.revoke") == []

    again = await manager_chat.invoke(card_id, "team.revoke_confirm", confirm["data"])
    assert "already gone" in json.dumps(again)


async def test_request_a_pass_on_olivias_team_opens_the_pass_step_for_that_person(
    manager_chat: PlaygroundClient, tenant: aiohttp.ClientSession
) -> None:
    card_id, team = await _card_for(manager_chat, "team", "Your team's passes")
    [request] = [b for b in _buttons(team, "team.request") if b["data"]["target"] == org.LIAM_ID]

    details = await manager_chat.invoke(card_id, "team.request", request["data"])

    assert "Temporary Access Pass for Liam Carter" in _runs(details["value"])
    [submit] = _buttons(details["value"], "request.submit")
    assert submit["data"]["target"] == org.LIAM_ID
    answer = await manager_chat.invoke(
        card_id,
        "request.submit",
        submit["data"]
        | {
            "lifetime": "60",
            "one_time": "true",
            "start": "now",
            "delivery": "chat_requester",
            "justification": "Locked out, asked from the team card",
        },
    )
    assert "Pass issued for" in json.dumps(answer)
    assert org.LIAM_ID in await passes(tenant)


async def test_a_revoke_for_someone_who_is_not_olivias_report_is_refused(
    manager_chat: PlaygroundClient, tenant: aiohttp.ClientSession
) -> None:
    await _issue(manager_chat, org.SOPHIE_ID)
    card_id, team = await _card_for(manager_chat, "team", "Your team's passes")
    [revoke] = _buttons(team, "team.revoke")
    # Sophie moves to Daniel's team after Olivia's card was drawn.
    body = {"userId": org.SOPHIE_ID, "managerId": org.SECOND_MANAGER_ID}
    async with tenant.post("/_sandbox/manager", json=body) as response:
        assert response.status == 204

    moved = await manager_chat.invoke(card_id, "team.revoke_confirm", revoke["data"])
    forged = await manager_chat.invoke(
        card_id,
        "team.revoke_confirm",
        {"target": org.LUCAS_ID, "pass_id": revoke["data"]["pass_id"]},
    )

    for answer, name in ((moved, "Sophie Turner"), (forged, "Lucas Meyer")):
        assert "Nothing was revoked" in json.dumps(answer)
        assert f"{name} doesn't report to you" in json.dumps(answer)
    assert org.SOPHIE_ID in await passes(tenant)


async def test_audit_is_refused_to_olivia_and_shown_to_priya_with_names(
    manager_chat: PlaygroundClient, helpdesk_chat: PlaygroundClient
) -> None:
    _, refused = await _card_for(manager_chat, "audit", "not available to you")
    assert "helpdesk members only" in json.dumps(refused)

    _, trail = await _card_for(helpdesk_chat, "audit", "Audit trail")

    runs = _runs(trail)
    newest = runs.index("Olivia Bennett")
    assert "audit: refused" in " ".join(runs[newest - 2 : newest])
    assert any(r.startswith("reason: not_helpdesk") for r in runs)
    assert _buttons(trail, "audit.filter")
