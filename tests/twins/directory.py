"""`FakeDirectory`: the `Directory`, `PassIssuer` and `Mailer` ports in memory, for unit tests.

It passes the same contract suite as the Graph adapters talking to the sandbox's fake tenant
(tests/integration/graph), and answers as they do: the same errors for the same cases (an
unknown user is DirectoryObjectNotFound, a pass outside the policy is DirectoryRejected with
Graph's ``badRequest``), one pass per user with replacement, values only on creation.

Seed it with the helpers (`add_user`, `set_manager`, `add_group`, `assign_role`, …), make any
method fail with `fail`, and read what happened from `sent_mail`, `calls` and `audit`.

Roles through groups: `add_role_group` makes a role-assignable group (no groups inside it),
`assign_role` gives a role to a user or such a group, `add_owner` and `add_group_schedule`
(PIM for Groups) open it to more people. `list_role_assignments` reads, by the names of the
fake tenant's routes, the Graph calls the real adapter makes (`ROLE_READS`), so
``fail("list_pim_group_eligibilities", error)`` fails it the way a failing route would.

The users delta query works as the fake tenant's does (sandbox/directory_changes.py): pages of
`delta_page_size`, a full round then delta links whose rounds list the users changed since
(plus `DELTA_REPLAY` already delivered, as Graph replays), ``manager_known=False`` for a user
without a manager (Graph leaves ``manager@delta`` out), links that expire after
`DELTA_LINK_LIFETIME` or when `expire_delta_links` is called.
"""

from __future__ import annotations

import asyncio
import dataclasses
import secrets
import string
import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import datetime, timedelta
from urllib.parse import parse_qs, urlencode, urlsplit

from bot.domain.clock import SystemClock
from bot.domain.errors import (
    DirectoryDeltaExpired,
    DirectoryError,
    DirectoryObjectNotFound,
    DirectoryRejected,
)
from bot.domain.joiners import Joiner
from bot.domain.manager_changes import newest_first
from bot.domain.model import (
    AccountCreation,
    Actor,
    ActorKind,
    DirectoryUser,
    IssuedPass,
    MailMessage,
    ManagerChange,
    ManagerSighting,
    PassInfo,
    PassSecret,
    RoleAssignment,
    RoleAssignmentKind,
    TapPolicy,
    UsersDeltaPage,
)
from bot.domain.ports import Clock
from tests.twins.group_roles import (
    ROLE_READS,
    ROLE_READS_ABOUT_GROUPS,
    GroupSchedule,
    roles_through_groups,
)

# Entra's defaults for a tenant that has switched TAP on (Entra how-to, "Temporary Access Pass").
DEFAULT_POLICY = TapPolicy(
    enabled=True,
    default_lifetime_minutes=60,
    minimum_lifetime_minutes=60,
    maximum_lifetime_minutes=480,
    is_usable_once=False,
    default_length=8,
)
POLICY_FORBIDS = (
    "Converged UserCredentialPolicy does not allow creating or updating this authentication "
    "method. AuthMethodType [TemporaryAccessPass]."
)
GUEST_FORBIDDEN = "Temporary Access Pass cannot be added to an external guest user."
PASS_ALPHABET = string.ascii_letters + string.digits + "+!#$%&*"
DELTA_LINK_LIFETIME = timedelta(days=7)
DELTA_REPLAY = 1


def person(
    display_name: str, *, id: str | None = None, domain: str = "contoso.example", **fields: object
) -> DirectoryUser:
    """A member user named *display_name*, with an id, UPN and mail derived unless given."""
    alias = ".".join(display_name.lower().split())
    values: dict[str, object] = {
        "id": id or str(uuid.uuid4()),
        "display_name": display_name,
        "user_principal_name": f"{alias}@{domain}",
        "mail": f"{alias}@{domain}",
        "given_name": display_name.split()[0],
    }
    values.update(fields)
    return DirectoryUser(**values)  # type: ignore[arg-type]


@dataclasses.dataclass
class _Pass:
    info: PassInfo
    used: bool = False


class FakeDirectory:
    """The three Graph-backed ports in memory. Times come from *clock* (UTC)."""

    def __init__(self, clock: Clock | None = None, *, policy: TapPolicy = DEFAULT_POLICY) -> None:
        self.clock = clock or SystemClock()
        self.policy = policy
        self.users: dict[str, DirectoryUser] = {}
        self.managers: dict[str, str] = {}
        self.sponsors: dict[str, list[str]] = {}
        self.groups: dict[str, set[str]] = {}
        self.roles: dict[str, list[RoleAssignment]] = {}  # principal (user or group) id ->
        self.role_assignable: set[str] = set()
        self.group_names: dict[str, str] = {}
        self.owners: dict[str, set[str]] = {}
        self.group_schedules: list[GroupSchedule] = []
        self.audit: list[ManagerChange] = []
        self.installed_apps: set[tuple[str, str]] = set()
        self.creations: list[AccountCreation] = []
        # user id -> createdDateTime (absent: Graph's null)
        self.created: dict[str, datetime] = {}
        self.departments: dict[str, str] = {}
        self.companies: dict[str, str] = {}
        self.unreadable_hire_dates: dict[str, str] = {}
        self.joiner_page_size = 100
        # Page number -> the error reading that page of joiners raises (once).
        self.joiner_page_failures: dict[int, DirectoryError] = {}
        self.sent_mail: list[MailMessage] = []
        self.delta_page_size = 3
        self._changes: list[str] = []  # user ids, in the order they changed
        self._removed: set[str] = set()
        self._delta_epoch = uuid.uuid4().hex
        self.calls: list[tuple[str, tuple[object, ...]]] = []
        self._passes: dict[str, _Pass] = {}
        self._failures: dict[str, list[DirectoryError]] = {}
        self._sticky_failures: dict[str, DirectoryError] = {}

    # Seeding and inspection helpers (synchronous: tests call them between awaits)

    def add_user(
        self,
        user: DirectoryUser,
        *,
        manager_id: str | None = None,
        created_at: datetime | None = None,
        created_by: str | Actor | None = None,
        department: str | None = None,
        company: str | None = None,
    ) -> DirectoryUser:
        """Add *user*. With *created_at*, it is the account's ``createdDateTime``, and the
        creation is logged ("Add user") with, when there is a manager, its first "Set user
        manager" at the same moment by the same actor. Without it the account's creation
        time is unknown (`set_created` gives one without an audit event)."""
        self.users[user.id] = user
        self._removed.discard(user.id)
        self._changes.append(user.id)
        if created_at is not None:
            actor = _actor(created_by)
            self.created[user.id] = created_at
            self.creations.append(AccountCreation(user.id, created_at, actor))
            if manager_id is not None:
                self.set_manager(user.id, manager_id, at=created_at, by=actor)
        elif manager_id is not None:
            self.managers[user.id] = manager_id
        if department is not None:
            self.departments[user.id] = department
        if company is not None:
            self.companies[user.id] = company
        return user

    def set_created(self, user_id: str, at: datetime | None) -> None:
        """Set *user_id*'s ``createdDateTime`` (None: Graph's null) and nothing else: an
        account made before the audit log's reach."""
        if at is None:
            self.created.pop(user_id, None)
        else:
            self.created[user_id] = at

    def remove_user(self, user_id: str) -> None:
        """Delete *user_id* (the users delta then reports it ``@removed``)."""
        self.users.pop(user_id, None)
        self.managers.pop(user_id, None)
        self.created.pop(user_id, None)
        self._removed.add(user_id)
        self._changes.append(user_id)

    def set_unreadable_hire_date(self, user_id: str, text: str) -> None:
        """Make *user_id*'s hire date one Graph would send but nobody can read."""
        self.users[user_id] = dataclasses.replace(self.users[user_id], employee_hire_date=None)
        self.unreadable_hire_dates[user_id] = text

    def set_manager(
        self,
        user_id: str,
        manager_id: str | None,
        *,
        at: datetime | None = None,
        by: str | Actor | None = None,
    ) -> None:
        """Change *user_id*'s manager and log it as Entra does ("Set user manager"). *by* is a
        person's id or an `Actor`."""
        old = self.managers.pop(user_id, None)
        if manager_id is not None:
            self.managers[user_id] = manager_id
        self._changes.append(user_id)
        self.audit.append(
            ManagerChange(
                target_id=user_id,
                changed_at=at or self.clock.now(),
                old_manager_id=old,
                new_manager_id=manager_id,
                changed_by=_actor(by),
            )
        )

    def expire_delta_links(self) -> None:
        """Make every delta link given out so far answer as Graph's 410 Gone does."""
        self._delta_epoch = uuid.uuid4().hex

    def add_group(self, group_id: str, *member_ids: str, name: str | None = None) -> None:
        """Add users (or nested groups) to *group_id*, creating it if needed."""
        if group_id in self.role_assignable and set(member_ids) & set(self.groups):
            raise ValueError("a role-assignable group cannot have groups as members")
        self.groups.setdefault(group_id, set()).update(member_ids)
        if name is not None:
            self.group_names[group_id] = name

    def add_role_group(self, group_id: str, name: str, *member_ids: str) -> None:
        """Create role-assignable group *group_id* (users only, as Entra insists)."""
        if group_id in self.groups:
            raise ValueError("isAssignableToRole is set when a group is created, never later")
        self.role_assignable.add(group_id)
        self.add_group(group_id, *member_ids, name=name)

    def add_owner(self, group_id: str, user_id: str) -> None:
        self.owners.setdefault(group_id, set()).add(user_id)

    def add_group_schedule(
        self,
        principal_id: str,
        group_id: str,
        *,
        owner: bool = False,
        eligible: bool = True,
        ends_at: datetime | None = None,
    ) -> None:
        """PIM for Groups: make *principal_id* an eligible (or, *eligible* False, an assigned)
        member or owner of *group_id* until *ends_at*. An assigned one is real membership or
        ownership while it lasts."""
        if (
            not eligible
            and not owner
            and group_id in self.role_assignable
            and principal_id in self.groups
        ):
            raise ValueError("a group cannot be an active member of a role-assignable group")
        self.group_schedules.append(GroupSchedule(principal_id, group_id, owner, eligible, ends_at))

    def assign_role(
        self,
        user_id: str,
        role_definition_id: str,
        kind: RoleAssignmentKind = RoleAssignmentKind.ACTIVE,
        scope: str = "/",
    ) -> None:
        self.roles.setdefault(user_id, []).append(RoleAssignment(role_definition_id, kind, scope))

    def add_sponsor(self, guest_id: str, sponsor_id: str) -> None:
        self.sponsors.setdefault(guest_id, []).append(sponsor_id)

    def mark_pass_used(self, user_id: str) -> None:
        """Record that *user_id* signed in with their one-time pass."""
        self._passes[user_id].used = True

    def pass_of(self, user_id: str) -> PassInfo | None:
        entry = self._passes.get(user_id)
        return entry.info if entry else None

    def fail(self, method: str, error: DirectoryError, *, times: int | None = 1) -> None:
        """Make the next *times* calls of *method* raise *error* (every call when None)."""
        if times is None:
            self._sticky_failures[method] = error
        else:
            self._failures.setdefault(method, []).extend([error] * times)

    def heal(self, method: str | None = None) -> None:
        """Stop the failures set with `fail`, for *method* or for all."""
        for table in (self._failures, self._sticky_failures):
            if method is None:
                table.clear()
            else:
                table.pop(method, None)

    def called(self, method: str) -> int:
        return sum(1 for name, _ in self.calls if name == method)

    async def _enter(self, method: str, *args: object) -> None:
        # One trip through the event loop, as a network call would, so callers interleave.
        await asyncio.sleep(0)
        self.calls.append((method, args))
        if method in self._sticky_failures:
            raise self._sticky_failures[method]
        queued = self._failures.get(method)
        if queued:
            raise queued.pop(0)

    def _find(self, user_id: str) -> DirectoryUser:
        user = self.users.get(user_id)
        if user is None:
            wanted = user_id.casefold()
            user = next(
                (u for u in self.users.values() if u.user_principal_name.casefold() == wanted),
                None,
            )
        if user is None:
            raise DirectoryObjectNotFound(
                f"Resource '{user_id}' does not exist or one of its queried reference-property "
                "objects are not present.",
                code="Request_ResourceNotFound",
                status=404,
            )
        return user

    def _schedules_now(self) -> list[GroupSchedule]:
        now = self.clock.now()
        return [s for s in self.group_schedules if s.ends_at is None or now < s.ends_at]

    def _members(self) -> dict[str, set[str]]:
        """Each group's members now: the static ones and active PIM assignments."""
        members = {g: set(m) for g, m in self.groups.items()}
        for s in self._schedules_now():
            if not s.eligible and not s.owner:
                members.setdefault(s.group_id, set()).add(s.principal_id)
        return members

    def _groups_of(self, member_id: str) -> set[str]:
        """Every group *member_id* belongs to, through nested groups too."""
        members = self._members()
        found: set[str] = set()
        frontier = {member_id}
        while frontier:
            parents = {g for g, inside in members.items() if inside & frontier} - found
            found |= parents
            frontier = parents
        return found

    def _fail_if_asked(self, read: str) -> None:
        if read in self._sticky_failures:
            raise self._sticky_failures[read]
        queued = self._failures.get(read)
        if queued:
            raise queued.pop(0)

    def _roles_through_groups(self, user_id: str) -> list[RoleAssignment]:
        return roles_through_groups(
            user_id,
            member_of=self._groups_of(user_id),
            owners=self.owners,
            schedules=self._schedules_now(),
            role_groups={g: self.group_names.get(g) for g in self.role_assignable},
            roles=self.roles,
        )

    # Directory

    async def get_user(self, user_id: str) -> DirectoryUser:
        await self._enter("get_user", user_id)
        return self._find(user_id)

    async def get_manager(self, user_id: str) -> DirectoryUser | None:
        await self._enter("get_manager", user_id)
        user = self._find_or_none(user_id)
        manager_id = self.managers.get(user.id) if user else None
        return self.users.get(manager_id) if manager_id else None

    def _find_or_none(self, user_id: str) -> DirectoryUser | None:
        try:
            return self._find(user_id)
        except DirectoryObjectNotFound:
            return None

    async def list_direct_reports(self, user_id: str) -> list[DirectoryUser]:
        await self._enter("list_direct_reports", user_id)
        manager = self._find(user_id)
        reports = [self.users[u] for u, m in self.managers.items() if m == manager.id]
        return sorted(reports, key=lambda u: (u.display_name.casefold(), u.id))

    async def search_users(self, text: str, *, limit: int = 20) -> list[DirectoryUser]:
        await self._enter("search_users", text, limit)
        prefix = text.strip().casefold()
        if not prefix or limit < 1:
            return []

        def matches(user: DirectoryUser) -> bool:
            # The surname, as far as this model knows it: what follows the given name in the
            # display name ("Jordan Ellis (Fabrikam)" -> "Ellis (Fabrikam)"), else the last word.
            given, names = user.given_name or "", user.display_name.split()
            if given and user.display_name.startswith(given + " "):
                surname = user.display_name[len(given) :].strip()
            else:
                surname = names[-1] if names else ""
            fields = [
                user.display_name,
                user.given_name or "",
                surname,
                user.user_principal_name,
                user.mail or "",
            ]
            return any(f.casefold().startswith(prefix) for f in fields)

        found = sorted(
            (u for u in self.users.values() if matches(u)),
            key=lambda u: (u.display_name.casefold(), u.id),
        )
        return found[:limit]

    async def list_sponsors(self, user_id: str) -> list[DirectoryUser]:
        await self._enter("list_sponsors", user_id)
        guest = self._find(user_id)
        return [self.users[s] for s in self.sponsors.get(guest.id, []) if s in self.users]

    async def member_of_groups(self, user_id: str, group_ids: Sequence[str]) -> set[str]:
        await self._enter("member_of_groups", user_id, tuple(group_ids))
        if not group_ids:
            return set()
        user = self._find(user_id)
        return self._groups_of(user.id) & set(group_ids)

    async def list_group_members(self, group_id: str, *, limit: int = 100) -> list[str]:
        await self._enter("list_group_members", group_id)
        if group_id not in self.groups:
            raise DirectoryObjectNotFound(f"group {group_id} not found", status=404)
        members = sorted(u for u in self.users if group_id in self._groups_of(u))
        return members[:limit]

    async def list_role_assignments(self, user_id: str) -> list[RoleAssignment]:
        await self._enter("list_role_assignments", user_id)
        for read in ROLE_READS:
            self._fail_if_asked(read)
        user = self._find(user_id)
        if self.role_assignable:
            for read in ROLE_READS_ABOUT_GROUPS:
                self._fail_if_asked(read)
        direct = list(dict.fromkeys(self.roles.get(user.id, [])))
        return [*direct, *dict.fromkeys(self._roles_through_groups(user.id))]

    async def manager_changes(self, user_id: str, since: datetime) -> list[ManagerChange]:
        await self._enter("manager_changes", user_id, since)
        changes = [
            c
            for c in self.audit
            if c.target_id == user_id and (c.changed_at is None or c.changed_at >= since)
        ]
        return newest_first(changes)

    async def account_created(self, user_id: str, since: datetime) -> AccountCreation | None:
        await self._enter("account_created", user_id, since)
        found = [c for c in self.creations if c.user_id == user_id and c.created_at >= since]
        return max(found, key=lambda c: c.created_at, default=None)

    async def users_delta_page(self, link: str | None) -> UsersDeltaPage:
        await self._enter("users_delta_page", link)
        now = self.clock.now()
        if link is None:
            kind, since, offset, snapshot = "full", 0, 0, len(self._changes)
        else:
            query = {k: v[0] for k, v in parse_qs(urlsplit(link).query).items()}
            issued = datetime.fromisoformat(query.get("issued", "1970-01-01T00:00:00+00:00"))
            if query.get("epoch") != self._delta_epoch or now - issued > DELTA_LINK_LIFETIME:
                raise DirectoryDeltaExpired("Resync required.", code="resyncRequired", status=410)
            kind, since, offset = query["kind"], int(query["since"]), int(query["offset"])
            # A delta link starts a round covering the changes made until it is used.
            snapshot = int(query["at"]) if "at" in query else len(self._changes)
        if kind == "full":
            ids = sorted(self.users)
        else:
            start = max(0, since - DELTA_REPLAY)
            ids = list(dict.fromkeys(self._changes[start:snapshot]))
        page_ids = ids[offset : offset + self.delta_page_size]
        sightings = tuple(self._sighting(uid) for uid in page_ids)

        def link_to(**fields: object) -> str:
            values = {"epoch": self._delta_epoch, "issued": now.isoformat()} | fields
            return "twin://users/delta?" + urlencode(values)

        if offset + self.delta_page_size < len(ids):
            next_link = link_to(
                kind=kind, since=since, offset=offset + self.delta_page_size, at=snapshot
            )
            return UsersDeltaPage(sightings, next_link=next_link)
        # The next round starts after the changes this one covered; anything that changed
        # while it was read is listed again then.
        return UsersDeltaPage(sightings, delta_link=link_to(kind="delta", since=snapshot, offset=0))

    def _sighting(self, user_id: str) -> ManagerSighting:
        if user_id in self._removed and user_id not in self.users:
            return ManagerSighting(user_id, None, removed=True)
        manager = self.managers.get(user_id)
        # As Graph does: no manager@delta when there is no manager, in any round.
        if manager is None:
            return ManagerSighting(user_id, None, manager_known=False)
        return ManagerSighting(user_id, manager)

    async def list_joiners(
        self,
        hired_from: datetime,
        hired_until: datetime,
        *,
        departments: Sequence[str] = (),
        companies: Sequence[str] = (),
    ) -> AsyncIterator[Joiner]:
        """Yield matching joiners in pages of `joiner_page_size`, each page read (and
        failing, see `joiner_page_failures`) only when iteration reaches it."""
        wanted_departments = {d.casefold() for d in departments}
        wanted_companies = {c.casefold() for c in companies}

        def matches(user: DirectoryUser) -> bool:
            hired = user.employee_hire_date
            if hired is None and user.id not in self.unreadable_hire_dates:
                return False
            if hired is not None and not hired_from <= hired <= hired_until:
                return False
            department = (self.departments.get(user.id) or "").casefold()
            company = (self.companies.get(user.id) or "").casefold()
            return (
                user.account_enabled
                and user.user_type == "Member"
                and (not wanted_departments or department in wanted_departments)
                and (not wanted_companies or company in wanted_companies)
            )

        page = 0
        offset = 0
        while True:
            await self._enter("list_joiners", hired_from, hired_until, page)
            failure = self.joiner_page_failures.pop(page, None)
            if failure is not None:
                raise failure
            found = sorted(
                (u for u in self.users.values() if matches(u)),
                key=lambda u: (u.employee_hire_date or hired_from, u.id),
            )
            chunk = found[offset : offset + self.joiner_page_size]
            for user in chunk:
                yield Joiner(
                    user,
                    department=self.departments.get(user.id),
                    company_name=self.companies.get(user.id),
                    hire_date_text=self.unreadable_hire_dates.get(user.id),
                    created_at=self.created.get(user.id),
                )
            offset += len(chunk)
            page += 1
            if offset >= len(found) or not chunk:
                return

    async def is_app_installed_for(self, user_id: str, teams_app_id: str) -> bool:
        await self._enter("is_app_installed_for", user_id, teams_app_id)
        return (self._find(user_id).id, teams_app_id) in self.installed_apps

    async def install_app_for(self, user_id: str, teams_app_id: str) -> None:
        await self._enter("install_app_for", user_id, teams_app_id)
        self.installed_apps.add((self._find(user_id).id, teams_app_id))

    async def personal_chat_id(self, user_id: str, teams_app_id: str) -> str | None:
        await self._enter("personal_chat_id", user_id, teams_app_id)
        user_id = self._find(user_id).id
        if (user_id, teams_app_id) not in self.installed_apps:
            return None
        # The shape Graph answers with (facts §7.2), as the fake tenant builds it.
        return f"19:{teams_app_id}_{user_id}@unq.gbl.spaces"

    # PassIssuer

    async def get_policy(self) -> TapPolicy:
        await self._enter("get_policy")
        return self.policy

    def _info_now(self, entry: _Pass) -> PassInfo:
        info = entry.info
        now = self.clock.now()
        if entry.used:
            usable, reason = False, "OneTimeUsed"
        elif now < info.start_at:
            usable, reason = False, "NotYetValid"
        elif now >= info.ends_at:
            usable, reason = False, "Expired"
        else:
            usable, reason = True, "EnabledByPolicy"
        return dataclasses.replace(info, is_usable=usable, usability_reason=reason)

    async def list_passes(self, user_id: str) -> list[PassInfo]:
        await self._enter("list_passes", user_id)
        entry = self._passes.get(self._find(user_id).id)
        # Graph's pass carries no user id: the adapter labels it with *user_id* as given.
        return [dataclasses.replace(self._info_now(entry), user_id=user_id)] if entry else []

    def _targeted(self, user_id: str) -> bool:
        groups = self._groups_of(user_id)
        included = self.policy.all_users or bool(groups & set(self.policy.include_group_ids))
        return included and not groups & set(self.policy.exclude_group_ids)

    async def create_pass(
        self,
        user_id: str,
        *,
        lifetime_minutes: int,
        is_usable_once: bool,
        start_at: datetime | None,
    ) -> IssuedPass:
        await self._enter("create_pass", user_id, lifetime_minutes, is_usable_once, start_at)
        user = self._find(user_id)
        policy = self.policy
        if user.is_guest:
            raise _bad_request(GUEST_FORBIDDEN)
        if not policy.enabled or not self._targeted(user.id):
            raise _bad_request(POLICY_FORBIDS)
        low, high = policy.minimum_lifetime_minutes, policy.maximum_lifetime_minutes
        if not low <= lifetime_minutes <= high:
            raise _bad_request(
                f"Invalid LifetimeInMinutes specified. The valid range between {low} and {high}."
            )
        if policy.is_usable_once and not is_usable_once:
            raise _bad_request("The policy allows only one-time Temporary Access Passes.")
        now = self.clock.now()
        info = PassInfo(
            id=str(uuid.uuid4()),
            user_id=user_id,  # as given (an id or a UPN), as the Graph adapter labels it
            created_at=now,
            start_at=start_at or now,
            lifetime_minutes=lifetime_minutes,
            is_usable_once=is_usable_once,
            is_usable=False,
        )
        # Entra keeps one pass per user: a new one replaces the old, valid or not.
        entry = self._passes[user.id] = _Pass(info)
        value = "".join(secrets.choice(PASS_ALPHABET) for _ in range(policy.default_length))
        return IssuedPass(info=self._info_now(entry), secret=PassSecret(value))

    async def delete_pass(self, user_id: str, pass_id: str) -> None:
        await self._enter("delete_pass", user_id, pass_id)
        user = self._find_or_none(user_id)
        entry = self._passes.get(user.id) if user else None
        if user is not None and entry is not None and entry.info.id == pass_id:
            del self._passes[user.id]

    # Mailer

    async def send_mail(self, message: MailMessage) -> None:
        await self._enter("send_mail", message.sender, message.to, message.subject)
        if self._find_or_none(message.sender) is None:
            raise DirectoryObjectNotFound(
                f"The requested user '{message.sender}' is invalid.",
                code="ErrorInvalidUser",
                status=404,
            )
        if not message.to:
            raise DirectoryRejected(
                "At least one recipient is required.", code="ErrorInvalidRecipients", status=400
            )
        self.sent_mail.append(message)


def _actor(by: str | Actor | None) -> Actor | None:
    if by is None or isinstance(by, Actor):
        return by
    return Actor(ActorKind.USER, by)


def _bad_request(message: str) -> DirectoryRejected:
    return DirectoryRejected(message, code="badRequest", status=400)
