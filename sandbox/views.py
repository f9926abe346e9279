"""What the fake tenant's pages and JSON twins show: views of its state, never a pass value."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict
from typing import Any

from sandbox.privileged import effective_roles
from sandbox.tenant import ROLE_NAMES, RoleGrant, Tenant, graph_time


def pass_summaries(tenant: Tenant) -> list[dict[str, Any]]:
    """Every pass, without its value."""
    now = tenant.clock()
    summaries = []
    for entry in tenant.passes.values():
        item = entry.to_json(now)
        del item["temporaryAccessPass"]
        user = tenant.users.get(entry.user_id)
        item |= {
            "userId": entry.user_id,
            "userPrincipalName": user and user.user_principal_name,
        }
        summaries.append(item)
    return summaries


def outbox_summaries(tenant: Tenant) -> list[dict[str, Any]]:
    """Every mail and SMS that left, with any pass value blanked out."""
    return [
        asdict(item)
        | {
            "at": graph_time(item.at),
            "subject": tenant.redact(item.subject),
            "body": tenant.redact(item.body),
            "carriesPass": tenant.carries_pass(item.body) or tenant.carries_pass(item.subject),
        }
        for item in tenant.outbox
    ]


def org_summary(tenant: Tenant) -> dict[str, Any]:
    """The organisation as the home page shows it.

    Each user's ``roles`` are their effective roles (`sandbox.privileged.effective_roles`: held
    or obtainable, directly or through a role-assignable group, and how);
    ``activeRoles`` and ``eligibleRoles`` are those roles' names.
    """

    def group_of(user_id: str) -> list[str]:
        return sorted(tenant.groups[g].display_name for g in tenant.groups_of(user_id))

    people = []
    for user in tenant.all_users():
        roles = effective_roles(tenant, user.id)
        item = user.to_json()
        item |= {
            "managerId": tenant.managers.get(user.id),
            "sponsorIds": tenant.sponsors.get(user.id, []),
            "groups": group_of(user.id),
            "roles": roles,
            "activeRoles": sorted({r["role"] for r in roles if r["kind"] == "active"}),
            "eligibleRoles": sorted({r["role"] for r in roles if r["kind"] == "eligible"}),
        }
        people.append(item)
    now = tenant.clock()
    return {
        "tenantId": tenant.tenant_id,
        "users": people,
        "groups": [
            {
                "id": g.id,
                "displayName": g.display_name,
                "isAssignableToRole": g.is_assignable_to_role,
                "members": sorted(g.members),
                "owners": sorted(tenant.owners_now(g.id)),
                "activeRoles": _role_names(tenant.roles, g.id, eligible=False),
                "eligibleRoles": _role_names(tenant.roles, g.id, eligible=True),
            }
            for g in tenant.groups.values()
        ],
        "groupSchedules": [
            s.to_json() | {"eligible": s.eligible} for s in tenant.group_schedules if s.live(now)
        ],
        "tapPolicy": tenant.policy.to_json(),
        "teamsApps": [{"id": k, "displayName": v} for k, v in tenant.teams_apps.items()],
    }


def _role_names(roles: Iterable[RoleGrant], user_id: str, *, eligible: bool) -> list[str]:
    return sorted(
        ROLE_NAMES.get(r.role_definition_id, r.role_definition_id)
        for r in roles
        if r.principal_id == user_id and r.eligible == eligible
    )
