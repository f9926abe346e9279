"""The checks behind every request, in the order that keeps them cheap and discreet.

1. **Who is asking for whom** (`RequestChecks.route`): the target's manager (one Graph read) and
   whether the requester is in the helpdesk (a read about the requester, remembered a minute).
   A requester who is neither the target's manager (or, for a guest, sponsor) nor in the
   helpdesk is refused here: nothing else about the target is read, so a forged submit costs
   one or two Graph reads, not a dozen, and tells its sender nothing.
2. **Everything else about the target** (`RequestChecks.check`), read concurrently: the account,
   roles, protected groups, recent manager changes, passes, the tenant's pass policy; then the
   rules of `bot.domain.policy`.

Rate limits come before both, in the store (`RequestService`), so a flood costs no Graph call.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Protocol

from bot.domain.eligibility import gather_target_facts, read_manager_chain
from bot.domain.errors import DirectoryError, DirectoryObjectNotFound
from bot.domain.manager_changes import ManagerEvidence, recent_manager_change
from bot.domain.manager_check import ManagerCheck
from bot.domain.membership import GroupMembership
from bot.domain.model import (
    ActorKind,
    ApprovalContext,
    DirectoryUser,
    RecentManagerChange,
    RequestKind,
    TapPolicy,
)
from bot.domain.outcomes import Refused
from bot.domain.policy import (
    MAX_MANAGER_CHAIN,
    PolicyConfig,
    Refusal,
    TargetFacts,
    check_pass_parameters,
    check_target,
    existing_pass_needs_confirmation,
    needs_helpdesk_approval,
)
from bot.domain.ports import Clock, Directory, PassIssuer
from bot.domain.refusals import message, refusal_message


class PassParameters(Protocol):
    """What a pass is asked to be: a submitted form or a stored request."""

    @property
    def lifetime_minutes(self) -> int: ...

    @property
    def is_usable_once(self) -> bool: ...

    @property
    def start_at(self) -> datetime | None: ...


@dataclass(frozen=True, slots=True)
class Route:
    """In what capacity the requester may ask for the target, and the target's management
    chain as just read (its first entry is the manager)."""

    kind: RequestKind
    chain: tuple[DirectoryUser, ...] = ()

    @property
    def manager(self) -> DirectoryUser | None:
        return self.chain[0] if self.chain else None


@dataclass(frozen=True, slots=True)
class Checked:
    """A request that passed every rule: the facts it was judged on and, when the target's
    manager changed recently, that change (the request then needs the helpdesk)."""

    route: Route
    facts: TargetFacts
    policy: TapPolicy
    manager_change: RecentManagerChange | None

    @property
    def target(self) -> DirectoryUser:
        assert self.facts.user is not None  # check_target refuses a missing user
        return self.facts.user


class RequestChecks:
    """The rules, with the reads they need, for submits and for the re-check before issuing."""

    def __init__(
        self,
        *,
        directory: Directory,
        pass_issuer: PassIssuer,
        membership: GroupMembership,
        clock: Clock,
        config: PolicyConfig,
        helpdesk_group_id: str,
        manager_check: ManagerCheck | None = None,
    ) -> None:
        self._directory = directory
        self._manager_check = manager_check
        self._issuer = pass_issuer
        self._membership = membership
        self._clock = clock
        self._config = config
        self._helpdesk = helpdesk_group_id

    @property
    def manager_check(self) -> ManagerCheck | None:
        """What tells a recent manager change (tapbot's record and the audit log)."""
        return self._manager_check

    @property
    def has_helpdesk(self) -> bool:
        """Whether a helpdesk group is configured (without one, nobody decides a helpdesk
        stage)."""
        return bool(self._helpdesk)

    async def is_helpdesk(self, user_id: str, *, fresh: bool = False) -> bool:
        """Whether *user_id* is a helpdesk member now (remembered at most a minute, unless
        *fresh*)."""
        return await self._membership.is_member(user_id, self._helpdesk, fresh=fresh)

    async def is_member(self, user_id: str, group_id: str, *, fresh: bool = False) -> bool:
        """Whether *user_id* is in *group_id* now (remembered at most a minute, unless
        *fresh*)."""
        return await self._membership.is_member(user_id, group_id, fresh=fresh)

    async def route(self, requester_id: str, target_id: str) -> Route | Refused:
        """Decide the capacity: the target's manager (or, with indirect reports allowed, above
        them) asks as a manager; otherwise a helpdesk member asks as the helpdesk; a guest's
        sponsor asks as a manager when guests are allowed. Raises DirectoryError."""
        if target_id == requester_id:
            return _refused(Refusal.SELF)
        chain, is_helpdesk = await asyncio.gather(
            self._chain(target_id), self.is_helpdesk(requester_id)
        )
        if self._manages(requester_id, chain):
            return Route(RequestKind.MANAGER, chain)
        if is_helpdesk:
            return Route(RequestKind.HELPDESK, chain)
        return await self._without_relationship(requester_id, target_id, chain)

    async def holds(self, kind: RequestKind, requester_id: str, target_id: str) -> Route | Refused:
        """Check again, before issuing, that the requester may still ask in capacity *kind*."""
        if target_id == requester_id:
            return _refused(Refusal.SELF)
        if kind is RequestKind.HELPDESK:
            # Read afresh: someone removed from the helpdesk a moment ago gets no pass.
            chain, member = await asyncio.gather(
                self._chain(target_id), self.is_helpdesk(requester_id, fresh=True)
            )
            return Route(kind, chain) if member else _refused(Refusal.NOT_HELPDESK)
        chain = await self._chain(target_id)
        if self._manages(requester_id, chain):
            return Route(kind, chain)
        return await self._without_relationship(requester_id, target_id, chain, kind=kind)

    async def check(
        self, requester_id: str, target_id: str, asked: PassParameters, route: Route
    ) -> Checked | Refused:
        """Read the rest of the target's facts and apply every rule. Raises DirectoryError."""
        now = self._clock.now()
        policy = await self._issuer.get_policy()
        facts = await gather_target_facts(
            self._directory,
            self._issuer,
            target_id,
            self._config,
            now,
            policy=policy,
            known_chain=route.chain,
            manager_check=self._manager_check,
        )
        refusal = check_target(
            requester_id, facts, self._config, via_helpdesk=route.kind is RequestKind.HELPDESK
        ) or check_pass_parameters(
            lifetime_minutes=asked.lifetime_minutes,
            is_usable_once=asked.is_usable_once,
            start_at=asked.start_at,
            policy=policy,
            config=self._config,
            now=now,
        )
        if refusal is not None:
            return Refused(refusal, refusal_message(refusal, facts, self._config, policy=policy))
        change = None
        if route.kind is not RequestKind.HELPDESK:
            change = needs_helpdesk_approval(
                facts, self._config, now
            ) or await self._change_above_manager(requester_id, route.chain, now)
        return Checked(route, facts, policy, change)

    async def context(self, checked: Checked) -> ApprovalContext:
        """What an approver should see about the target; names of the people in a recent
        manager change are read now (a missing one is left out, never guessed)."""
        # A helpdesk request is not routed by a manager change, but its approvers must see one.
        change = checked.manager_change or checked.facts.recent_manager_change
        manager = checked.route.manager
        previous = by = ""
        if change is not None:
            actor = change.changed_by
            previous, by = await asyncio.gather(
                self._name(change.previous_manager_id),
                self._name(actor.id if actor and actor.kind is ActorKind.USER else None),
            )
            if actor is not None and not by:
                by = actor.display_name
        existing = existing_pass_needs_confirmation(checked.facts.passes, self._clock.now())
        return ApprovalContext(
            target_job_title=checked.target.job_title or "",
            target_manager_name=manager.display_name if manager else "",
            manager_changed_at=change.changed_at if change else None,
            previous_manager_name=previous,
            manager_changed_by=by,
            manager_change_evidence=change.evidence.value if change else "",
            existing_pass_ends_at=existing.ends_at if existing else None,
        )

    # Internals

    async def _change_above_manager(
        self, requester_id: str, chain: tuple[DirectoryUser, ...], now: datetime
    ) -> RecentManagerChange | None:
        """For a requester above the target's manager (indirect reports allowed): a recent
        change of any manager link between that manager and the requester. Whoever sets
        themselves above a manager would otherwise get passes for that manager's whole team
        with no one else involved. Links are checked in turn, nearest the target first."""
        ids = [m.id for m in chain]
        if (
            not self._config.allow_indirect_reports
            or self._config.manager_change_window_days <= 0
            or requester_id not in ids[1:]
        ):
            return None
        for below, above in pairwise(chain[: ids.index(requester_id) + 1]):
            change = await self.manager_change(below.id, above.id, now)
            if change is not None:
                return change
        return None

    async def manager_change(
        self, user_id: str, manager_id: str | None, now: datetime
    ) -> RecentManagerChange | None:
        """The recent change that made *manager_id* (just read from the directory) the manager
        of *user_id*, or None when the manager is long-standing or the window is zero. Raises
        DirectoryError and StoreError."""
        if self._config.manager_change_window_days <= 0:
            return None
        if self._manager_check is None:
            # No record to compare with: nobody was ever seen (fail closed, as for the target
            # in `gather_target_facts`).
            window = timedelta(days=self._config.manager_change_window_days)
            return recent_manager_change(ManagerEvidence(manager_id, None), now=now, window=window)
        return await self._manager_check.recent_change(user_id, _known(manager_id), now=now)

    async def _chain(self, target_id: str) -> tuple[DirectoryUser, ...]:
        depth = MAX_MANAGER_CHAIN if self._config.allow_indirect_reports else 1
        return tuple(await read_manager_chain(self._directory, target_id, depth))

    def _manages(self, requester_id: str, chain: tuple[DirectoryUser, ...]) -> bool:
        if not chain:
            return False
        if chain[0].id == requester_id:
            return True
        return self._config.allow_indirect_reports and any(m.id == requester_id for m in chain)

    async def _without_relationship(
        self,
        requester_id: str,
        target_id: str,
        chain: tuple[DirectoryUser, ...],
        *,
        kind: RequestKind = RequestKind.MANAGER,
    ) -> Route | Refused:
        if chain:
            return _refused(Refusal.NOT_DIRECT_REPORT)
        # No manager: one read of the person tells a missing one, a guest (whose sponsor may
        # ask) and someone without a manager apart.
        try:
            user = await self._directory.get_user(target_id)
        except DirectoryObjectNotFound:
            return _refused(Refusal.TARGET_NOT_FOUND)
        if not user.is_guest:
            return _refused(Refusal.NO_MANAGER, user.display_name)
        if not self._config.allow_guests:
            return _refused(Refusal.GUEST, user.display_name)
        sponsors = await self._directory.list_sponsors(user.id)
        if any(s.id == requester_id for s in sponsors):
            return Route(kind)
        return _refused(Refusal.NOT_SPONSOR, user.display_name)

    async def _name(self, user_id: str | None) -> str:
        if not user_id:
            return ""
        try:
            return (await self._directory.get_user(user_id)).display_name
        except DirectoryError:
            return ""


async def _known(value: str | None) -> str | None:
    return value


def _refused(refusal: Refusal, name: str | None = None) -> Refused:
    return Refused(refusal, message(refusal, name=name))
