"""Roles through role-assignable groups, for `FakeDirectory`: the reads it fails by name and
its own answer to "which roles can this person hold, and how" (written apart from the Graph
adapter's, bot/graph/privilege.py, so the contract suite compares two answers)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import datetime

from bot.domain.model import RoleAssignment, RoleAssignmentKind, RoleSource

# The fake tenant's routes the Graph adapter reads roles from, in its two rounds.
ROLE_READS = (
    "list_role_assignments",
    "list_role_eligibilities",
    "list_transitive_groups",
    "list_pim_group_eligibilities",
    "list_pim_group_assignments",
    "list_groups",
)
ROLE_READS_ABOUT_GROUPS = (
    "list_role_assignments",
    "list_role_eligibilities",
    "list_pim_group_eligibilities",
)
# Strongest first, as the adapter ranks them (bot/graph/privilege.py).
_STRENGTH = (
    RoleSource.GROUP_MEMBER,
    RoleSource.GROUP_OWNER,
    RoleSource.GROUP_ELIGIBLE_MEMBER,
    RoleSource.GROUP_ELIGIBLE_OWNER,
    RoleSource.NESTED_GROUP,
)


@dataclasses.dataclass(frozen=True)
class GroupSchedule:
    """PIM for Groups: *principal_id* is (eligible to be) a member or owner of *group_id*."""

    principal_id: str
    group_id: str
    owner: bool
    eligible: bool
    ends_at: datetime | None = None


def roles_through_groups(
    user_id: str,
    *,
    member_of: set[str],
    owners: Mapping[str, set[str]],
    schedules: Sequence[GroupSchedule],
    role_groups: Mapping[str, str | None],
    roles: Mapping[str, list[RoleAssignment]],
) -> list[RoleAssignment]:
    """The roles *user_id* holds or can hold through the role-assignable *role_groups* (id to
    name): *member_of* is every group they are in now, *owners* each group's static owners,
    *schedules* the live PIM for Groups instances, *roles* what each principal holds."""
    owned = {g for g, people in owners.items() if user_id in people} | {
        s.group_id for s in schedules if s.principal_id == user_id and s.owner and not s.eligible
    }
    mine = [s for s in schedules if s.principal_id == user_id]
    reachable = member_of | owned | {s.group_id for s in mine}
    found = []
    for group in sorted(role_groups):
        ways = set()
        if group in member_of:
            ways.add(RoleSource.GROUP_MEMBER)
        if group in owned:
            ways.add(RoleSource.GROUP_OWNER)
        for s in mine:
            if s.group_id == group and s.eligible:
                ways.add(
                    RoleSource.GROUP_ELIGIBLE_OWNER if s.owner else RoleSource.GROUP_ELIGIBLE_MEMBER
                )
        if any(
            s.eligible and s.group_id == group and s.principal_id in reachable - {group}
            for s in schedules
        ):
            ways.add(RoleSource.NESTED_GROUP)
        if not ways:
            continue
        via = next(source for source in _STRENGTH if source in ways)
        for held in roles.get(group, []):
            now = held.kind is RoleAssignmentKind.ACTIVE and via is RoleSource.GROUP_MEMBER
            found.append(
                dataclasses.replace(
                    held,
                    kind=RoleAssignmentKind.ACTIVE if now else RoleAssignmentKind.ELIGIBLE,
                    via=via,
                    via_group_id=group,
                    via_group_name=role_groups[group],
                )
            )
    return found
