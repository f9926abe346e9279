"""The fake tenant's users delta, manager references and their audit events, over real HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from sandbox import org
from sandbox.server import FakeTenant, run_fake_tenant
from tests.sandbox.conftest import secret_token
from tests.twins.clock import ManualClock

MANAGER_SELECT = "users/delta?$select=id,displayName,manager"
USER_TYPE = "#microsoft.graph.user"


async def mint(fake: FakeTenant, **spec: Any) -> str:
    """A token from the sandbox control: for a person ({userId}) or an app ({appId, roles})."""
    async with httpx.AsyncClient(base_url=fake.base_url) as control:
        response = await control.post("/_sandbox/token", json=spec)
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def as_(graph: httpx.AsyncClient, token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def whole_round(graph: httpx.AsyncClient, url: str, **kwargs: Any) -> tuple[list[dict], str]:
    items: list[dict] = []
    while True:
        response = await graph.get(url, **kwargs)
        assert response.status_code == 200, response.text
        body = response.json()
        items += body["value"]
        if "@odata.nextLink" in body:
            url = body["@odata.nextLink"]
            assert "$select" not in url  # kept inside the token
            continue
        return items, body["@odata.deltaLink"]


def reference(user_id: str) -> dict[str, str]:
    return {"@odata.id": f"https://graph.microsoft.com/v1.0/users/{user_id}"}


async def manager_audits(graph: httpx.AsyncClient, user_id: str) -> list[dict[str, Any]]:
    url = (
        "auditLogs/directoryAudits?$filter=activityDisplayName eq 'Set user manager'"
        f" and targetResources/any(t:t/id eq '{user_id}')"
    )
    response = await graph.get(url)
    assert response.status_code == 200, response.text
    events: list[dict[str, Any]] = response.json()["value"]
    return events


# Users delta


async def test_a_full_round_keeps_the_selection_in_its_links(graph: httpx.AsyncClient) -> None:
    items, delta = await whole_round(graph, MANAGER_SELECT)

    assert "$deltatoken=" in delta
    assert len(items) == len(org.PEOPLE)
    liam = next(i for i in items if i["id"] == org.LIAM_ID)
    assert liam == {
        "id": org.LIAM_ID,
        "displayName": "Liam Carter",
        "manager@delta": [{"@odata.type": USER_TYPE, "id": org.MANAGER_ID}],
    }
    ceo = next(i for i in items if i["id"] == org.CEO_ID)
    assert "manager@delta" not in ceo


@pytest.mark.parametrize("option", ["$expand=manager", "$top=5", "$orderby=displayName"])
async def test_unsupported_query_options_are_refused(graph: httpx.AsyncClient, option: str) -> None:
    response = await graph.get(f"{MANAGER_SELECT}&{option}")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "Request_BadRequest"


async def test_an_unknown_property_is_refused(graph: httpx.AsyncClient) -> None:
    response = await graph.get("users/delta?$select=id,shoeSize")
    assert response.status_code == 400


async def test_changes_come_in_the_next_round_and_minimal_keeps_only_them(
    fake: FakeTenant, graph: httpx.AsyncClient
) -> None:
    _, delta = await whole_round(graph, MANAGER_SELECT)
    fake.tenant.set_manager(org.LUCAS_ID, org.MANAGER_ID, by=org.MANAGER_ID)

    response = await graph.get(delta, headers={"Prefer": "return=minimal"})

    assert response.headers["Preference-Applied"] == "return=minimal"
    lucas = next(i for i in response.json()["value"] if i["id"] == org.LUCAS_ID)
    assert lucas == {
        "id": org.LUCAS_ID,
        "manager@delta": [{"@odata.type": USER_TYPE, "id": org.MANAGER_ID}],
    }


async def test_rounds_replay_the_last_change_and_report_deletions(
    fake: FakeTenant, graph: httpx.AsyncClient
) -> None:
    _, delta = await whole_round(graph, MANAGER_SELECT)
    fake.tenant.set_manager(org.AVA_ID, org.MANAGER_ID, by=org.MANAGER_ID)
    fake.tenant.remove_user(org.LUCAS_ID)
    items, delta = await whole_round(graph, delta)
    assert {"id": org.LUCAS_ID, "@removed": {"reason": "changed"}} in items
    assert any(i["id"] == org.AVA_ID for i in items)

    replayed, _ = await whole_round(graph, delta)
    assert [i["id"] for i in replayed] == [org.LUCAS_ID]  # delivered again: expect replays


async def test_a_removed_manager_leaves_manager_delta_out(
    fake: FakeTenant, graph: httpx.AsyncClient
) -> None:
    _, delta = await whole_round(graph, MANAGER_SELECT)
    fake.tenant.set_manager(org.GRACE_ID, None, by=org.MANAGER_ID)
    items, _ = await whole_round(graph, delta)
    grace = next(i for i in items if i["id"] == org.GRACE_ID)
    assert "manager@delta" not in grace


@pytest.mark.parametrize("token", ["not-a-token", "eyJlIjogIngifQ"])
async def test_an_unreadable_token_is_gone(graph: httpx.AsyncClient, token: str) -> None:
    response = await graph.get(f"users/delta?$deltatoken={token}")
    assert response.status_code == 410
    assert response.json()["error"]["code"] == "resyncRequired"


async def test_links_from_before_a_reset_are_gone(
    fake: FakeTenant, graph: httpx.AsyncClient
) -> None:
    _, delta = await whole_round(graph, MANAGER_SELECT)
    fake.reset()
    assert (await graph.get(delta)).status_code == 410


@pytest.fixture
async def clocked(tmp_path: Path) -> AsyncIterator[tuple[FakeTenant, ManualClock]]:
    clock = ManualClock()
    async with run_fake_tenant(tmp_path / "state", clock=clock.now) as running:
        yield running, clock


async def test_links_expire_after_seven_days(
    clocked: tuple[FakeTenant, ManualClock],
) -> None:
    fake, clock = clocked
    token = await secret_token(fake)
    async with httpx.AsyncClient(base_url=fake.graph_url + "/", headers=as_bearer(token)) as graph:
        _, delta = await whole_round(graph, MANAGER_SELECT)
        clock.advance(days=6, hours=23)
        assert (await graph.get(delta)).status_code == 200
        clock.advance(hours=2)
        assert (await graph.get(delta)).status_code == 410


def as_bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# Manager references and their audit events


async def test_a_person_sets_a_manager_and_the_audit_log_names_them(
    fake: FakeTenant, graph: httpx.AsyncClient
) -> None:
    olivia = await mint(fake, userId=org.MANAGER_ID)
    url = f"users/{org.LUCAS_ID}/manager/$ref"

    response = await graph.put(url, json=reference(org.MANAGER_ID), headers=as_(graph, olivia))

    assert response.status_code == 204
    manager = (await graph.get(f"users/{org.LUCAS_ID}/manager")).json()
    assert manager["id"] == org.MANAGER_ID
    events = await manager_audits(graph, org.LUCAS_ID)
    newest = max(events, key=lambda e: e["activityDateTime"])
    assert newest["initiatedBy"]["user"]["id"] == org.MANAGER_ID
    assert newest["initiatedBy"]["app"] is None
    subject, new_manager = newest["targetResources"]
    assert subject["id"] == org.LUCAS_ID
    assert subject["modifiedProperties"] == [
        {
            "displayName": "Manager.ObjectID",
            "oldValue": f'"{org.SECOND_MANAGER_ID}"',
            "newValue": f'"{org.MANAGER_ID}"',
        }
    ]
    assert new_manager["id"] == org.MANAGER_ID
    assert not any(key.startswith("_") for key in newest)


async def test_the_audit_delay_hides_new_events_until_it_has_passed(
    clocked: tuple[FakeTenant, ManualClock],
) -> None:
    fake, clock = clocked
    async with httpx.AsyncClient(base_url=fake.base_url) as control:
        delayed = await control.post("/_sandbox/audit-delay", json={"seconds": 300})
        assert delayed.status_code == 200
        assert (
            await control.post("/_sandbox/audit-delay", json={"seconds": -1})
        ).status_code == 400
    token = await secret_token(fake)
    async with httpx.AsyncClient(base_url=fake.graph_url + "/", headers=as_bearer(token)) as graph:
        olivia = await mint(fake, userId=org.MANAGER_ID)
        url = f"users/{org.AVA_ID}/manager/$ref"
        put = await graph.put(url, json=reference(org.MANAGER_ID), headers=as_bearer(olivia))
        assert put.status_code == 204
        assert await manager_audits(graph, org.AVA_ID) == []
        clock.advance(minutes=4)
        assert await manager_audits(graph, org.AVA_ID) == []
        clock.advance(minutes=1, seconds=1)
        assert len(await manager_audits(graph, org.AVA_ID)) == 1


async def test_an_app_sets_a_manager_as_the_app(fake: FakeTenant, graph: httpx.AsyncClient) -> None:
    hr = await mint(fake, appId=org.HR_PROVISIONING_APP_ID, roles=["User.ReadWrite.All"])
    url = f"users/{org.AVA_ID}/manager/$ref"
    assert (
        await graph.put(url, json=reference(org.MANAGER_ID), headers=as_(graph, hr))
    ).status_code == 204
    [event] = await manager_audits(graph, org.AVA_ID)
    assert event["initiatedBy"] == {
        "user": None,
        "app": {
            "appId": org.HR_PROVISIONING_APP_ID,
            "displayName": org.HR_PROVISIONING_NAME,
            "servicePrincipalId": org.HR_PROVISIONING_SP_ID,
            "servicePrincipalName": org.HR_PROVISIONING_NAME,
        },
    }


async def test_changing_a_manager_needs_a_write_permission(
    fake: FakeTenant, graph: httpx.AsyncClient
) -> None:
    url = f"users/{org.AVA_ID}/manager/$ref"
    # The bot's own token reads the directory but never writes it.
    bot = await graph.put(url, json=reference(org.MANAGER_ID))
    assert bot.status_code == 403
    assert bot.json()["error"]["code"] == "Authorization_RequestDenied"
    reader = await mint(fake, userId=org.MANAGER_ID, scopes=["User.Read.All"])
    assert (
        await graph.put(url, json=reference(org.MANAGER_ID), headers=as_(graph, reader))
    ).status_code == 403
    assert (await graph.get(f"users/{org.AVA_ID}/manager")).json()["id"] == org.SECOND_MANAGER_ID


async def test_removing_a_manager(fake: FakeTenant, graph: httpx.AsyncClient) -> None:
    admin = await mint(fake, userId=org.GLOBAL_ADMIN_ID)
    url = f"users/{org.GRACE_ID}/manager/$ref"
    assert (await graph.delete(url, headers=as_(graph, admin))).status_code == 204
    gone = await graph.get(f"users/{org.GRACE_ID}/manager")
    assert gone.status_code == 404
    assert gone.json()["error"]["code"] == "Request_ResourceNotFound"
    again = await graph.delete(url, headers=as_(graph, admin))
    assert again.status_code == 404
    [event] = await manager_audits(graph, org.GRACE_ID)
    assert event["targetResources"][0]["modifiedProperties"][0]["newValue"] is None


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({}, 400),
        ({"@odata.id": 7}, 400),
        (reference("10000000-0000-4000-8000-0000000000ff"), 404),
        (reference(org.AVA_ID), 400),  # her own manager
    ],
)
async def test_bad_manager_references_are_refused(
    fake: FakeTenant, graph: httpx.AsyncClient, body: dict[str, Any], status: int
) -> None:
    admin = await mint(fake, userId=org.GLOBAL_ADMIN_ID)
    response = await graph.put(
        f"users/{org.AVA_ID}/manager/$ref", json=body, headers=as_(graph, admin)
    )
    assert response.status_code == status


async def test_the_token_control_checks_what_it_is_asked(fake: FakeTenant) -> None:
    async with httpx.AsyncClient(base_url=fake.base_url) as control:
        for spec in ({}, {"userId": 5}, {"userId": "u", "scopes": "x"}, {"appId": "a", "roles": 1}):
            assert (await control.post("/_sandbox/token", json=spec)).status_code == 400


# The seeded organisation


async def test_joiners_were_created_with_their_manager_by_hr_provisioning(
    graph: httpx.AsyncClient,
) -> None:
    for joiner in org.JOINER_IDS:
        url = (
            "auditLogs/directoryAudits?$filter="
            f"targetResources/any(t:t/id eq '{joiner}')&$orderby=activityDateTime asc"
        )
        events = (await graph.get(url)).json()["value"]
        mine = [e for e in events if e["targetResources"][0]["id"] == joiner]
        assert [e["activityDisplayName"] for e in mine] == ["Add user", "Set user manager"]
        added, managed = mine
        assert added["correlationId"] == managed["correlationId"]
        assert added["activityDateTime"] == managed["activityDateTime"]
        for event in mine:
            assert event["initiatedBy"]["user"] is None
            assert event["initiatedBy"]["app"]["appId"] == org.HR_PROVISIONING_APP_ID


async def test_zoes_manager_was_changed_by_a_person(graph: httpx.AsyncClient) -> None:
    [event] = await manager_audits(graph, org.RECENT_MANAGER_CHANGE_ID)
    assert event["initiatedBy"]["user"]["id"] == org.GLOBAL_ADMIN_ID
