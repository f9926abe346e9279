"""The domain's Graph-backed ports, thin layers over `GraphClient`.

- `GraphDirectory` implements `Directory`;
- `GraphPassIssuer` implements `PassIssuer` (the TAP policy is cached for a while);
- `GraphMailer` implements `Mailer`.

What they add to the client: the port's exact semantics (a deleted pass that is already gone is
success), concurrency for independent calls, and the policy cache.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from datetime import datetime, timedelta

from bot.domain.errors import DirectoryObjectNotFound, DirectoryRejected
from bot.domain.joiners import Joiner
from bot.domain.model import (
    DirectoryUser,
    IssuedPass,
    MailMessage,
    ManagerChange,
    PassInfo,
    RoleAssignment,
    TapPolicy,
)
from bot.domain.ports import Clock
from bot.graph.client import GraphClient

DEFAULT_POLICY_TTL = timedelta(minutes=10)


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

    async def list_role_assignments(self, user_id: str) -> list[RoleAssignment]:
        """Return active and PIM-eligible roles, read concurrently (two Graph calls)."""
        active, eligible = await asyncio.gather(
            self._client.list_active_role_assignments(user_id),
            self._client.list_eligible_role_assignments(user_id),
        )
        return [*active, *eligible]

    async def manager_changes(self, user_id: str, since: datetime) -> list[ManagerChange]:
        return await self._client.list_manager_changes(user_id, since)

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
