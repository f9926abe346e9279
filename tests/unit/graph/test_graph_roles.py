"""The role check over Graph (GraphDirectory.list_role_assignments and its GraphClient calls)
against a mocked Graph: which calls, in how many rounds, and what their answers add up to."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from bot.domain.errors import DirectoryAccessDenied
from bot.domain.model import RoleAssignment, RoleAssignmentKind, RoleSource
from bot.graph.adapters import GraphDirectory
from bot.graph.privilege import (
    EXPANDED_OWNERS_LIMIT,
    GroupSchedule,
    HeldRole,
    RoleGroup,
    group_schedule,
    role_group,
    roles_through_groups,
)

USER = "1f0c3a52-0000-4000-8000-000000000001"
GA = "62e90394-69f5-4237-9190-012177145e10"
ROLES = "/v1.0/roleManagement/directory/roleAssignments"
ELIGIBILITIES = "/v1.0/roleManagement/directory/roleEligibilityScheduleInstances"
MEMBER_OF = f"/v1.0/users/{USER}/transitiveMemberOf/microsoft.graph.group"
PIM = "/v1.0/identityGovernance/privilegedAccess/group/"
GROUPS = "/v1.0/groups"
ROUND_ONE = {
    ("GET", ROLES),
    ("GET", ELIGIBILITIES),
    ("GET", MEMBER_OF),
    ("GET", PIM + "eligibilityScheduleInstances"),
    ("GET", PIM + "assignmentScheduleInstances"),
    ("GET", GROUPS),
}


class Graph:
    """A small tenant answering the role check's calls: *groups* are role-assignable groups
    (id -> owner ids), *member_of* the user's groups, *held* (principal, role, kind) grants,
    *schedules* PIM for Groups instances (principal, group, access, eligible)."""

    def __init__(self) -> None:
        self.groups: dict[str, list[str]] = {}
        self.more_owners: dict[str, list[str]] = {}
        self.member_of: list[str] = []
        self.held: list[tuple[str, str, RoleAssignmentKind]] = []
        self.schedules: list[tuple[str, str, str, bool]] = []
        self.fail: Callable[[httpx.Request], httpx.Response | None] = lambda request: None

    def answer(self, request: httpx.Request) -> httpx.Response:
        failed = self.fail(request)
        if failed is not None:
            return failed
        path, query = request.url.path, request.url.params.get("$filter", "")
        if path in (ROLES, ELIGIBILITIES):
            kind = RoleAssignmentKind.ACTIVE if path == ROLES else RoleAssignmentKind.ELIGIBLE
            return _values(
                {"principalId": p, "roleDefinitionId": r, "directoryScopeId": "/"}
                for p, r, k in self.held
                if k is kind and f"'{p}'" in query
            )
        if path == MEMBER_OF:
            return _values(
                {"@odata.type": "#microsoft.graph.group", "id": g} for g in self.member_of
            )
        if path == GROUPS:
            return _values(
                {"id": g, "displayName": g.upper(), "owners": [{"id": o} for o in owners]}
                for g, owners in self.groups.items()
            )
        if path.startswith(GROUPS + "/") and path.endswith("/owners"):
            return _values({"id": o} for o in self.more_owners[path.split("/")[3]])
        if path.startswith(PIM):
            eligible = path.endswith("eligibilityScheduleInstances")
            field = "principalId" if "principalId" in query else "groupId"
            return _values(
                {"principalId": p, "groupId": g, "accessId": a}
                for p, g, a, e in self.schedules
                if e == eligible and f"'{p if field == 'principalId' else g}'" in query
            )
        if path == f"/v1.0/users/{USER.upper()}@contoso.example":
            return httpx.Response(200, json={"id": USER})
        return httpx.Response(404, json={"error": {"code": "NotFound", "message": path}})


def _values(items: Any) -> httpx.Response:
    return httpx.Response(200, json={"value": list(items)})


@pytest.fixture
def graph() -> Graph:
    return Graph()


async def test_two_rounds_the_first_of_six_concurrent_calls(harness, graph: Graph) -> None:
    graph.groups = {"tier0": [], "jit": []}
    graph.member_of = ["tier0", "finance"]
    graph.held = [("tier0", GA, RoleAssignmentKind.ACTIVE), ("jit", GA, RoleAssignmentKind.ACTIVE)]
    graph.schedules = [(USER, "jit", "member", True)]
    first_round = asyncio.Event()
    arrived: list[tuple[str, str]] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        arrived.append((request.method, request.url.path))
        if len(arrived) == len(ROUND_ONE):
            first_round.set()
        # Round one's answers wait for all six: only concurrent calls get past this.
        await asyncio.wait_for(first_round.wait(), timeout=2)
        return graph.answer(request)

    roles = await GraphDirectory(harness.client(handler)).list_role_assignments(USER)

    assert set(arrived[:6]) == ROUND_ONE
    # Round two: the roles the two groups hold (one `in` list each kind), and who is eligible
    # in each group.
    assert sorted(arrived[6:]) == sorted(
        [("GET", ROLES), ("GET", ELIGIBILITIES)]
        + [("GET", PIM + "eligibilityScheduleInstances")] * 2
    )
    assert set(roles) == {
        RoleAssignment(
            GA, RoleAssignmentKind.ACTIVE, "/", RoleSource.GROUP_MEMBER, "tier0", "TIER0"
        ),
        RoleAssignment(
            GA, RoleAssignmentKind.ELIGIBLE, "/", RoleSource.GROUP_ELIGIBLE_MEMBER, "jit", "JIT"
        ),
    }


async def test_the_calls_ask_graph_what_it_documents(harness, graph: Graph) -> None:
    graph.groups = {"tier0": []}
    directory = GraphDirectory(harness.client(graph.answer))

    await directory.list_role_assignments(USER)

    by_path = {r.url.path: r for r in harness.requests}
    member_of = by_path[MEMBER_OF]
    assert member_of.headers["ConsistencyLevel"] == "eventual"
    assert member_of.url.params["$count"] == "true"
    assert "isAssignableToRole" in member_of.url.params["$select"]
    groups = by_path[GROUPS]
    assert groups.url.params["$filter"] == "isAssignableToRole eq true"
    assert groups.url.params["$expand"] == "owners($select=id)"
    pim_filters = sorted(
        r.url.params["$filter"] for r in harness.requests if r.url.path.startswith(PIM)
    )
    assert pim_filters == [
        "groupId eq 'tier0'",
        f"principalId eq '{USER}'",
        f"principalId eq '{USER}'",
    ]
    role_filters = sorted(
        r.url.params["$filter"] for r in harness.requests if r.url.path in (ROLES, ELIGIBILITIES)
    )
    assert role_filters == [f"principalId eq '{USER}'"] * 2 + ["principalId eq 'tier0'"] * 2


async def test_roles_of_many_groups_are_asked_in_lists_of_fifteen(harness, graph: Graph) -> None:
    graph.groups = {f"g{n:02d}": [] for n in range(16)}
    graph.member_of = ["g15"]
    graph.held = [("g15", GA, RoleAssignmentKind.ACTIVE)]

    roles = await GraphDirectory(harness.client(graph.answer)).list_role_assignments(USER)

    about_groups = [
        r.url.params["$filter"]
        for r in harness.requests
        if r.url.path == ROLES and USER not in r.url.params["$filter"]
    ]
    assert sorted(f.count("'") // 2 for f in about_groups) == [1, 15]
    assert any(f.startswith("principalId in ('g00','g01',") for f in about_groups)
    assert [r.via_group_id for r in roles] == ["g15"]


async def test_owners_an_expansion_may_have_cut_short_are_read_on_their_own(
    harness, graph: Graph
) -> None:
    graph.groups = {"tier0": [f"owner-{n}" for n in range(20)], "small": ["someone"]}
    graph.more_owners = {"tier0": [*graph.groups["tier0"], USER]}
    graph.held = [("tier0", GA, RoleAssignmentKind.ACTIVE)]

    roles = await GraphDirectory(harness.client(graph.answer)).list_role_assignments(USER)

    owner_reads = [r.url.path for r in harness.requests if r.url.path.endswith("/owners")]
    assert owner_reads == ["/v1.0/groups/tier0/owners"]
    assert [(r.kind, r.via) for r in roles] == [
        (RoleAssignmentKind.ELIGIBLE, RoleSource.GROUP_OWNER)
    ]


async def test_a_user_principal_name_is_resolved_first(harness, graph: Graph) -> None:
    graph.held = [(USER, GA, RoleAssignmentKind.ACTIVE)]

    roles = await GraphDirectory(harness.client(graph.answer)).list_role_assignments(
        f"{USER.upper()}@contoso.example"
    )

    assert roles == [RoleAssignment(GA, RoleAssignmentKind.ACTIVE)]
    assert harness.requests[0].url.path.endswith("@contoso.example")


async def test_a_failure_lets_the_round_finish_and_stops_there(harness, graph: Graph) -> None:
    graph.groups = {"tier0": []}

    def fail(request: httpx.Request) -> httpx.Response | None:
        if request.url.path.endswith("assignmentScheduleInstances"):
            return harness.graph_error(403, "UnknownError", "PermissionScopeNotGranted")
        return None

    graph.fail = fail

    with pytest.raises(DirectoryAccessDenied):
        await GraphDirectory(harness.client(graph.answer)).list_role_assignments(USER)

    assert {(r.method, r.url.path) for r in harness.requests} == ROUND_ONE
    assert len(harness.requests) == len(ROUND_ONE)


async def test_no_role_assignable_groups_means_no_second_round(harness, graph: Graph) -> None:
    graph.held = [(USER, GA, RoleAssignmentKind.ELIGIBLE)]

    roles = await GraphDirectory(harness.client(graph.answer)).list_role_assignments(USER)

    assert roles == [RoleAssignment(GA, RoleAssignmentKind.ELIGIBLE)]
    assert len(harness.requests) == len(ROUND_ONE)


async def test_group_schedules_need_exactly_one_filter(harness) -> None:
    client = harness.client(lambda request: httpx.Response(200, json={"value": []}))
    with pytest.raises(ValueError, match="exactly one"):
        await client.list_group_schedules(eligible=True)
    with pytest.raises(ValueError, match="exactly one"):
        await client.list_group_schedules(eligible=True, principal_id="u", group_id="g")


# The pure combination (bot.graph.privilege)


def combine(**reads: Any) -> list[RoleAssignment]:
    values: dict[str, Any] = {
        "member_of": [],
        "user_schedules": [],
        "role_groups": [RoleGroup("Tier0", "Tier 0", frozenset(), True)],
        "more_owners": {},
        "group_eligibilities": [],
        "group_roles": [HeldRole("tier0", RoleAssignment(GA.upper(), RoleAssignmentKind.ACTIVE))],
    }
    values.update(reads)
    return roles_through_groups(USER.upper(), **values)


def test_ids_are_compared_without_regard_to_case() -> None:
    [role] = combine(member_of=["TIER0"])
    assert (role.kind, role.via, role.via_group_id) == (
        RoleAssignmentKind.ACTIVE,
        RoleSource.GROUP_MEMBER,
        "Tier0",
    )


def test_an_access_graph_adds_later_counts_as_the_wider_one() -> None:
    schedule = group_schedule(
        {"principalId": USER, "groupId": "tier0", "accessId": "unknownFutureValue"},
        eligible=True,
    )
    [role] = combine(user_schedules=[schedule])
    assert role.via is RoleSource.GROUP_ELIGIBLE_OWNER


def test_a_group_is_no_way_into_itself() -> None:
    # A role-assignable group eligible in itself opens nothing to someone outside it.
    loop = GroupSchedule("tier0", "tier0", owner=False, eligible=True)
    assert combine(group_eligibilities=[loop]) == []


def test_a_group_the_user_owns_opens_groups_it_is_eligible_in() -> None:
    groups = [
        RoleGroup("tier0", "Tier 0", frozenset(), True),
        RoleGroup("owned", "Owned", frozenset({USER}), True),
    ]
    eligible = GroupSchedule("owned", "tier0", owner=False, eligible=True)
    roles = combine(role_groups=groups, group_eligibilities=[eligible])
    assert [(r.via_group_id, r.via) for r in roles] == [("tier0", RoleSource.NESTED_GROUP)]


def test_expanded_owners_reaching_the_limit_are_not_trusted() -> None:
    item = {"id": "g", "owners": [{"id": f"o{n}"} for n in range(EXPANDED_OWNERS_LIMIT)]}
    assert role_group(item).owners_complete is False
    assert role_group({"id": "g", "owners": []}).owners_complete is True
    assert role_group({"id": "g"}).owners_complete is False  # not expanded at all
