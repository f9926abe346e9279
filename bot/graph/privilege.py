"""Directory roles that reach a user through role-assignable groups: what Graph says about the
groups, read as values, and `roles_through_groups`, the pure function that combines it.

In Entra a role can be assigned, actively or as PIM-eligible, to a role-assignable group (at
most 500 per tenant, ``isAssignableToRole`` set at creation). A user comes to hold such a
group's roles by being its active member; can come to hold them as its owner (owners manage
membership), as a PIM-eligible member or owner of it (PIM for Groups), or as an active member
of another group that is a PIM-eligible member of it. `GraphDirectory.list_role_assignments`
reads all of that in two concurrent rounds; this module turns the answers into
`RoleAssignment`s.

Not followed: chains longer than one nested group (X eligible in Y, Y eligible in G), and
ownership of groups that are not role-assignable (Graph offers no application permission to list
a user's owned objects, so an owner of X, where X is eligible in G, is not seen).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from bot.domain.model import RoleAssignment, RoleAssignmentKind, RoleSource
from bot.graph.parse import InvalidResponse, role_assignment

GROUP_ODATA_TYPE = "#microsoft.graph.group"
# Graph cuts an expanded directory-object relationship short without saying so (the exact
# limit is not documented consistently; 20 is the smallest we have seen quoted). A group whose
# expanded owners reach it has its owners read on their own.
EXPANDED_OWNERS_LIMIT = 20
# The strongest way in first: it decides the assignment's `via`, and only an active member
# holds an actively assigned role right now.
_STRENGTH = (
    RoleSource.GROUP_MEMBER,
    RoleSource.GROUP_OWNER,
    RoleSource.GROUP_ELIGIBLE_MEMBER,
    RoleSource.GROUP_ELIGIBLE_OWNER,
    RoleSource.NESTED_GROUP,
)


@dataclass(frozen=True, slots=True)
class RoleGroup:
    """A role-assignable group and its owners; *owners_complete* is False when the owners came
    from an expansion Graph may have cut short."""

    id: str
    display_name: str | None
    owner_ids: frozenset[str]
    owners_complete: bool


@dataclass(frozen=True, slots=True)
class GroupSchedule:
    """A PIM for Groups instance: *principal_id* (a user or a group) is, or is eligible to
    become (*eligible*), a member or an owner (*owner*) of *group_id*."""

    principal_id: str
    group_id: str
    owner: bool
    eligible: bool


@dataclass(frozen=True, slots=True)
class HeldRole:
    """A role assignment or eligibility instance with the principal (user or group) holding it."""

    principal_id: str
    role: RoleAssignment


def _id(item: Mapping[str, Any], key: str) -> str:
    value = item.get(key)
    if not isinstance(value, str) or not value:
        raise InvalidResponse(f"missing {key!r}")
    return value


def group_id(item: Mapping[str, Any]) -> str | None:
    """The id of a group in a directoryObject list, or None for another kind of object."""
    odata_type = item.get("@odata.type")
    if odata_type is not None and odata_type != GROUP_ODATA_TYPE:
        return None
    return _id(item, "id")


def role_group(item: Mapping[str, Any]) -> RoleGroup:
    """A group listed with ``$expand=owners``."""
    owners = item.get("owners")
    owner_ids = [o["id"] for o in owners or () if isinstance(o, Mapping) and o.get("id")]
    name = item.get("displayName")
    return RoleGroup(
        id=_id(item, "id"),
        display_name=name if isinstance(name, str) and name else None,
        owner_ids=frozenset(str(o) for o in owner_ids),
        owners_complete=isinstance(owners, list) and len(owners) < EXPANDED_OWNERS_LIMIT,
    )


def group_schedule(item: Mapping[str, Any], *, eligible: bool) -> GroupSchedule:
    """A privilegedAccessGroup eligibility or assignment schedule instance.

    An ``accessId`` other than ``member`` counts as ``owner``: the wider of the two, so a value
    Graph adds later is not read as less than it may be.
    """
    return GroupSchedule(
        principal_id=_id(item, "principalId"),
        group_id=_id(item, "groupId"),
        owner=item.get("accessId") != "member",
        eligible=eligible,
    )


def held_role(item: Mapping[str, Any], kind: RoleAssignmentKind) -> HeldRole:
    """A unifiedRoleAssignment or roleEligibilityScheduleInstance with its principal."""
    return HeldRole(_id(item, "principalId"), role_assignment(item, kind))


def roles_through_groups(
    user_id: str,
    *,
    member_of: Iterable[str],
    user_schedules: Iterable[GroupSchedule],
    role_groups: Iterable[RoleGroup],
    more_owners: Mapping[str, Iterable[str]],
    group_eligibilities: Iterable[GroupSchedule],
    group_roles: Iterable[HeldRole],
) -> list[RoleAssignment]:
    """The roles *user_id* holds or may come to hold through role-assignable groups.

    *member_of*: every group the user is an active member of, transitively. *user_schedules*:
    PIM for Groups instances whose principal is the user. *role_groups*: the tenant's
    role-assignable groups, with owners; *more_owners*: owners read on their own for groups
    whose expansion was cut short. *group_eligibilities*: PIM for Groups eligibility instances
    of the role-assignable groups. *group_roles*: roles held by those groups.

    One assignment per role and group, by the strongest way in (see `RoleSource`); ACTIVE only
    for a role the group holds actively and the user is an active member of it. Ids are
    compared without regard to case.
    """
    me = user_id.lower()
    groups = {g.id.lower(): g for g in role_groups}
    ways: dict[str, set[RoleSource]] = {}

    def way_in(group: str, source: RoleSource) -> None:
        if group in groups:
            ways.setdefault(group, set()).add(source)

    # Groups the user is in, or can put themselves in: a group among them that is eligible in
    # a role-assignable group opens that group to them too.
    reachable = {g.lower() for g in member_of}
    for group in reachable:
        way_in(group, RoleSource.GROUP_MEMBER)
    for schedule in user_schedules:
        if schedule.principal_id.lower() == me:
            way_in(schedule.group_id.lower(), _source(schedule))
            reachable.add(schedule.group_id.lower())
    for key, role_group in groups.items():
        listed = (*role_group.owner_ids, *more_owners.get(role_group.id, ()))
        if me in {owner.lower() for owner in listed}:
            way_in(key, RoleSource.GROUP_OWNER)
            reachable.add(key)
    for schedule in group_eligibilities:
        principal, group = schedule.principal_id.lower(), schedule.group_id.lower()
        if principal == me:
            way_in(group, _source(schedule))
        elif principal in reachable and principal != group:
            way_in(group, RoleSource.NESTED_GROUP)

    found: set[RoleAssignment] = set()
    for held in group_roles:
        key = held.principal_id.lower()
        if key not in ways:
            continue
        via = next(source for source in _STRENGTH if source in ways[key])
        now = held.role.kind is RoleAssignmentKind.ACTIVE and via is RoleSource.GROUP_MEMBER
        found.add(
            RoleAssignment(
                role_definition_id=held.role.role_definition_id,
                kind=RoleAssignmentKind.ACTIVE if now else RoleAssignmentKind.ELIGIBLE,
                directory_scope_id=held.role.directory_scope_id,
                via=via,
                via_group_id=groups[key].id,
                via_group_name=groups[key].display_name,
            )
        )
    return sorted(found, key=assignment_order)


def assignment_order(assignment: RoleAssignment) -> tuple[str, str, str, str]:
    """A stable order for lists of roles: direct first, then by group, role, kind and scope."""
    return (
        assignment.via_group_id or "",
        assignment.role_definition_id,
        assignment.kind,
        assignment.directory_scope_id,
    )


def _source(schedule: GroupSchedule) -> RoleSource:
    if schedule.eligible:
        return (
            RoleSource.GROUP_ELIGIBLE_OWNER if schedule.owner else RoleSource.GROUP_ELIGIBLE_MEMBER
        )
    return RoleSource.GROUP_OWNER if schedule.owner else RoleSource.GROUP_MEMBER
