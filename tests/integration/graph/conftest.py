"""The two implementations of the Graph-backed ports, for the contract suite.

- ``twin``: `FakeDirectory`, seeded from the same `sandbox.org.seed` Tenant the fake tenant
  serves (see `twin_from_tenant`), so both sides describe one organisation;
- ``graph``: the real adapters (`build_graph_ports`: msal over the sandbox's HTTPS token
  endpoint, httpx to its Graph routes) against a fake tenant started for the test.

Both run on one `ManualClock` (whole seconds), so times compare exactly. Each side offers the
same helpers to change the organisation and to observe what left (`sent_mail`).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.config import Settings
from bot.domain.model import (
    DirectoryUser,
    MailMessage,
    ManagerChange,
    RoleAssignmentKind,
    TapPolicy,
)
from bot.domain.ports import Directory, Mailer, PassIssuer
from bot.graph.wiring import build_graph_ports
from sandbox import org
from sandbox.server import run_fake_tenant
from sandbox.tenant import Tenant, User
from tests.twins.clock import ManualClock
from tests.twins.directory import FakeDirectory

MANAGER_CHANGE = "Set user manager"


@dataclass(frozen=True, slots=True)
class SentMail:
    """What an observer sees of a sent mail (the sender mailbox is the one asked for)."""

    to: tuple[str, ...]
    cc: tuple[str, ...]
    subject: str
    html_body: str


# Converting the seeded Tenant to the twin's seeding calls


def directory_user(user: User) -> DirectoryUser:
    """*user* as `bot.graph.parse.directory_user` reads it from Graph (the `USER_SELECT`
    fields; empty strings are absent; hire dates go over the wire in whole seconds)."""
    hired = user.employee_hire_date
    return DirectoryUser(
        id=user.id,
        display_name=user.display_name or "",
        user_principal_name=user.user_principal_name or "",
        account_enabled=user.account_enabled,
        user_type=user.user_type or "Member",
        job_title=user.job_title or None,
        mail=user.mail or None,
        other_mails=tuple(m for m in user.other_mails if m),
        mobile_phone=user.mobile_phone or None,
        employee_hire_date=hired.replace(microsecond=0) if hired else None,
        given_name=user.given_name or None,
    )


def tap_policy(tenant: Tenant) -> TapPolicy:
    policy = tenant.policy
    return TapPolicy(
        enabled=policy.state == "enabled",
        default_lifetime_minutes=policy.default_lifetime,
        minimum_lifetime_minutes=policy.minimum_lifetime,
        maximum_lifetime_minutes=policy.maximum_lifetime,
        is_usable_once=policy.is_usable_once,
        default_length=policy.default_length,
        all_users="all_users" in policy.include_group_ids,
        include_group_ids=tuple(g for g in policy.include_group_ids if g != "all_users"),
        exclude_group_ids=tuple(policy.exclude_group_ids),
    )


def _audit_value(raw: object) -> str | None:
    # The tenant writes Manager.ObjectID values JSON-encoded ('"<id>"') or null.
    return json.loads(raw) if isinstance(raw, str) and raw else None


def manager_changes(tenant: Tenant) -> list[ManagerChange]:
    """The tenant's "Set user manager" audits as the twin records them: one per changed user
    (the first target; the new manager, when listed, is the second)."""
    changes = []
    for audit in tenant.audits:
        if audit["activityDisplayName"] != MANAGER_CHANGE:
            continue
        subject = audit["targetResources"][0]
        prop = next(
            p for p in subject["modifiedProperties"] if p["displayName"] == "Manager.ObjectID"
        )
        initiator = (audit.get("initiatedBy") or {}).get("user") or {}
        changes.append(
            ManagerChange(
                target_id=subject["id"],
                changed_at=datetime.fromisoformat(audit["activityDateTime"]),
                old_manager_id=_audit_value(prop["oldValue"]),
                new_manager_id=_audit_value(prop["newValue"]),
                initiated_by=initiator.get("id"),
            )
        )
    return changes


def twin_from_tenant(tenant: Tenant, clock: ManualClock) -> FakeDirectory:
    """A `FakeDirectory` describing the same organisation as *tenant*."""
    twin = FakeDirectory(clock, policy=tap_policy(tenant))
    for user in tenant.users.values():
        twin.add_user(
            directory_user(user),
            manager_id=tenant.managers.get(user.id),
            department=user.department,
            company=user.company_name,
        )
    for guest_id, sponsor_ids in tenant.sponsors.items():
        for sponsor_id in sponsor_ids:
            twin.add_sponsor(guest_id, sponsor_id)
    for group in tenant.groups.values():
        twin.add_group(group.id, *group.members)
    for grant in tenant.roles:
        kind = RoleAssignmentKind.ELIGIBLE if grant.eligible else RoleAssignmentKind.ACTIVE
        twin.assign_role(
            grant.principal_id, grant.role_definition_id, kind, grant.directory_scope_id
        )
    twin.audit.extend(manager_changes(tenant))
    twin.installed_apps.update(tenant.installed_apps)
    return twin


# The two sides


class Side:
    """The ports under test and what the tests need around them."""

    kind: str
    directory: Directory
    pass_issuer: PassIssuer
    mailer: Mailer

    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self.seeded_at = clock.now()

    def sent_mail(self) -> list[SentMail]:
        raise NotImplementedError

    def set_manager(self, user_id: str, manager_id: str, *, at: datetime, by: str) -> None:
        """Change a manager the way an administrator would (with its audit event)."""
        raise NotImplementedError

    def change_policy(self, **changes: Any) -> None:
        """Change the TAP policy (`TapPolicy` field names) before the test reads it."""
        raise NotImplementedError

    def set_user(self, user_id: str, **changes: Any) -> None:
        """Change a user's properties (`DirectoryUser` field names)."""
        raise NotImplementedError


class TwinSide(Side):
    kind = "twin"

    def __init__(self, clock: ManualClock) -> None:
        super().__init__(clock)
        self.twin = twin_from_tenant(org.seed(clock.now(), clock=clock.now), clock)
        self.directory = self.pass_issuer = self.mailer = self.twin

    def sent_mail(self) -> list[SentMail]:
        return [_sent(m) for m in self.twin.sent_mail]

    def set_manager(self, user_id: str, manager_id: str, *, at: datetime, by: str) -> None:
        self.twin.set_manager(user_id, manager_id, at=at, by=by)

    def change_policy(self, **changes: Any) -> None:
        self.twin.policy = dataclasses.replace(self.twin.policy, **changes)

    def set_user(self, user_id: str, **changes: Any) -> None:
        self.twin.users[user_id] = dataclasses.replace(self.twin.users[user_id], **changes)


class GraphSide(Side):
    kind = "graph"

    def __init__(self, clock: ManualClock, tenant: Tenant, ports: Any) -> None:
        super().__init__(clock)
        self.tenant = tenant
        self.directory = ports.directory
        self.pass_issuer = ports.pass_issuer
        self.mailer = ports.mailer

    def sent_mail(self) -> list[SentMail]:
        return [
            SentMail(tuple(item.to), tuple(item.cc), item.subject, item.body)
            for item in self.tenant.outbox
            if item.kind == "email"
        ]

    def set_manager(self, user_id: str, manager_id: str, *, at: datetime, by: str) -> None:
        self.tenant.set_manager(user_id, manager_id, at=at, by=by)

    def set_user(self, user_id: str, **changes: Any) -> None:
        user = self.tenant.users[user_id]
        for name, value in changes.items():
            setattr(user, name, value)  # DirectoryUser's names match the fake's for these

    def change_policy(self, **changes: Any) -> None:
        policy = self.tenant.policy
        targets = tap_policy(self.tenant)
        all_users = changes.pop("all_users", targets.all_users)
        groups = list(changes.pop("include_group_ids", targets.include_group_ids))
        policy.include_group_ids = ["all_users", *groups] if all_users else groups
        names = {
            "enabled": "state",
            "default_lifetime_minutes": "default_lifetime",
            "minimum_lifetime_minutes": "minimum_lifetime",
            "maximum_lifetime_minutes": "maximum_lifetime",
            "is_usable_once": "is_usable_once",
            "default_length": "default_length",
            "exclude_group_ids": "exclude_group_ids",
        }
        for name, value in changes.items():
            if name == "enabled":
                value = "enabled" if value else "disabled"
            elif name == "exclude_group_ids":
                value = list(value)
            setattr(policy, names[name], value)


def _sent(message: MailMessage) -> SentMail:
    return SentMail(message.to, message.cc, message.subject, message.html_body)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture(params=["twin", "graph"])
async def side(
    request: pytest.FixtureRequest, clock: ManualClock, tmp_path: Path
) -> AsyncIterator[Side]:
    if request.param == "twin":
        yield TwinSide(clock)
        return
    async with run_fake_tenant(tmp_path / "state", clock=clock.now) as fake:
        # As sandbox/stack.py's bot_environment configures the bot for the fake tenant.
        settings = Settings.from_env(
            {
                "GRAPH_TENANT_ID": fake.tenant_id,
                "GRAPH_CLIENT_ID": fake.client_id,
                "GRAPH_CLIENT_SECRET": fake.client_secret,
                "GRAPH_AUTHORITY_HOST": fake.authority.rsplit("/", 1)[0],
                "GRAPH_BASE_URL": fake.graph_url,
                "GRAPH_CA_BUNDLE": str(fake.ca_cert_path),
            }
        )
        async with httpx.AsyncClient(timeout=settings.graph_timeout_seconds) as http:
            ports = build_graph_ports(settings, http, clock)
            try:
                yield GraphSide(clock, fake.tenant, ports)
            finally:
                ports.close()
