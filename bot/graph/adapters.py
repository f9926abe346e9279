"""The domain's Graph-backed ports, thin layers over `GraphClient`.

- `GraphDirectory` implements `Directory`;
- `GraphPassIssuer` implements `PassIssuer` (the TAP policy is cached for a while);
- `GraphMailer` implements `Mailer`.

What they add to the client: the port's exact semantics (a deleted pass that is already gone is
success), concurrency for independent calls, and the policy cache.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any, TypeVar

from bot.domain.errors import DirectoryObjectNotFound, DirectoryRejected
from bot.domain.joiners import Joiner
from bot.domain.model import (
    AccountCreation,
    DirectoryUser,
    IssuedPass,
    MailMessage,
    ManagerChange,
    PassInfo,
    RoleAssignment,
    RoleAssignmentKind,
    TapPolicy,
    UsersDeltaPage,
)
from bot.domain.ports import Clock
from bot.graph.client import GraphClient
from bot.graph.privilege import assignment_order, roles_through_groups

DEFAULT_POLICY_TTL = timedelta(minutes=10)
T = TypeVar("T")


class GraphDirectory:
    """`Directory` over Microsoft Graph."""

    def __init__(self, client: GraphClient) -> None:
        self._client = client

    async def get_user(self, user_id: str) -> DirectoryUser:
        return await self._client.get_user(user_id)

    async def get_manager(self, user_id: str) -> DirectoryUser | None:
        return await self._client.get_manager(user_id)

    async def list_direct_reports(self, user_id: str) -> list[DirectoryUser]:
        return await self._client.list_direct_reports(user_id)

    async def search_users(self, text: str, *, limit: int = 20) -> list[DirectoryUser]:
        return await self._client.search_users(text, limit=limit)

    async def list_sponsors(self, user_id: str) -> list[DirectoryUser]:
        return await self._client.list_sponsors(user_id)

    async def member_of_groups(self, user_id: str, group_ids: Sequence[str]) -> set[str]:
        if not group_ids:
            return set()
        return await self._client.check_member_groups(user_id, group_ids)

    async def list_group_members(self, group_id: str, *, limit: int = 100) -> list[str]:
        return await self._client.list_group_members(group_id, limit=limit)

    async def list_role_assignments(self, user_id: str) -> list[RoleAssignment]:
        """The `Directory` contract, in two rounds of concurrent Graph calls.

        Round 1, six calls: the user's own role assignments and eligibilities, the groups
        they are an active member of, their PIM for Groups eligibilities and assignments, and
        the tenant's role-assignable groups with their owners. Round 2, about those n groups:
        the roles they hold (2 ⌈n/15⌉ calls), the PIM for Groups eligibilities in each (n
        calls), and the owners of any group whose expanded owners may be incomplete. Pages
        beyond the first add round trips; nothing else does. See `bot.graph.privilege`.

        Every call finishes before the first failure is raised, so none is left running.
        """
        client = self._client
        if "@" in user_id:
            # A UPN: principalId filters match object ids only.
            user_id = (await client.get_user(user_id)).id
        (
            direct_active,
            direct_eligible,
            member_of,
            user_eligibilities,
            user_assignments,
            role_groups,
        ) = _settled(
            await asyncio.gather(
                client.list_roles_held_by([user_id], RoleAssignmentKind.ACTIVE),
                client.list_roles_held_by([user_id], RoleAssignmentKind.ELIGIBLE),
                client.list_group_ids_of(user_id),
                client.list_group_schedules(eligible=True, principal_id=user_id),
                client.list_group_schedules(eligible=False, principal_id=user_id),
                client.list_role_assignable_groups(),
                return_exceptions=True,
            )
        )
        group_ids = [group.id for group in role_groups]
        cut_short = [group.id for group in role_groups if not group.owners_complete]
        held_active, held_eligible, group_eligibilities, owners = _settled(
            await asyncio.gather(
                client.list_roles_held_by(group_ids, RoleAssignmentKind.ACTIVE),
                client.list_roles_held_by(group_ids, RoleAssignmentKind.ELIGIBLE),
                _each(
                    client.list_group_schedules(eligible=True, group_id=group)
                    for group in group_ids
                ),
                _each(client.list_group_owner_ids(group) for group in cut_short),
                return_exceptions=True,
            )
        )
        direct = {held.role for held in (*direct_active, *direct_eligible)}
        through_groups = roles_through_groups(
            user_id,
            member_of=member_of,
            user_schedules=(*user_eligibilities, *user_assignments),
            role_groups=role_groups,
            more_owners=dict(zip(cut_short, owners, strict=True)),
            group_eligibilities=[s for found in group_eligibilities for s in found],
            group_roles=(*held_active, *held_eligible),
        )
        return [*sorted(direct, key=assignment_order), *through_groups]

    async def manager_changes(self, user_id: str, since: datetime) -> list[ManagerChange]:
        return await self._client.list_manager_changes(user_id, since)

    async def account_created(self, user_id: str, since: datetime) -> AccountCreation | None:
        return await self._client.find_account_creation(user_id, since)

    async def users_delta_page(self, link: str | None) -> UsersDeltaPage:
        return await self._client.users_delta_page(link)

    def list_joiners(
        self,
        hired_from: datetime,
        hired_until: datetime,
        *,
        departments: Sequence[str] = (),
        companies: Sequence[str] = (),
    ) -> AsyncIterator[Joiner]:
        return self._client.iter_joiners(
            hired_from, hired_until, departments=departments, companies=companies
        )

    async def is_app_installed_for(self, user_id: str, teams_app_id: str) -> bool:
        return await self._client.find_app_installation(user_id, teams_app_id) is not None

    async def install_app_for(self, user_id: str, teams_app_id: str) -> None:
        await self._client.install_app(user_id, teams_app_id)

    async def personal_chat_id(self, user_id: str, teams_app_id: str) -> str | None:
        """Two Graph calls: find the installation, then read its chat."""
        installation = await self._client.find_app_installation(user_id, teams_app_id)
        if installation is None:
            return None
        return await self._client.get_installation_chat(user_id, installation)


async def _each(calls: Iterable[Awaitable[T]]) -> list[T]:
    """Await *calls* concurrently, in order; every one finishes before a failure is raised."""
    return list(_settled(await asyncio.gather(*calls, return_exceptions=True)))


def _settled(results: Sequence[object]) -> tuple[Any, ...]:
    """*results* of ``gather(..., return_exceptions=True)``, or the first failure raised."""
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return tuple(results)


class GraphPassIssuer:
    """`PassIssuer` over Microsoft Graph.

    The TAP policy is read at most once per *policy_ttl* (by *clock*); concurrent readers of an
    expired policy share one Graph call. A creation Graph rejects drops the cached policy, since
    an administrator may just have changed it.
    """

    def __init__(
        self, client: GraphClient, clock: Clock, *, policy_ttl: timedelta = DEFAULT_POLICY_TTL
    ) -> None:
        self._client = client
        self._clock = clock
        self._policy_ttl = policy_ttl
        self._policy: TapPolicy | None = None
        self._policy_read_at: datetime | None = None
        self._policy_lock = asyncio.Lock()

    async def get_policy(self) -> TapPolicy:
        async with self._policy_lock:
            now = self._clock.now()
            if (
                self._policy is not None
                and self._policy_read_at is not None
                and self._policy_read_at <= now < self._policy_read_at + self._policy_ttl
            ):
                return self._policy
            self._policy = await self._client.get_tap_policy()
            self._policy_read_at = now
            return self._policy

    def forget_policy(self) -> None:
        """Drop the cached policy; the next `get_policy` reads Graph."""
        self._policy = self._policy_read_at = None

    async def list_passes(self, user_id: str) -> list[PassInfo]:
        return await self._client.list_passes(user_id)

    async def create_pass(
        self,
        user_id: str,
        *,
        lifetime_minutes: int,
        is_usable_once: bool,
        start_at: datetime | None,
    ) -> IssuedPass:
        """Create a pass (see `GraphClient.create_pass` for what a failure means)."""
        try:
            return await self._client.create_pass(
                user_id,
                lifetime_minutes=lifetime_minutes,
                is_usable_once=is_usable_once,
                start_at=start_at,
            )
        except DirectoryRejected:
            self.forget_policy()
            raise

    async def delete_pass(self, user_id: str, pass_id: str) -> None:
        """Delete the pass; one that is already gone (or a user who is) is success."""
        try:
            await self._client.delete_pass(user_id, pass_id)
        except DirectoryObjectNotFound:
            return


class GraphMailer:
    """`Mailer` over Graph's sendMail."""

    def __init__(self, client: GraphClient) -> None:
        self._client = client

    async def send_mail(self, message: MailMessage) -> None:
        await self._client.send_mail(message)
