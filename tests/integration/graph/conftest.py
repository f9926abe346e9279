"""The two implementations of the Graph-backed ports, for the contract suite.

- ``twin``: `FakeDirectory`, seeded from the same `sandbox.org.seed` Tenant the fake tenant
  serves (see `twin_from_tenant`), so both sides describe one organisation;
- ``graph``: the real adapters (`build_graph_ports`: msal over the sandbox's HTTPS token
  endpoint, httpx to its Graph routes) against a fake tenant started for the test.

Both run on one `ManualClock` (whole seconds), so times compare exactly. Each side offers the
same helpers to change the organisation (managers, the TAP policy, groups and roles), to
observe what left (`sent_mail`), and to make one of the fake tenant's routes fail (`fail_read`,
with an *impatient* directory that gives up after one retry and a short timeout).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.config import Settings
from bot.domain.errors import (
    DirectoryAccessDenied,
    DirectoryError,
    DirectoryThrottled,
    DirectoryUnavailable,
)
from bot.domain.model import (
    AccountCreation,
    Actor,
    ActorKind,
    DirectoryUser,
    MailMessage,
    ManagerChange,
    RoleAssignmentKind,
    TapPolicy,
)
from bot.domain.ports import Directory, Mailer, PassIssuer
from bot.graph.adapters import GraphDirectory
from bot.graph.client import GraphClient
from bot.graph.wiring import build_graph_ports
from sandbox import org, privileged
from sandbox.directory_changes import initiated_by
from sandbox.faults import Fault
from sandbox.server import FakeTenant, run_fake_tenant
from sandbox.tenant import Tenant, User
from tests.twins.clock import ManualClock
from tests.twins.directory import FakeDirectory

MANAGER_CHANGE = "Set user manager"
# How a read can fail, and the DirectoryError each side then raises.
FAILURES: dict[str, type[DirectoryError]] = {
    "forbidden": DirectoryAccessDenied,
    "throttled": DirectoryThrottled,
    "server_error": DirectoryUnavailable,
    "timeout": DirectoryUnavailable,
    "paging": DirectoryUnavailable,
    "unreadable": DirectoryUnavailable,
}
# The impatient Graph directory's client timeout; a timeout fault waits longer than this.
IMPATIENT_TIMEOUT = 0.3


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


def actor(initiated_by: dict[str, Any] | None) -> Actor | None:
    """The fake tenant's ``initiatedBy`` as the twin records it."""
    user = (initiated_by or {}).get("user")
    app = (initiated_by or {}).get("app")
    if user:
        return Actor(ActorKind.USER, user["id"], user["displayName"])
    if app:
        return Actor(ActorKind.APP, app["servicePrincipalId"], app["displayName"], app["appId"])
    return None


def manager_changes(tenant: Tenant) -> list[ManagerChange]:
    """The tenant's "Set user manager" audits as the twin records them: one per changed user
    (the first target, carrying Manager.ObjectID)."""
    changes = []
    for audit in tenant.audits:
        if audit["activityDisplayName"] != MANAGER_CHANGE:
            continue
        subject = audit["targetResources"][0]
        prop = next(
            p for p in subject["modifiedProperties"] if p["displayName"] == "Manager.ObjectID"
        )
        changes.append(
            ManagerChange(
                target_id=subject["id"],
                changed_at=datetime.fromisoformat(audit["activityDateTime"]),
                old_manager_id=_audit_value(prop["oldValue"]),
                new_manager_id=_audit_value(prop["newValue"]),
                changed_by=actor(audit.get("initiatedBy")),
            )
        )
    return changes


def account_creations(tenant: Tenant) -> list[AccountCreation]:
    """The tenant's "Add user" audits as the twin records them."""
    return [
        AccountCreation(
            audit["targetResources"][0]["id"],
            datetime.fromisoformat(audit["activityDateTime"]),
            actor(audit.get("initiatedBy")),
        )
        for audit in tenant.audits
        if audit["activityDisplayName"] == "Add user"
    ]


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
        created = user.created_date_time
        # createdDateTime goes over the wire in whole seconds, like hire dates.
        twin.set_created(user.id, created.replace(microsecond=0) if created else None)
    for guest_id, sponsor_ids in tenant.sponsors.items():
        for sponsor_id in sponsor_ids:
            twin.add_sponsor(guest_id, sponsor_id)
    for group in tenant.groups.values():
        if group.is_assignable_to_role:
            twin.add_role_group(group.id, group.display_name, *group.members)
        else:
            twin.add_group(group.id, *group.members, name=group.display_name)
        for owner in group.owners:
            twin.add_owner(group.id, owner)
    for schedule in tenant.group_schedules:
        twin.add_group_schedule(
            schedule.principal_id,
            schedule.group_id,
            owner=schedule.access == "owner",
            eligible=schedule.eligible,
            ends_at=schedule.end,
        )
    for grant in tenant.roles:
        kind = RoleAssignmentKind.ELIGIBLE if grant.eligible else RoleAssignmentKind.ACTIVE
        twin.assign_role(
            grant.principal_id, grant.role_definition_id, kind, grant.directory_scope_id
        )
    twin.audit.extend(manager_changes(tenant))
    twin.creations.extend(account_creations(tenant))
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

    def set_manager(
        self, user_id: str, manager_id: str | None, *, at: datetime, by: str | Actor
    ) -> None:
        """Change (None: remove) a manager the way an administrator (a person's id) or an app
        (an `Actor`) would, with its audit event."""
        raise NotImplementedError

    def remove_user(self, user_id: str) -> None:
        """Delete a user."""
        raise NotImplementedError

    def change_policy(self, **changes: Any) -> None:
        """Change the TAP policy (`TapPolicy` field names) before the test reads it."""
        raise NotImplementedError

    # Groups and roles

    impatient: Directory  # the directory, giving up after one retry (for `fail_read`)

    def add_group(self, group_id: str, name: str, *member_ids: str) -> None:
        raise NotImplementedError

    def add_role_group(self, group_id: str, name: str, *member_ids: str) -> None:
        """A role-assignable group (users only inside)."""
        raise NotImplementedError

    def add_owner(self, group_id: str, user_id: str) -> None:
        raise NotImplementedError

    def assign_role(self, principal_id: str, role_id: str, *, eligible: bool = False) -> None:
        raise NotImplementedError

    def add_group_schedule(
        self,
        principal_id: str,
        group_id: str,
        *,
        owner: bool = False,
        eligible: bool = True,
        ends_at: datetime | None = None,
    ) -> None:
        """PIM for Groups: an eligible or assigned member or owner until *ends_at*."""
        raise NotImplementedError

    def fail_read(self, route: str, failure: str) -> None:
        """Make the fake tenant's *route* fail every time the way *failure* (a `FAILURES`
        key) says; "paging" fails its second page."""
        raise NotImplementedError

    def set_user(self, user_id: str, **changes: Any) -> None:
        """Change a user's properties (`DirectoryUser` field names)."""
        raise NotImplementedError

    def set_created(self, user_id: str, at: datetime | None) -> None:
        """Change when the directory says a user's account was created (None: Graph's null),
        as only Entra itself could."""
        raise NotImplementedError


class TwinSide(Side):
    kind = "twin"

    def __init__(self, clock: ManualClock) -> None:
        super().__init__(clock)
        # The seeded organisation, kept to name apps as the fake tenant does.
        self.tenant = org.seed(clock.now(), clock=clock.now)
        self.twin = twin_from_tenant(self.tenant, clock)
        self.directory = self.pass_issuer = self.mailer = self.twin
        self.impatient = self.twin  # the twin never waits

    def sent_mail(self) -> list[SentMail]:
        return [_sent(m) for m in self.twin.sent_mail]

    def set_manager(
        self, user_id: str, manager_id: str | None, *, at: datetime, by: str | Actor
    ) -> None:
        if isinstance(by, Actor):
            by = actor(initiated_by(self.tenant, app_id=by.app_id or ""))  # type: ignore[assignment]
        self.twin.set_manager(user_id, manager_id, at=at, by=by)

    def remove_user(self, user_id: str) -> None:
        self.twin.remove_user(user_id)

    def change_policy(self, **changes: Any) -> None:
        self.twin.policy = dataclasses.replace(self.twin.policy, **changes)

    def add_group(self, group_id: str, name: str, *member_ids: str) -> None:
        self.twin.add_group(group_id, *member_ids, name=name)

    def add_role_group(self, group_id: str, name: str, *member_ids: str) -> None:
        self.twin.add_role_group(group_id, name, *member_ids)

    def add_owner(self, group_id: str, user_id: str) -> None:
        self.twin.add_owner(group_id, user_id)

    def assign_role(self, principal_id: str, role_id: str, *, eligible: bool = False) -> None:
        kind = RoleAssignmentKind.ELIGIBLE if eligible else RoleAssignmentKind.ACTIVE
        self.twin.assign_role(principal_id, role_id, kind)

    def add_group_schedule(
        self,
        principal_id: str,
        group_id: str,
        *,
        owner: bool = False,
        eligible: bool = True,
        ends_at: datetime | None = None,
    ) -> None:
        self.twin.add_group_schedule(
            principal_id, group_id, owner=owner, eligible=eligible, ends_at=ends_at
        )

    def fail_read(self, route: str, failure: str) -> None:
        errors: dict[str, DirectoryError] = {
            "forbidden": DirectoryAccessDenied("forbidden", code="UnknownError", status=403),
            "throttled": DirectoryThrottled("throttled", retry_after=1, code="TooManyRequests"),
            "server_error": DirectoryUnavailable("down", code="generalException", status=500),
            "timeout": DirectoryUnavailable("timed out", code="timeout"),
            "paging": DirectoryUnavailable("page 2 failed", code="generalException", status=500),
            "unreadable": DirectoryUnavailable("not JSON", code="invalid_response", status=200),
        }
        self.twin.fail(route, errors[failure], times=None)

    def set_user(self, user_id: str, **changes: Any) -> None:
        self.twin.users[user_id] = dataclasses.replace(self.twin.users[user_id], **changes)

    def set_created(self, user_id: str, at: datetime | None) -> None:
        self.twin.set_created(user_id, at)


class GraphSide(Side):
    kind = "graph"

    def __init__(
        self, clock: ManualClock, fake: FakeTenant, ports: Any, impatient: Directory
    ) -> None:
        super().__init__(clock)
        self.fake = fake
        self.tenant = fake.tenant
        self.directory = ports.directory
        self.pass_issuer = ports.pass_issuer
        self.mailer = ports.mailer
        self.impatient = impatient

    def add_group(self, group_id: str, name: str, *member_ids: str) -> None:
        self.tenant.add_group(group_id, name, *member_ids, role_assignable=False)

    def add_role_group(self, group_id: str, name: str, *member_ids: str) -> None:
        self.tenant.add_group(group_id, name, *member_ids, role_assignable=True)

    def add_owner(self, group_id: str, user_id: str) -> None:
        privileged.add_owner(self.tenant, group_id, user_id)

    def assign_role(self, principal_id: str, role_id: str, *, eligible: bool = False) -> None:
        self.tenant.assign_role(principal_id, role_id, eligible=eligible)

    def add_group_schedule(
        self,
        principal_id: str,
        group_id: str,
        *,
        owner: bool = False,
        eligible: bool = True,
        ends_at: datetime | None = None,
    ) -> None:
        privileged.add_group_schedule(
            self.tenant,
            principal_id,
            group_id,
            access="owner" if owner else "member",
            eligible=eligible,
            start=self.seeded_at - timedelta(days=1),
            end=ends_at,
        )

    def fail_read(self, route: str, failure: str) -> None:
        faults = {
            "forbidden": Fault(route, "error", status=403),
            # 429 on every try: the client retries once, then gives up.
            "throttled": Fault(route, "throttle", retry_after="0.01"),
            "server_error": Fault(route, "error", status=503, retry_after="0.01"),
            "timeout": Fault(route, "timeout", seconds=IMPATIENT_TIMEOUT * 3),
            "paging": Fault(route, "error", status=500, skip=1),
            "unreadable": Fault(route, "unreadable"),
        }
        self.fake.faults.add(faults[failure])

    def sent_mail(self) -> list[SentMail]:
        return [
            SentMail(tuple(item.to), tuple(item.cc), item.subject, item.body)
            for item in self.tenant.outbox
            if item.kind == "email"
        ]

    def set_manager(
        self, user_id: str, manager_id: str | None, *, at: datetime, by: str | Actor
    ) -> None:
        if isinstance(by, Actor):
            self.tenant.set_manager(user_id, manager_id, at=at, by_app=by.app_id or "")
        else:
            self.tenant.set_manager(user_id, manager_id, at=at, by=by)

    def remove_user(self, user_id: str) -> None:
        self.tenant.remove_user(user_id)

    def set_user(self, user_id: str, **changes: Any) -> None:
        user = self.tenant.users[user_id]
        for name, value in changes.items():
            setattr(user, name, value)  # DirectoryUser's names match the fake's for these

    def set_created(self, user_id: str, at: datetime | None) -> None:
        self.tenant.users[user_id].created_date_time = at

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
        async with (
            httpx.AsyncClient(timeout=settings.graph_timeout_seconds) as http,
            httpx.AsyncClient(timeout=IMPATIENT_TIMEOUT) as impatient_http,
        ):
            ports = build_graph_ports(settings, http, clock)
            impatient = GraphDirectory(
                GraphClient(
                    impatient_http,
                    base_url=settings.graph_base_url,
                    auth=ports.auth,
                    max_retries=1,
                    max_retry_wait=1.0,
                    backoff_base=0.01,
                )
            )
            try:
                yield GraphSide(clock, fake, ports, impatient)
            finally:
                ports.close()
