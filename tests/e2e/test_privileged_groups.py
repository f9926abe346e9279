"""Administrators through groups, end to end: forged submits for the seeded manager's two
reports who hold or can come to hold Global Administrator only through a role-assignable group
are refused in words and issue nothing, and so is any report while their roles cannot be read."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest

from sandbox import org
from tests.e2e.playground_client import PlaygroundClient
from tests.e2e.request_card import open_form, pass_inputs
from tests.e2e.sandbox_api import passes

pytestmark = pytest.mark.e2e


async def _effective_roles(tenant: aiohttp.ClientSession, user_id: str) -> list[dict[str, Any]]:
    async with tenant.get("/_sandbox/org.json") as response:
        body = await response.json()
    return next(u["roles"] for u in body["users"] if u["id"] == user_id)


@pytest.mark.parametrize(
    ("target", "words"),
    [
        # Global Administrator as an active member of "Tier 0 Administrators".
        (org.GROUP_ADMIN_ID, "holds an administrator role"),
        # Only a PIM-eligible member of "Global Administrators (just in time)".
        (org.PIM_GROUP_ELIGIBLE_ID, "can become an administrator"),
    ],
)
async def test_a_forged_submit_for_an_administrator_through_a_group_is_refused(
    manager_chat: PlaygroundClient, tenant: aiohttp.ClientSession, target: str, words: str
) -> None:
    # The fake tenant says where the role comes from: through a group, never directly.
    roles = await _effective_roles(tenant, target)
    assert roles
    assert {r["source"] for r in roles} <= {"group_member", "group_eligible_member"}
    card_id, form = await open_form(manager_chat)
    targets = {c["value"]: c["title"] for c in form["body"][1]["choices"]}
    assert "not eligible" in targets[target]

    answer = await manager_chat.invoke(card_id, "request.submit", pass_inputs(form, target))

    text = json.dumps(answer)
    assert "No pass was requested" in text
    assert words in text
    assert "through a group" in text
    assert "Global Administrator" in text
    assert "Tier 0" not in text
    assert "just in time" not in text
    assert target not in await passes(tenant)


async def test_a_report_whose_roles_cannot_be_read_gets_no_pass(
    manager_chat: PlaygroundClient, tenant: aiohttp.ClientSession
) -> None:
    card_id, form = await open_form(manager_chat)
    fault = {"route": "list_pim_group_eligibilities", "kind": "error", "status": 403}
    async with tenant.post("/_sandbox/faults", json=fault) as response:
        assert response.status == 201, await response.text()

    answer = await manager_chat.invoke(card_id, "request.submit", pass_inputs(form, org.LIAM_ID))

    text = json.dumps(answer)
    assert "No pass was requested" in text
    assert "couldn't check whether Liam Carter is or can become an administrator" in text
    assert org.LIAM_ID not in await passes(tenant)
