"""The fake tenant's role and group routes over real HTTP: role-assignable groups, a user's
groups as an advanced query, PIM for Groups, per-route permissions and faults."""

from __future__ import annotations

import json
from datetime import timedelta

import httpx
import pytest

from sandbox import org
from sandbox.faults import Fault
from sandbox.privileged import add_group_schedule, add_owner
from sandbox.server import FakeTenant
from sandbox.tenant import GLOBAL_ADMINISTRATOR, GraphError
from tests.sandbox.conftest import collect, secret_token
from tests.sandbox.test_graph_http import assert_graph_error

EVENTUAL = {"ConsistencyLevel": "eventual"}
GROUPS_OF = "users/{}/transitiveMemberOf/microsoft.graph.group"
PIM = "identityGovernance/privilegedAccess/group/{}ScheduleInstances"


def add_teams(fake: FakeTenant, user_id: str, count: int) -> None:
    for n in range(count):
        fake.tenant.add_group(f"c2000000-0000-4000-8000-{n:012d}", f"Team {n}", user_id)


async def with_roles(fake: FakeTenant, graph: httpx.AsyncClient, *removed: str) -> None:
    """Give *graph* a fresh token without the *removed* application permissions."""
    for role in removed:
        fake.tenant.app_roles.discard(role)
    graph.headers["Authorization"] = f"Bearer {await secret_token(fake)}"


# A user's groups: transitiveMemberOf cast to groups


async def test_a_users_groups_need_an_advanced_query(graph: httpx.AsyncClient) -> None:
    url = GROUPS_OF.format(org.GROUP_ADMIN_ID)
    no_header = await graph.get(url + "?$count=true")
    no_count = await graph.get(url, headers=EVENTUAL)
    assert_graph_error(no_header, 400, "Request_UnsupportedQuery")
    assert_graph_error(no_count, 400, "Request_UnsupportedQuery")
    assert "ConsistencyLevel:eventual" in no_header.json()["error"]["message"]


async def test_a_users_groups_are_counted_paged_and_typed(
    fake: FakeTenant, graph: httpx.AsyncClient
) -> None:
    add_teams(fake, org.GROUP_ADMIN_ID, 3)
    url = GROUPS_OF.format(org.GROUP_ADMIN_ID) + "?$count=true&$select=id,isAssignableToRole"
    first = (await graph.get(url, headers=EVENTUAL)).json()
    items, pages = await collect(graph, url, headers=EVENTUAL)
    assert first["@odata.count"] == 5  # Finance, Tier 0 and three teams
    assert pages == 2
    assert {i["@odata.type"] for i in items} == {"#microsoft.graph.group"}
    assert {i["id"]: i["isAssignableToRole"] for i in items}[org.TIER0_GROUP_ID] is True
    assert set(items[0]) == {"@odata.type", "id", "isAssignableToRole"}
    unknown = await graph.get(
        GROUPS_OF.format(org.GROUP_ADMIN_ID) + "?$count=true&$select=manager", headers=EVENTUAL
    )
    assert_graph_error(unknown, 400, "Request_BadRequest")


async def test_without_a_group_permission_groups_come_with_id_and_type_only(
    fake: FakeTenant, graph: httpx.AsyncClient
) -> None:
    await with_roles(fake, graph, "GroupMember.Read.All")
    url = GROUPS_OF.format(org.GROUP_ADMIN_ID) + "?$count=true"
    items, _ = await collect(graph, url, headers=EVENTUAL)
    assert {i["id"] for i in items} == {org.TIER0_GROUP_ID, org.FINANCE_GROUP_ID}
    assert all(i["displayName"] is None and i["isAssignableToRole"] is None for i in items)
    await with_roles(fake, graph, "User.Read.All")
    assert_graph_error(await graph.get(url, headers=EVENTUAL), 403, "Authorization_RequestDenied")


async def test_a_live_pim_assignment_is_membership(
    fake: FakeTenant, graph: httpx.AsyncClient
) -> None:
    add_group_schedule(fake.tenant, org.LIAM_ID, org.JIT_ADMIN_GROUP_ID, eligible=False)
    url = GROUPS_OF.format(org.LIAM_ID) + "?$count=true"
    items, _ = await collect(graph, url, headers=EVENTUAL)
    assert org.JIT_ADMIN_GROUP_ID in {i["id"] for i in items}


# Role-assignable groups and owners


async def test_role_assignable_groups_with_their_owners(graph: httpx.AsyncClient) -> None:
    url = (
        "groups?$filter=isAssignableToRole eq true&$select=id,displayName"
        "&$expand=owners($select=id)"
    )
    items, _ = await collect(graph, url)
    assert {i["id"]: [o["id"] for o in i["owners"]] for i in items} == {
        org.TIER0_GROUP_ID: [org.GLOBAL_ADMIN_ID],
        org.JIT_ADMIN_GROUP_ID: [],
    }
    tier0 = next(i for i in items if i["id"] == org.TIER0_GROUP_ID)
    assert tier0["owners"][0]["@odata.type"] == "#microsoft.graph.user"
    assert set(tier0) == {"@odata.type", "id", "displayName", "owners"}


async def test_ne_and_not_on_groups_need_an_advanced_query(graph: httpx.AsyncClient) -> None:
    url = "groups?$filter=isAssignableToRole ne true"
    assert_graph_error(await graph.get(url), 400, "Request_UnsupportedQuery")
    advanced, _ = await collect(graph, url + "&$count=true", headers=EVENTUAL)
    assert org.TIER0_GROUP_ID not in {i["id"] for i in advanced}
    assert org.FINANCE_GROUP_ID in {i["id"] for i in advanced}


async def test_expanded_owners_are_cut_short_but_the_owners_route_lists_all(
    fake: FakeTenant, graph: httpx.AsyncClient
) -> None:
    for user_id in org.PEOPLE:
        add_owner(fake.tenant, org.JIT_ADMIN_GROUP_ID, user_id)
    expanded, _ = await collect(graph, "groups?$filter=isAssignableToRole eq true&$expand=owners")
    jit = next(i for i in expanded if i["id"] == org.JIT_ADMIN_GROUP_ID)
    owners, _ = await collect(graph, f"groups/{org.JIT_ADMIN_GROUP_ID}/owners")
    assert len(jit["owners"]) == 20
    assert len(owners) == len(org.PEOPLE) > 20
    missing = await graph.get("groups/c9999999-0000-4000-8000-000000000000/owners")
    assert_graph_error(missing, 404, "Request_ResourceNotFound")


def test_entras_rules_for_role_assignable_groups(fake: FakeTenant) -> None:
    tenant = fake.tenant
    with pytest.raises(GraphError, match="read-only"):
        tenant.add_group(org.FINANCE_GROUP_ID, "Finance", role_assignable=True)
    with pytest.raises(GraphError, match="Nesting"):
        tenant.add_group(org.TIER0_GROUP_ID, "Tier 0 Administrators", org.HELPDESK_GROUP_ID)
    with pytest.raises(GraphError, match="Nesting"):
        add_group_schedule(tenant, org.HELPDESK_GROUP_ID, org.TIER0_GROUP_ID, eligible=False)
    with pytest.raises(GraphError, match="isAssignableToRole"):
        tenant.assign_role(org.FINANCE_GROUP_ID, GLOBAL_ADMINISTRATOR)
    # A group can be a PIM-eligible member of a role-assignable group.
    add_group_schedule(tenant, org.HELPDESK_GROUP_ID, org.TIER0_GROUP_ID)


# Role assignments by principal


async def test_role_assignments_filter_on_principal_with_eq_and_in(
    graph: httpx.AsyncClient,
) -> None:
    both = f"'{org.TIER0_GROUP_ID}','{org.JIT_ADMIN_GROUP_ID}'"
    held, _ = await collect(
        graph, f"roleManagement/directory/roleAssignments?$filter=principalId in ({both})"
    )
    assert sorted(h["principalId"] for h in held) == sorted(
        [org.TIER0_GROUP_ID, org.JIT_ADMIN_GROUP_ID]
    )
    assert {h["roleDefinitionId"] for h in held} == {GLOBAL_ADMINISTRATOR}
    one, _ = await collect(
        graph,
        f"roleManagement/directory/roleAssignments?$filter=principalId eq '{org.TIER0_GROUP_ID}'",
    )
    assert [h["principalId"] for h in one] == [org.TIER0_GROUP_ID]


# PIM for Groups


async def test_pim_for_groups_needs_a_principal_or_group_filter(graph: httpx.AsyncClient) -> None:
    for kind in ("eligibility", "assignment"):
        assert_graph_error(await graph.get(PIM.format(kind)), 400, "BadRequest")
        other = await graph.get(PIM.format(kind) + "?$filter=accessId eq 'member'")
        assert_graph_error(other, 400, "BadRequest")


async def test_pim_for_groups_eligibility_by_principal_or_group(graph: httpx.AsyncClient) -> None:
    by_user, _ = await collect(
        graph,
        PIM.format("eligibility")
        + f"?$filter=principalId eq '{org.PIM_GROUP_ELIGIBLE_ID}'&$expand=group",
    )
    by_group, _ = await collect(
        graph, PIM.format("eligibility") + f"?$filter=groupId eq '{org.JIT_ADMIN_GROUP_ID}'"
    )
    [item] = by_user
    assert item["groupId"] == org.JIT_ADMIN_GROUP_ID
    assert (item["accessId"], item["memberType"], item["endDateTime"]) == (
        "member",
        "direct",
        None,
    )
    assert item["id"].startswith(f"{org.JIT_ADMIN_GROUP_ID}_member_")
    assert item["group"]["isAssignableToRole"] is True
    assert [i["principalId"] for i in by_group] == [org.PIM_GROUP_ELIGIBLE_ID]


async def test_pim_assignments_say_how_and_ended_instances_are_gone(
    fake: FakeTenant, graph: httpx.AsyncClient
) -> None:
    now = fake.tenant.clock()
    add_group_schedule(
        fake.tenant, org.LIAM_ID, org.JIT_ADMIN_GROUP_ID, eligible=False, activated=True,
        end=now + timedelta(hours=1),
    )  # fmt: skip
    add_group_schedule(
        fake.tenant, org.GRACE_ID, org.JIT_ADMIN_GROUP_ID, access="owner", eligible=False,
        start=now - timedelta(days=2), end=now - timedelta(days=1),
    )  # fmt: skip
    url = PIM.format("assignment") + f"?$filter=groupId eq '{org.JIT_ADMIN_GROUP_ID}'"
    items, _ = await collect(graph, url)
    assert [(i["principalId"], i["assignmentType"]) for i in items] == [(org.LIAM_ID, "activated")]
    assert items[0]["endDateTime"] is not None


# Permissions and faults


@pytest.mark.parametrize(
    ("permission", "url"),
    [
        ("PrivilegedEligibilitySchedule.Read.AzureADGroup", PIM.format("eligibility")),
        ("PrivilegedAssignmentSchedule.Read.AzureADGroup", PIM.format("assignment")),
    ],
)
async def test_pim_routes_refuse_like_pim_without_their_permission(
    fake: FakeTenant, graph: httpx.AsyncClient, permission: str, url: str
) -> None:
    await with_roles(fake, graph, permission)
    denied = await graph.get(url + f"?$filter=principalId eq '{org.LIAM_ID}'")
    error = assert_graph_error(denied, 403, "UnknownError")
    inner = json.loads(error["message"])
    assert inner["errorCode"] == "PermissionScopeNotGranted"
    assert permission in inner["message"]


async def test_group_routes_need_a_group_permission(
    fake: FakeTenant, graph: httpx.AsyncClient
) -> None:
    await with_roles(fake, graph, "GroupMember.Read.All")
    assert_graph_error(await graph.get("groups"), 403, "Authorization_RequestDenied")
    owners = await graph.get(f"groups/{org.TIER0_GROUP_ID}/owners")
    assert_graph_error(owners, 403, "Authorization_RequestDenied")


async def test_faults_by_route_skip_unreadable_and_the_routes_own_403(
    fake: FakeTenant, graph: httpx.AsyncClient
) -> None:
    pim = PIM.format("eligibility") + f"?$filter=principalId eq '{org.LIAM_ID}'"
    fake.faults.add(Fault("list_pim_group_eligibilities", "error", status=403, count=1))
    assert_graph_error(await graph.get(pim), 403, "UnknownError")
    fake.faults.add(Fault("list_groups", "unreadable", count=1))
    unreadable = await graph.get("groups")
    assert unreadable.status_code == 200
    assert unreadable.headers["Content-Type"].startswith("application/json")
    assert unreadable.text.startswith("<html>")
    add_teams(fake, org.LIAM_ID, 4)
    fake.faults.add(Fault("list_transitive_groups", "error", status=500, skip=1, count=1))
    url = GROUPS_OF.format(org.LIAM_ID) + "?$count=true"
    first = await graph.get(url, headers=EVENTUAL)
    assert first.status_code == 200
    second = await graph.get(first.json()["@odata.nextLink"], headers=EVENTUAL)
    assert_graph_error(second, 500, "generalException")
    async with httpx.AsyncClient(base_url=fake.base_url) as control:
        bad = await control.post(
            "/_sandbox/faults", json={"route": "x", "kind": "error", "skip": -1}
        )
    assert bad.status_code == 400


# What the pages show


async def test_pages_show_effective_roles_and_where_they_come_from(fake: FakeTenant) -> None:
    async with httpx.AsyncClient(base_url=fake.base_url) as client:
        summary = (await client.get("/_sandbox/org.json")).json()
        home = (await client.get("/")).text
    people = {u["id"]: u for u in summary["users"]}
    assert people[org.GROUP_ADMIN_ID]["roles"] == [
        {
            "roleId": GLOBAL_ADMINISTRATOR,
            "role": "Global Administrator",
            "kind": "active",
            "source": "group_member",
            "groupId": org.TIER0_GROUP_ID,
            "group": "Tier 0 Administrators",
            "how": "member of Tier 0 Administrators",
        }
    ]
    hannah = people[org.PIM_GROUP_ELIGIBLE_ID]
    assert [(r["kind"], r["source"], r["group"]) for r in hannah["roles"]] == [
        ("eligible", "group_eligible_member", "Global Administrators (just in time)")
    ]
    assert hannah["eligibleRoles"] == ["Global Administrator"]
    assert people[org.LIAM_ID]["roles"] == []
    groups = {g["id"]: g for g in summary["groups"]}
    assert groups[org.TIER0_GROUP_ID]["isAssignableToRole"] is True
    assert groups[org.TIER0_GROUP_ID]["owners"] == [org.GLOBAL_ADMIN_ID]
    assert groups[org.JIT_ADMIN_GROUP_ID]["activeRoles"] == ["Global Administrator"]
    assert [s["principalId"] for s in summary["groupSchedules"]] == [org.PIM_GROUP_ELIGIBLE_ID]
    assert "active: Global Administrator (member of Tier 0 Administrators)" in home
    assert (
        "eligible: Global Administrator (PIM-eligible member of Global Administrators "
        "(just in time))" in home
    )
