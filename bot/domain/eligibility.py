"""Reading what the policy needs to know about a target, in one concurrent round of Graph calls.

`bot.domain.policy` decides; this module only reads. Every read that does not depend on another
runs at once (asyncio.gather), so a check costs about one Graph round trip, not seven.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Sequence
from datetime import datetime, timedelta
from typing import TypeVar

from bot.domain.errors import DirectoryError, DirectoryObjectNotFound, TapbotError
from bot.domain.manager_changes import ManagerEvidence, recent_manager_change
from bot.domain.manager_check import ManagerCheck, WatchedDirectory
from bot.domain.model import (
    DirectoryUser,
    PassInfo,
    RecentManagerChange,
    RoleAssignment,
    TapPolicy,
)
from bot.domain.policy import (
    MAX_MANAGER_CHAIN,
    REQUESTER_WINDOW,
    TARGET_WINDOW,
    PolicyConfig,
    TargetFacts,
)
from bot.domain.ports import Directory, PassIssuer, Store

T = TypeVar("T")


async def gather_target_facts(
    directory: Directory,
    pass_issuer: PassIssuer,
    target_id: str,
    config: PolicyConfig,
    now: datetime,
    *,
    policy: TapPolicy | None = None,
    manager_check: ManagerCheck | None = None,
) -> TargetFacts:
    """Read everything `check_target` and `needs_helpdesk_approval` need about *target_id*.

    *target_id* should be the target's object id (audit events are matched on it). *policy* is
    the tenant TAP policy when the caller has it cached; otherwise it is read here, alongside
    the rest, and returned in ``facts.policy``. *manager_check* answers whether the target's
    manager changed recently and records the manager seen now (when None, the one a
    `WatchedDirectory` *directory* carries). Without either, tapbot keeps no record to compare
    with, so the target counts as never seen: ``recent_manager_change`` is a NEVER_SEEN change
    (fail closed), unless the window is zero.

    Concurrently: the user, their manager (and, when indirect reports are allowed, the chain
    above), role assignments, blocked-group membership, the manager-change check (tapbot's
    record and the audit log, read while the manager is), their passes, the TAP policy and
    membership of its target groups, and (when guests are allowed) their sponsors. Calls whose
    answer cannot matter are skipped: no blocked groups configured, a zero window, a policy for
    all users with no exclusions.

    A user the directory does not know gives ``TargetFacts(user=None)`` (and nothing is
    recorded for them); a missing manager gives ``manager_id=None``. Any other DirectoryError
    propagates, after every call has finished.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be a timezone-aware datetime")
    if manager_check is None and isinstance(directory, WatchedDirectory):
        manager_check = directory.manager_check

    async def first_manager() -> DirectoryUser | None:
        try:
            return await directory.get_manager(target_id)
        except DirectoryObjectNotFound:
            return None

    first_t = asyncio.ensure_future(first_manager())

    async def manager_chain() -> tuple[str, ...]:
        chain: list[str] = []
        manager = await first_t
        depth = MAX_MANAGER_CHAIN if config.allow_indirect_reports else 1
        while manager is not None and len(chain) < depth:
            # A cycle in the directory's management chain must not loop forever.
            if manager.id in chain:
                break
            chain.append(manager.id)
            if len(chain) >= depth:
                break
            try:
                manager = await directory.get_manager(manager.id)
            except DirectoryObjectNotFound:
                break
        return tuple(chain)

    async def current_manager() -> str | None:
        # Recorded only for a user who exists: a 404 here stops the check before it writes.
        found = await user_t
        if isinstance(found, DirectoryError):
            raise found
        manager = await first_t
        return manager.id if manager else None

    async def manager_change() -> RecentManagerChange | None:
        if config.manager_change_window_days <= 0:
            return None
        if manager_check is None:
            manager_id = await current_manager()
            # No record store at all: tapbot has seen nobody (fail closed).
            return recent_manager_change(
                ManagerEvidence(manager_id, None),
                now=now,
                window=timedelta(days=config.manager_change_window_days),
            )
        return await manager_check.recent_change(target_id, current_manager(), now=now)

    async def blocked() -> set[str]:
        if not config.blocked_group_ids:
            return set()
        return await directory.member_of_groups(target_id, list(config.blocked_group_ids))

    async def scope() -> tuple[TapPolicy, bool | None]:
        tap_policy = policy if policy is not None else await pass_issuer.get_policy()
        return tap_policy, await _in_policy_scope(directory, target_id, tap_policy)

    async def sponsors() -> frozenset[str]:
        if not config.allow_guests:
            return frozenset()
        return frozenset(s.id for s in await directory.list_sponsors(target_id))

    user_t = asyncio.ensure_future(_settle(directory.get_user(target_id)))
    chain_t = asyncio.ensure_future(_settle(manager_chain()))
    roles_t = asyncio.ensure_future(_settle(directory.list_role_assignments(target_id)))
    blocked_t = asyncio.ensure_future(_settle(blocked()))
    change_t = asyncio.ensure_future(_settle(manager_change()))
    passes_t = asyncio.ensure_future(_settle(pass_issuer.list_passes(target_id)))
    scope_t = asyncio.ensure_future(_settle(scope()))
    sponsors_t = asyncio.ensure_future(_settle(sponsors()))
    await asyncio.gather(
        user_t, chain_t, roles_t, blocked_t, change_t, passes_t, scope_t, sponsors_t
    )

    found = user_t.result()
    scoped = scope_t.result()
    read_policy = None if isinstance(scoped, TapbotError) else scoped[0]
    if isinstance(found, DirectoryObjectNotFound):
        # The other reads failed or answered for nobody; none of it means anything.
        return TargetFacts(user=None, policy=read_policy)
    if isinstance(found, TapbotError):
        raise found
    chain = _ok(chain_t.result())
    roles: list[RoleAssignment] = _ok(roles_t.result())
    member_of: set[str] = _ok(blocked_t.result())
    recent = _ok(change_t.result())
    passes: list[PassInfo] = _ok(passes_t.result())
    tap_policy, in_scope = _ok(scoped)
    sponsor_ids = _ok(sponsors_t.result())
    return TargetFacts(
        user=found,
        manager_id=chain[0] if chain else None,
        manager_chain=chain,
        role_assignments=tuple(roles),
        blocked_groups=frozenset(member_of),
        in_policy_scope=in_scope,
        recent_manager_change=recent,
        passes=tuple(passes),
        sponsor_ids=sponsor_ids,
        policy=tap_policy,
    )


async def _in_policy_scope(directory: Directory, user_id: str, policy: TapPolicy) -> bool:
    """Tell whether the TAP policy targets *user_id*: included (all users or a member of an
    included group) and not a member of an excluded group. Entra refuses to create a pass for
    anyone else ("Converged UserCredentialPolicy does not allow ...")."""
    include = () if policy.all_users else policy.include_group_ids
    groups = _unique((*include, *policy.exclude_group_ids))
    if not groups:
        return policy.all_users
    member_of = await directory.member_of_groups(user_id, groups)
    included = policy.all_users or bool(member_of & set(include))
    return included and not member_of & set(policy.exclude_group_ids)


async def recent_request_counts(
    store: Store, *, requester_id: str, target_id: str, now: datetime
) -> tuple[int, int]:
    """Return (requests by *requester_id* in the last hour, requests for *target_id* in the last
    day), read concurrently, for `check_rate_limits`."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be a timezone-aware datetime")
    by_requester, for_target = await asyncio.gather(
        store.count_requests(requester_id=requester_id, created_since=now - REQUESTER_WINDOW),
        store.count_requests(target_id=target_id, created_since=now - TARGET_WINDOW),
    )
    return by_requester, for_target


async def _settle(call: Awaitable[T]) -> T | TapbotError:
    # Hold a directory (or, for the manager check, store) failure as a value so every call
    # finishes before we decide what it means: a missing user explains the other calls' 404s,
    # and no task is left unawaited.
    try:
        return await call
    except TapbotError as exc:
        return exc


def _ok(result: T | TapbotError) -> T:
    """The value of a settled call, or its failure raised again."""
    if isinstance(result, TapbotError):
        raise result
    return result


def _unique(ids: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(ids))
