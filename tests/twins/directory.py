"""`FakeDirectory`: the `Directory`, `PassIssuer` and `Mailer` ports in memory, for unit tests.

It passes the same contract suite as the Graph adapters talking to the sandbox's fake tenant
(tests/integration/graph), and answers as they do: the same errors for the same cases (an
unknown user is DirectoryObjectNotFound, a pass outside the policy is DirectoryRejected with
Graph's ``badRequest``), one pass per user with replacement, values only on creation.

Seed it with the helpers (`add_user`, `set_manager`, `add_group`, `assign_role`, …), make any
method fail with `fail`, and read what happened from `sent_mail`, `calls` and `audit`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import secrets
import string
import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import datetime

from bot.domain.clock import SystemClock
from bot.domain.errors import DirectoryError, DirectoryObjectNotFound, DirectoryRejected
from bot.domain.joiners import Joiner
from bot.domain.model import (
    DirectoryUser,
    IssuedPass,
    MailMessage,
    ManagerChange,
    PassInfo,
    PassSecret,
    RoleAssignment,
    RoleAssignmentKind,
    TapPolicy,
)
from bot.domain.ports import Clock

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
_PASS_ALPHABET = string.ascii_letters + string.digits + "+!#$%&*"


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
        self.roles: dict[str, list[RoleAssignment]] = {}
        self.audit: list[ManagerChange] = []
        self.installed_apps: set[tuple[str, str]] = set()
        self.departments: dict[str, str] = {}
        self.companies: dict[str, str] = {}
        self.unreadable_hire_dates: dict[str, str] = {}
        self.joiner_page_size = 100
        # Page number -> the error reading that page of joiners raises (once).
        self.joiner_page_failures: dict[int, DirectoryError] = {}
        self.sent_mail: list[MailMessage] = []
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
        department: str | None = None,
        company: str | None = None,
    ) -> DirectoryUser:
        self.users[user.id] = user
        if manager_id is not None:
            self.managers[user.id] = manager_id
        if department is not None:
            self.departments[user.id] = department
        if company is not None:
            self.companies[user.id] = company
        return user

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
        by: str | None = None,
    ) -> None:
        """Change *user_id*'s manager and log it as Entra does ("Set user manager")."""
        old = self.managers.pop(user_id, None)
        if manager_id is not None:
            self.managers[user_id] = manager_id
        self.audit.append(
            ManagerChange(
                target_id=user_id,
                changed_at=at or self.clock.now(),
                old_manager_id=old,
                new_manager_id=manager_id,
                initiated_by=by,
            )
        )

    def add_group(self, group_id: str, *member_ids: str) -> None:
        """Add users (or nested groups) to *group_id*, creating it if needed."""
        self.groups.setdefault(group_id, set()).update(member_ids)

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

    def _groups_of(self, member_id: str) -> set[str]:
        """Every group *member_id* belongs to, through nested groups too."""
        found: set[str] = set()
        frontier = {member_id}
        while frontier:
            parents = {g for g, members in self.groups.items() if members & frontier} - found
            found |= parents
            frontier = parents
        return found

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

    async def list_role_assignments(self, user_id: str) -> list[RoleAssignment]:
        await self._enter("list_role_assignments", user_id)
        return list(self.roles.get(user_id, []))

    async def manager_changes(self, user_id: str, since: datetime) -> list[ManagerChange]:
        await self._enter("manager_changes", user_id, since)
        changes = [c for c in self.audit if c.target_id == user_id and c.changed_at >= since]
        return sorted(changes, key=lambda c: c.changed_at, reverse=True)

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
        value = "".join(secrets.choice(_PASS_ALPHABET) for _ in range(policy.default_length))
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


def _bad_request(message: str) -> DirectoryRejected:
    return DirectoryRejected(message, code="badRequest", status=400)
