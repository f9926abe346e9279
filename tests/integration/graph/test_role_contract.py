"""`Directory.list_role_assignments` (bot/domain/ports.py): roles held directly and through
role-assignable groups, against the twin and the Graph adapters over the same organisation,
and what every way of failing to read them does to a request (the fail-closed refusal)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.domain.eligibility import gather_target_facts
from bot.domain.errors import DirectoryObjectNotFound
from bot.domain.model import RoleAssignment, RoleAssignmentKind, RoleSource
from bot.domain.policy import PolicyConfig, Refusal, check_target
from sandbox import org
from sandbox.tenant import GLOBAL_ADMINISTRATOR
from tests.integration.graph.conftest import FAILURES, Side

ACTIVE, ELIGIBLE = RoleAssignmentKind.ACTIVE, RoleAssignmentKind.ELIGIBLE
UNKNOWN_ID = "99999999-0000-4000-8000-000000000099"
SECURITY_ADMIN = "194ae4cb-b126-40b2-bd5b-6091b380977d"
OPS_GROUP = "c0000000-0000-4000-8000-000000000001"  # role-assignable, made by the tests
PAYROLL_GROUP = "c0000000-0000-4000-8000-000000000002"  # a plain group, made by the tests
TIER0 = ("Tier 0 Administrators", org.TIER0_GROUP_ID)
JIT = ("Global Administrators (just in time)", org.JIT_ADMIN_GROUP_ID)
# The routes the role check reads (the fake tenant's names; the twin fails by the same names).
ROLE_ROUTES = [
    "list_role_assignments",
    "list_role_eligibilities",
    "list_transitive_groups",
    "list_pim_group_eligibilities",
    "list_pim_group_assignments",
    "list_groups",
]


def through(
    group: tuple[str, str],
    kind: RoleAssignmentKind,
    via: RoleSource,
    role: str = GLOBAL_ADMINISTRATOR,
) -> RoleAssignment:
    name, group_id = group
    return RoleAssignment(role, kind, "/", via, group_id, name)


async def roles_of(side: Side, user_id: str) -> set[RoleAssignment]:
    found = await side.directory.list_role_assignments(user_id)
    assert len(found) == len(set(found))  # one entry per role and way in
    return set(found)


# The seeded organisation


@pytest.mark.parametrize(
    ("user_id", "expected"),
    [
        (org.BREAK_GLASS_ID, {RoleAssignment(GLOBAL_ADMINISTRATOR, ACTIVE)}),
        (org.PIM_ELIGIBLE_ADMIN_ID, {RoleAssignment(org.PRIVILEGED_AUTH_ADMIN, ELIGIBLE)}),
        (
            org.GLOBAL_ADMIN_ID,  # assigned, and owner of Tier 0 (who can add themselves)
            {
                RoleAssignment(GLOBAL_ADMINISTRATOR, ACTIVE),
                through(TIER0, ELIGIBLE, RoleSource.GROUP_OWNER),
            },
        ),
        (org.GROUP_ADMIN_ID, {through(TIER0, ACTIVE, RoleSource.GROUP_MEMBER)}),
        (
            org.PIM_GROUP_ELIGIBLE_ID,
            {through(JIT, ELIGIBLE, RoleSource.GROUP_ELIGIBLE_MEMBER)},
        ),
        (org.LIAM_ID, set()),
    ],
)
async def test_seeded_roles_direct_and_through_groups(
    side: Side, user_id: str, expected: set[RoleAssignment]
) -> None:
    assert await roles_of(side, user_id) == expected


async def test_a_user_principal_name_gives_the_same_roles(side: Side) -> None:
    by_upn = await roles_of(side, org.upn_of(org.GROUP_ADMIN_ID).upper())

    assert by_upn == await roles_of(side, org.GROUP_ADMIN_ID)


async def test_an_unknown_user_is_not_found(side: Side) -> None:
    with pytest.raises(DirectoryObjectNotFound):
        await side.directory.list_role_assignments(UNKNOWN_ID)


# Every way into a role-assignable group


async def test_owner_of_a_group_that_holds_a_role(side: Side) -> None:
    side.add_owner(org.JIT_ADMIN_GROUP_ID, org.LIAM_ID)

    assert await roles_of(side, org.LIAM_ID) == {through(JIT, ELIGIBLE, RoleSource.GROUP_OWNER)}


async def test_pim_eligible_owner(side: Side) -> None:
    side.add_group_schedule(org.LIAM_ID, org.TIER0_GROUP_ID, owner=True)

    assert await roles_of(side, org.LIAM_ID) == {
        through(TIER0, ELIGIBLE, RoleSource.GROUP_ELIGIBLE_OWNER)
    }


async def test_pim_assigned_member_holds_the_role_now(side: Side) -> None:
    side.add_group_schedule(org.LIAM_ID, org.JIT_ADMIN_GROUP_ID, eligible=False)

    assert await roles_of(side, org.LIAM_ID) == {through(JIT, ACTIVE, RoleSource.GROUP_MEMBER)}


async def test_pim_assigned_owner(side: Side) -> None:
    side.add_group_schedule(org.LIAM_ID, org.JIT_ADMIN_GROUP_ID, owner=True, eligible=False)

    assert await roles_of(side, org.LIAM_ID) == {through(JIT, ELIGIBLE, RoleSource.GROUP_OWNER)}


async def test_member_of_a_group_that_is_eligible_in_a_role_group(side: Side) -> None:
    side.add_group(PAYROLL_GROUP, "Payroll system admins", org.LIAM_ID)
    side.add_group_schedule(PAYROLL_GROUP, org.JIT_ADMIN_GROUP_ID)

    assert await roles_of(side, org.LIAM_ID) == {through(JIT, ELIGIBLE, RoleSource.NESTED_GROUP)}
    assert await roles_of(side, org.GRACE_ID) == set()


async def test_a_group_eligible_for_a_role_makes_its_members_eligible(side: Side) -> None:
    side.add_role_group(OPS_GROUP, "Security operations", org.LIAM_ID)
    side.assign_role(OPS_GROUP, SECURITY_ADMIN, eligible=True)
    ops = ("Security operations", OPS_GROUP)

    assert await roles_of(side, org.LIAM_ID) == {
        through(ops, ELIGIBLE, RoleSource.GROUP_MEMBER, SECURITY_ADMIN)
    }


async def test_the_strongest_way_in_names_the_assignment(side: Side) -> None:
    side.add_group_schedule(org.GROUP_ADMIN_ID, org.TIER0_GROUP_ID)
    side.add_owner(org.TIER0_GROUP_ID, org.GROUP_ADMIN_ID)

    assert await roles_of(side, org.GROUP_ADMIN_ID) == {
        through(TIER0, ACTIVE, RoleSource.GROUP_MEMBER)
    }


async def test_an_ended_pim_eligibility_no_longer_counts(side: Side) -> None:
    ended = side.seeded_at - timedelta(minutes=1)
    side.add_group_schedule(org.LIAM_ID, org.JIT_ADMIN_GROUP_ID, ends_at=ended)
    side.add_group_schedule(org.GRACE_ID, org.JIT_ADMIN_GROUP_ID, ends_at=ended + timedelta(days=1))

    assert await roles_of(side, org.LIAM_ID) == set()
    assert await roles_of(side, org.GRACE_ID) == {
        through(JIT, ELIGIBLE, RoleSource.GROUP_ELIGIBLE_MEMBER)
    }


async def test_many_role_groups_are_all_read(side: Side) -> None:
    # More role-assignable groups than one page of groups or one `in` list holds.
    groups = [f"c1000000-0000-4000-8000-{n:012d}" for n in range(17)]
    for n, group in enumerate(groups):
        side.add_role_group(group, f"Role group {n:02d}")
        side.assign_role(group, SECURITY_ADMIN)
    side.add_role_group(OPS_GROUP, "Security operations", org.LIAM_ID)
    side.assign_role(OPS_GROUP, GLOBAL_ADMINISTRATOR)

    assert await roles_of(side, org.LIAM_ID) == {
        through(("Security operations", OPS_GROUP), ACTIVE, RoleSource.GROUP_MEMBER)
    }


async def test_an_owner_beyond_what_an_expansion_shows_is_found(side: Side) -> None:
    side.add_role_group(OPS_GROUP, "Security operations")
    side.assign_role(OPS_GROUP, GLOBAL_ADMINISTRATOR)
    for user_id in sorted(org.PEOPLE)[:22]:  # Graph cuts expanded owners short
        side.add_owner(OPS_GROUP, user_id)
    last = sorted(org.PEOPLE)[21]

    assert through(("Security operations", OPS_GROUP), ELIGIBLE, RoleSource.GROUP_OWNER) in (
        await roles_of(side, last)
    )


# Failing to read: the port raises, and a request is refused in words, after the relationship


@pytest.mark.parametrize("failure", sorted(FAILURES))
async def test_every_failure_raises_the_same_error_on_both_sides(side: Side, failure: str) -> None:
    for n in range(4):  # more groups than one page, so there is a second page to fail
        side.add_group(f"c2000000-0000-4000-8000-{n:012d}", f"Team {n}", org.LIAM_ID)
    side.fail_read("list_transitive_groups", failure)

    with pytest.raises(FAILURES[failure]):
        await side.impatient.list_role_assignments(org.LIAM_ID)


@pytest.mark.parametrize("route", ROLE_ROUTES)
async def test_a_failure_of_any_role_read_raises(side: Side, route: str) -> None:
    side.fail_read(route, "server_error")

    with pytest.raises(FAILURES["server_error"]):
        await side.impatient.list_role_assignments(org.LIAM_ID)


@pytest.mark.parametrize(
    ("failure", "route"),
    [*((f, "list_pim_group_eligibilities") for f in sorted(FAILURES) if f != "paging"),
     *(("forbidden", r) for r in ROLE_ROUTES)],
)  # fmt: skip
async def test_an_unreadable_role_picture_refuses_the_request(
    side: Side, failure: str, route: str
) -> None:
    side.fail_read(route, failure)
    config = PolicyConfig()

    facts = await gather_target_facts(
        side.impatient, side.pass_issuer, org.LIAM_ID, config, side.clock.now()
    )

    assert facts.role_check_failure is not None
    assert check_target(org.MANAGER_ID, facts, config) is Refusal.ROLE_CHECK_FAILED
    assert check_target(org.SECOND_MANAGER_ID, facts, config) is Refusal.NOT_DIRECT_REPORT
