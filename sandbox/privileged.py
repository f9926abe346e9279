"""Roles through groups in the fake tenant: owners, PIM for Groups, and effective roles.

The rules Entra keeps (shared/facts/graph-roles-and-changes.md §1-2), as this fake keeps them:

- only a group created with ``isAssignableToRole`` can hold a role (`Tenant.assign_role`), and
  no group can be its active member (`Tenant.add_group`, `add_group_schedule`), though one can
  be its PIM-eligible member;
- PIM for Groups schedule instances (`GroupSchedule`) make a user or a group an eligible or an
  assigned member or owner of any group, from ``startDateTime`` until ``endDateTime`` (null:
  for good); an instance that has ended is no longer listed, and a live assignment is real
  membership or ownership (`Tenant.members_now`, `Tenant.owners_now`);
- an owner can add themselves to the group, so owning a group that holds a role is being able
  to hold it.

`effective_roles` says who holds or can come to hold which role, and how: what the home page
and ``/_sandbox/org.json`` show. It is this fake's own answer, written apart from the bot's.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sandbox.tenant import ROLE_NAMES, graph_time, nesting_refused, not_found

if TYPE_CHECKING:
    from sandbox.tenant import Group, Tenant

# How a person comes to a role, strongest first (the names tapbot's RoleSource uses).
SOURCES = (
    "direct",
    "group_member",
    "group_owner",
    "group_eligible_member",
    "group_eligible_owner",
    "nested_group",
)
SOURCE_WORDS = {
    "direct": "directly",
    "group_member": "member of {group}",
    "group_owner": "owner of {group}",
    "group_eligible_member": "PIM-eligible member of {group}",
    "group_eligible_owner": "PIM-eligible owner of {group}",
    "nested_group": "in a group that is PIM-eligible in {group}",
}


@dataclass
class GroupSchedule:
    """A PIM for Groups eligibility (*eligible*) or assignment schedule instance."""

    id: str
    principal_id: str
    group_id: str
    access: str  # "member" or "owner"
    eligible: bool
    start: datetime
    end: datetime | None = None
    activated: bool = False  # an assignment that came from activating an eligibility

    def live(self, now: datetime) -> bool:
        return self.start <= now and (self.end is None or now < self.end)

    def to_json(self) -> dict[str, Any]:
        item: dict[str, Any] = {
            "id": self.id,
            "principalId": self.principal_id,
            "groupId": self.group_id,
            "accessId": self.access,
            "memberType": "direct",
            "startDateTime": graph_time(self.start),
            "endDateTime": graph_time(self.end) if self.end else None,
        }
        schedule = self.id.rsplit("_", 1)[-1]
        if self.eligible:
            item["eligibilityScheduleId"] = schedule
        else:
            item["assignmentType"] = "activated" if self.activated else "assigned"
            item["assignmentScheduleId"] = schedule
        return item


def add_owner(tenant: Tenant, group_id: str, user_id: str) -> None:
    group = _group(tenant, group_id)
    group.owners.add(tenant.user(user_id).id)


def add_group_schedule(
    tenant: Tenant,
    principal_id: str,
    group_id: str,
    *,
    access: str = "member",
    eligible: bool = True,
    start: datetime | None = None,
    end: datetime | None = None,
    activated: bool = False,
) -> GroupSchedule:
    """Make *principal_id* (a user or a group) an eligible or assigned member or owner of
    *group_id* from *start* (default now) until *end* (default for good)."""
    group = _group(tenant, group_id)
    if access not in ("member", "owner"):
        raise ValueError("access is 'member' or 'owner'")
    is_group = principal_id in tenant.groups
    if not is_group:
        principal_id = tenant.user(principal_id).id
    if is_group and not eligible and (access == "owner" or group.is_assignable_to_role):
        raise nesting_refused()
    schedule = GroupSchedule(
        id=f"{group.id}_{access}_{uuid.uuid4()}",
        principal_id=principal_id,
        group_id=group.id,
        access=access,
        eligible=eligible,
        start=start or tenant.clock(),
        end=end,
        activated=activated,
    )
    tenant.group_schedules.append(schedule)
    return schedule


def schedule_items(tenant: Tenant, *, eligible: bool) -> list[dict[str, Any]]:
    """The live eligibility (or assignment) instances, as Graph lists them."""
    now = tenant.clock()
    return [s.to_json() for s in tenant.group_schedules if s.eligible == eligible and s.live(now)]


def role_assignable_groups(tenant: Tenant) -> list[Group]:
    return [g for g in tenant.groups.values() if g.is_assignable_to_role]


def effective_roles(tenant: Tenant, user_id: str) -> list[dict[str, Any]]:
    """Every role *user_id* holds or can come to hold, one entry per role and way in (the
    strongest when a group opens several): ``roleId``, ``role`` (its name), ``kind``
    (``active`` only when held right now), ``source`` (one of `SOURCES`), ``groupId`` and
    ``group`` (None for a direct one), and ``how`` in words."""
    now = tenant.clock()
    entries = [
        _entry(r.role_definition_id, "eligible" if r.eligible else "active", "direct", None)
        for r in tenant.roles
        if r.principal_id == user_id
    ]
    member_of = tenant.groups_of(user_id)
    live = [s for s in tenant.group_schedules if s.live(now)]
    owned = {g.id for g in tenant.groups.values() if user_id in tenant.owners_now(g.id)}
    mine = [s for s in live if s.principal_id == user_id]
    reachable = member_of | owned | {s.group_id for s in mine}
    for group in role_assignable_groups(tenant):
        ways = set()
        if group.id in member_of:
            ways.add("group_member")
        if group.id in owned:
            ways.add("group_owner")
        for s in mine:
            if s.group_id == group.id and s.eligible:
                ways.add(f"group_eligible_{s.access}")
        if any(
            s.eligible and s.group_id == group.id and s.principal_id in reachable - {group.id}
            for s in live
        ):
            ways.add("nested_group")
        if not ways:
            continue
        source = next(name for name in SOURCES if name in ways)
        for grant in tenant.roles:
            if grant.principal_id != group.id:
                continue
            held_now = not grant.eligible and source == "group_member"
            entries.append(
                _entry(
                    grant.role_definition_id,
                    "active" if held_now else "eligible",
                    source,
                    group,
                )
            )
    return entries


def _entry(role_id: str, kind: str, source: str, group: Group | None) -> dict[str, Any]:
    name = group.display_name if group else None
    return {
        "roleId": role_id,
        "role": ROLE_NAMES.get(role_id, role_id),
        "kind": kind,
        "source": source,
        "groupId": group.id if group else None,
        "group": name,
        "how": SOURCE_WORDS[source].format(group=name),
    }


def _group(tenant: Tenant, group_id: str) -> Group:
    group = tenant.groups.get(group_id)
    if group is None:
        raise not_found(group_id)
    return group
