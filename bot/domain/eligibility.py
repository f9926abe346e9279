"""Reading what the policy needs to know about a target, in one concurrent round of port calls.

`bot.domain.policy` decides; this module only reads. Every read that does not depend on another
runs at once (asyncio.gather), so a check costs the longest of them, not their sum: one Graph
round trip for most, two for the roles (groups first, then what those groups hold).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Sequence
from datetime import datetime, timedelta
from typing import TypeVar

from bot.domain.errors import (
    DirectoryError,
    DirectoryObjectNotFound,
    DirectoryThrottled,
    TapbotError,
)
from bot.domain.manager_changes import ManagerEvidence, recent_manager_change
from bot.domain.manager_check import ManagerCheck
from bot.domain.model import (
    DirectoryUser,
    PassInfo,
    RecentManagerChange,
    RoleAssignment,
    TapPolicy,
)
from bot.domain.policy import (
    MAX_MANAGER_CHAIN,
    PolicyConfig,
    TargetFacts,
)
from bot.domain.ports import Directory, PassIssuer

T = TypeVar("T")


async def gather_target_facts(
    directory: Directory,
    pass_issuer: PassIssuer,
    target_id: str,
    config: PolicyConfig,
    now: datetime,
    *,
    policy: TapPolicy | None = None,
    known_chain: tuple[DirectoryUser, ...] | None = None,
    manager_check: ManagerCheck | None = None,
) -> TargetFacts:
    """Read everything `check_target` and `needs_helpdesk_approval` need about *target_id*.

    *target_id* should be the target's object id (audit events are matched on it). *policy* is
    the tenant TAP policy when the caller has it cached; otherwise it is read here, alongside
    the rest, and returned in ``facts.policy``. *known_chain*, when the caller has just read the
    management chain (`read_manager_chain`), is used instead of reading it again.

    *manager_check* answers whether the target's manager changed recently and records the
    manager seen now. Without it tapbot keeps no record to compare with, so the target counts
    as never seen: ``recent_manager_change`` is a NEVER_SEEN change (fail closed), unless the
    window is zero.

    Concurrently: the user, their manager (and, when indirect reports are allowed, the chain
    above), role assignments, blocked-group membership, the manager-change check (tapbot's
    record and the audit log, read while the manager is), their passes, the TAP policy and
    membership of its target groups, and (when guests are allowed) their sponsors. Calls whose
    answer cannot matter are skipped: no blocked groups configured, a zero window, a policy for
    all users with no exclusions.

    A user the directory does not know gives ``TargetFacts(user=None)`` (and nothing is
    recorded for them); a missing manager gives ``manager_id=None``. Roles that cannot be read
    (any DirectoryError) are recorded in ``role_check_failure`` (with Graph's wait in
    ``role_check_retry_after`` when it throttled them), so `check_target` refuses only after
    the relationship checks. Any other DirectoryError propagates, after every call has
    finished.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be a timezone-aware datetime")
    depth = MAX_MANAGER_CHAIN if config.allow_indirect_reports else 1

    async def read_chain() -> tuple[DirectoryUser, ...]:
        if known_chain is not None:
            return known_chain
        return tuple(await read_manager_chain(directory, target_id, depth))

    chain_read = asyncio.ensure_future(_settle(read_chain()))

    async def manager_chain() -> tuple[str, ...]:
        return tuple(m.id for m in _ok(await chain_read))

    async def current_manager() -> str | None:
        # Recorded only for a user who exists: a 404 here stops the check before it writes.
        found = await user_t
        if isinstance(found, TapbotError):
            raise found
        chain = _ok(await chain_read)
        return chain[0].id if chain else None

    async def manager_change() -> RecentManagerChange | None:
        if config.manager_change_window_days <= 0:
            return None
        if manager_check is None:
            # No record store at all: tapbot has seen nobody (fail closed).
            return recent_manager_change(
                ManagerEvidence(await current_manager(), None),
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
        chain_read, user_t, chain_t, roles_t, blocked_t, change_t, passes_t, scope_t, sponsors_t
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
    roles_read = roles_t.result()
    roles: list[RoleAssignment] = [] if isinstance(roles_read, DirectoryError) else _ok(roles_read)
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
        role_check_failure=(
            _failure(roles_read) if isinstance(roles_read, DirectoryError) else None
        ),
        role_check_retry_after=(
            roles_read.retry_after if isinstance(roles_read, DirectoryThrottled) else None
        ),
    )


async def read_manager_chain(directory: Directory, user_id: str, depth: int) -> list[DirectoryUser]:
    """Return *user_id*'s manager, then theirs, upwards, at most *depth* of them (one Graph
    read each, in turn). A missing user or manager ends the chain; so does a cycle."""
    chain: list[DirectoryUser] = []
    current = user_id
    while len(chain) < depth:
        try:
            manager = await directory.get_manager(current)
        except DirectoryObjectNotFound:
            break
        # A cycle in the directory's management chain must not loop forever.
        if manager is None or any(m.id == manager.id for m in chain):
            break
        chain.append(manager)
        current = manager.id
    return chain


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


async def _settle(call: Awaitable[T]) -> T | TapbotError:
    # Hold a directory (or, for the manager check, store) failure as a value so every call
    # finishes before we decide what it means: a missing user explains the other calls' 404s,
    # and no task is left unawaited.
    try:
        return await call
    except TapbotError as exc:
        return exc


def _failure(error: DirectoryError) -> str:
    """What went wrong, in words safe for the audit trail: no Graph message, which may quote
    input."""
    parts = [type(error).__name__]
    if error.status:
        parts.append(str(error.status))
    if error.code:
        parts.append(error.code)
    return " ".join(parts)


def _ok(result: T | TapbotError) -> T:
    """The value of a settled call, or its failure raised again."""
    if isinstance(result, TapbotError):
        raise result
    return result


def _unique(ids: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(ids))
