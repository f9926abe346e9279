"""Manager changes end to end: the real bot, the fake tenant and the Agents Playground.

Someone makes themselves a person's manager through Graph and asks for a pass at once, before
the directory's audit log shows the change: tapbot's own record of managers catches it and no
pass is issued. And the sandbox's joiners, whose first manager came from HR provisioning, are
not taken for manager changes.
"""

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

CHANGED = "manager changed recently"


def _titles(form: dict[str, Any]) -> dict[str, str]:
    return {c["value"]: c["title"] for c in form["body"][1]["choices"]}


async def _token(tenant: aiohttp.ClientSession, **spec: Any) -> str:
    async with tenant.post("/_sandbox/token", json=spec) as response:
        assert response.status == 200, await response.text()
        token: str = (await response.json())["access_token"]
    return token


async def _manager_events(tenant: aiohttp.ClientSession, user_id: str) -> list[dict[str, Any]]:
    """What the directory's audit log shows now about *user_id*'s manager."""
    reader = await _token(tenant, appId=org.CLIENT_ID, roles=["AuditLog.Read.All"])
    url = (
        "/v1.0/auditLogs/directoryAudits?$filter=activityDisplayName eq 'Set user manager'"
        f" and targetResources/any(t:t/id eq '{user_id}')"
    )
    async with tenant.get(url, headers={"Authorization": f"Bearer {reader}"}) as response:
        assert response.status == 200, await response.text()
        events: list[dict[str, Any]] = (await response.json())["value"]
    return events


async def test_a_manager_set_a_moment_ago_gets_no_pass_while_the_audit_log_lags(
    manager_chat: PlaygroundClient, tenant: aiohttp.ClientSession
) -> None:
    # The audit log shows new events ten minutes late, as Entra's can.
    async with tenant.post("/_sandbox/audit-delay", json={"seconds": 600}) as response:
        assert response.status == 200
    before = await _manager_events(tenant, org.LUCAS_ID)
    # Olivia makes herself Lucas's manager through Graph, with her own (delegated) token.
    olivia = await _token(tenant, userId=org.MANAGER_ID)
    body = {"@odata.id": f"https://graph.microsoft.com/v1.0/users/{org.MANAGER_ID}"}
    async with tenant.put(
        f"/v1.0/users/{org.LUCAS_ID}/manager/$ref",
        json=body,
        headers={"Authorization": f"Bearer {olivia}"},
    ) as response:
        assert response.status == 204, await response.text()
    assert await _manager_events(tenant, org.LUCAS_ID) == before  # nothing in the log yet

    card_id, form = await open_form(manager_chat)
    assert CHANGED in _titles(form)[org.LUCAS_ID]
    answer = await manager_chat.invoke(card_id, "request.submit", pass_inputs(form, org.LUCAS_ID))

    text = json.dumps(answer)
    assert "Pass issued" not in text
    assert "waiting for a helpdesk member" in text
    assert org.LUCAS_ID not in await passes(tenant)


async def test_joiners_from_hr_provisioning_are_not_marked_but_a_change_by_a_person_is(
    manager_chat: PlaygroundClient, tenant: aiohttp.ClientSession
) -> None:
    for joiner in org.JOINER_IDS:
        # Each joiner's first manager was set days ago, inside the change window, by HR
        # provisioning when it created the account.
        [first] = await _manager_events(tenant, joiner)
        assert first["initiatedBy"]["app"]["appId"] == org.HR_PROVISIONING_APP_ID

    _, form = await open_form(manager_chat)

    titles = _titles(form)
    for joiner in org.JOINER_IDS:
        assert "not eligible" not in titles[joiner], titles[joiner]
    assert CHANGED in titles[org.RECENT_MANAGER_CHANGE_ID]  # Zoe: Robert Lang changed it
