"""A manager's team and its passes: the state of each report's pass, and revoking one.

"team" (PRODUCT.md flow 6) lists the asker's direct reports, read from the directory at that
moment, with each one's pass as Graph describes it now. A pass is revoked (deleted in Graph)
only when, at the moment of the click, the directory names the clicker as the person's manager
and the pass shown is still the person's pass. Every revocation, refusal and failure is
audited; the pass value is never involved (Graph only gives it out at creation).
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.domain.audit import Auditor
from bot.domain.errors import DirectoryError, DirectoryObjectNotFound, TapbotError
from bot.domain.model import DirectoryUser, PassInfo
from bot.domain.policy import Refusal
from bot.domain.ports import Clock, Directory, PassDelivery, PassIssuer, Store
from bot.domain.rates import (
    REVOKE_CLICKS_PER_PERSON_PER_HOUR,
    TEAM_PAGES_PER_PERSON_PER_HOUR,
    Meter,
    SlowedDown,
)

TEAM_PAGE_SIZE = 20
# Graph calls for one page's passes run this many at a time.
_CONCURRENT_READS = 8
REVOKED_NOTICE = (
    "Your Temporary Access Pass was revoked by your manager, so it no longer works. If you "
    "didn't expect this, or still need a pass, contact your manager or the helpdesk."
)


class PassState(enum.StrEnum):
    """Where a person's pass stands, as Graph's ``methodUsabilityReason`` tells."""

    NONE = "none"
    ACTIVE = "active"
    NOT_YET_VALID = "not_yet_valid"
    EXPIRED = "expired"
    USED = "used"
    SUSPENDED = "suspended"  # the tenant's pass policy has switched it off for now


@dataclass(frozen=True, slots=True)
class PassStatus:
    """A person's pass (None when they have none) and its state."""

    state: PassState
    info: PassInfo | None = None


_BY_REASON = {
    "EnabledByPolicy": PassState.ACTIVE,
    "DisabledByPolicy": PassState.SUSPENDED,
    "Expired": PassState.EXPIRED,
    "NotYetValid": PassState.NOT_YET_VALID,
    "OneTimeUsed": PassState.USED,
}


def pass_status(passes: Sequence[PassInfo], now: datetime) -> PassStatus:
    """The state of the newest of *passes* (Entra keeps one per person) at *now*.

    Graph's usability reason decides; without a reason this module knows, the pass's own
    times do.
    """
    if not passes:
        return PassStatus(PassState.NONE)
    info = max(passes, key=lambda p: p.created_at or p.start_at)
    state = _BY_REASON.get(info.usability_reason)
    if state is None:
        if now < info.start_at:
            state = PassState.NOT_YET_VALID
        elif now >= info.ends_at:
            state = PassState.EXPIRED
        else:
            state = PassState.ACTIVE
    return PassStatus(state, info)


@dataclass(frozen=True, slots=True)
class TeamCursor:
    """A page boundary in the team list: the person at its edge (name and id, the sort key).
    *forward* asks for the page after them, otherwise the page before."""

    name: str
    user_id: str
    forward: bool = True

    @property
    def key(self) -> tuple[str, str]:
        return (self.name.casefold(), self.user_id)


def _key(user: DirectoryUser) -> tuple[str, str]:
    return (user.display_name.casefold(), user.id)


@dataclass(frozen=True, slots=True)
class TeamMember:
    """A direct report and their pass; *status* is None when Graph did not answer for them."""

    user: DirectoryUser
    status: PassStatus | None


@dataclass(frozen=True, slots=True)
class TeamPage:
    """Up to `TEAM_PAGE_SIZE` direct reports, by name, and the cursors to the pages around."""

    members: Sequence[TeamMember]
    total: int
    first_position: int
    previous: TeamCursor | None
    next: TeamCursor | None


def page_of(
    reports: Sequence[DirectoryUser], cursor: TeamCursor | None, size: int = TEAM_PAGE_SIZE
) -> tuple[list[DirectoryUser], int, TeamCursor | None, TeamCursor | None]:
    """The reports of the page *cursor* asks for, sorted by name: (people, index of the first,
    cursor to the page before, cursor to the page after). A cursor whose person has left the
    team still places the page by name, so nobody is skipped or shown twice."""
    ordered = sorted(reports, key=_key)
    start = 0
    if cursor is not None:
        edge = next((i for i, u in enumerate(ordered) if _key(u) >= cursor.key), len(ordered))
        if cursor.forward:
            start = edge + (edge < len(ordered) and _key(ordered[edge]) == cursor.key)
        else:
            start = max(0, edge - size)
    people = ordered[start : start + size]
    previous = next_ = None
    if people and start > 0:
        previous = TeamCursor(people[0].display_name, people[0].id, forward=False)
    if people and start + size < len(ordered):
        next_ = TeamCursor(people[-1].display_name, people[-1].id, forward=True)
    return people, start, previous, next_


# Revoking


@dataclass(frozen=True, slots=True)
class RevokeQuestion:
    """The manager may revoke *status*'s pass of *user*: ask them to confirm."""

    user: DirectoryUser
    status: PassStatus


@dataclass(frozen=True, slots=True)
class Revoked:
    """The pass is deleted. *told* says whether the person was told (None: not asked to)."""

    user: DirectoryUser
    told: bool | None


@dataclass(frozen=True, slots=True)
class PassGone:
    """The pass shown is no longer there (revoked, replaced or deleted meanwhile)."""

    user: DirectoryUser
    newer: PassStatus | None


@dataclass(frozen=True, slots=True)
class RevokeRefused:
    """The clicker may not revoke this pass; *text* says why, *reason* is the audit code."""

    reason: Refusal
    text: str


@dataclass(frozen=True, slots=True)
class RevokeFailed:
    """Graph could not be asked or refused; nothing was revoked."""

    text: str


RevokeOutcome = RevokeQuestion | Revoked | PassGone | RevokeRefused | RevokeFailed

UNREACHABLE = (
    "I couldn't reach Microsoft Entra just now, so nothing was revoked. Please try again in a "
    "few minutes."
)


def may_revoke(
    manager_id: str, user: DirectoryUser | None, users_manager: DirectoryUser | None
) -> Refusal | None:
    """Whether *manager_id* may revoke *user*'s pass: only the person's manager in the
    directory now (not a former one, not their manager's manager)."""
    if user is None:
        return Refusal.TARGET_NOT_FOUND
    if user.id == manager_id:
        return Refusal.SELF
    if users_manager is None or users_manager.id != manager_id:
        return Refusal.NOT_DIRECT_REPORT
    return None


def refusal_text(refusal: Refusal, user: DirectoryUser | None) -> str:
    name = user.display_name if user else "This person"
    if refusal is Refusal.TARGET_NOT_FOUND:
        return "I couldn't find that person in the directory, so nothing was revoked."
    if refusal is Refusal.SELF:
        return "You can't revoke your own pass here. Ask your manager or the helpdesk."
    return (
        f"{name} doesn't report to you in the directory, so you can't revoke their pass. "
        "Nothing was revoked; ask their manager or the helpdesk."
    )


class TeamPasses:
    """Flow 6 without "status": a manager's team, its passes, and revoking one."""

    def __init__(
        self,
        *,
        directory: Directory,
        pass_issuer: PassIssuer,
        delivery: PassDelivery,
        auditor: Auditor,
        clock: Clock,
        store: Store,
    ) -> None:
        self._directory = directory
        self._issuer = pass_issuer
        self._delivery = delivery
        self._audit = auditor
        self._clock = clock
        self._meter = Meter(store, clock)

    async def page(
        self, manager_id: str, cursor: TeamCursor | None = None
    ) -> TeamPage | SlowedDown:
        """The page of *manager_id*'s direct reports that *cursor* asks for, each with their
        pass read now; `SlowedDown`, before any read, past `TEAM_PAGES_PER_PERSON_PER_HOUR`.
        Raise DirectoryError when the reports cannot be read; a person whose pass cannot be
        read is listed with an unknown status."""
        if not await self._meter.admit("team", manager_id, TEAM_PAGES_PER_PERSON_PER_HOUR):
            return SlowedDown()
        reports = await self._directory.list_direct_reports(manager_id)
        people, start, previous, next_ = page_of(reports, cursor)
        limit = asyncio.Semaphore(_CONCURRENT_READS)
        now = self._clock.now()

        async def member(user: DirectoryUser) -> TeamMember:
            async with limit:
                try:
                    passes = await self._issuer.list_passes(user.id)
                except DirectoryError:
                    return TeamMember(user, None)
            return TeamMember(user, pass_status(passes, now))

        members = await asyncio.gather(*(member(user) for user in people))
        return TeamPage(members, len(reports), start + 1, previous, next_)

    async def ask_revoke(self, manager_id: str, target_id: str, pass_id: str) -> RevokeOutcome:
        """First click on "Revoke": check, then ask to confirm (nothing changes yet)."""
        checked = await self._check(manager_id, target_id, pass_id)
        if isinstance(checked, tuple):
            return RevokeQuestion(*checked)
        return checked

    async def revoke(
        self, manager_id: str, target_id: str, pass_id: str, *, tell_them: bool
    ) -> RevokeOutcome:
        """The manager confirmed: check again, delete the pass, and tell the person if asked."""
        checked = await self._check(manager_id, target_id, pass_id)
        if not isinstance(checked, tuple):
            return checked
        user, status = checked
        try:
            await self._issuer.delete_pass(user.id, pass_id)
        except DirectoryError as error:
            return await self._failed(manager_id, user.id, pass_id, error)
        await self._audit.record(
            "revoke",
            "revoked",
            actor_id=manager_id,
            target_id=user.id,
            detail={"pass_id": pass_id, "state": status.state.value},
        )
        told: bool | None = None
        if tell_them:
            try:
                told = await self._delivery.notify(user.id, REVOKED_NOTICE)
            except TapbotError:
                told = False
            await self._audit.record(
                "revoke",
                "target_told" if told else "target_not_reached",
                actor_id=manager_id,
                target_id=user.id,
                detail={"pass_id": pass_id},
            )
        return Revoked(user, told)

    async def _check(
        self, manager_id: str, target_id: str, pass_id: str
    ) -> tuple[DirectoryUser, PassStatus] | RevokeRefused | PassGone | RevokeFailed:
        """Read the person, their manager and their passes together, then judge in the order
        that tells a stranger nothing about someone who is not theirs. A flood of clicks is
        refused (and audited) before any read."""
        if not await self._meter.admit("revoke", manager_id, REVOKE_CLICKS_PER_PERSON_PER_HOUR):
            await self._audit.record(
                "revoke",
                "refused",
                actor_id=manager_id,
                target_id=target_id,
                reason=Refusal.RATE_LIMIT_REQUESTER.value,
                detail={"pass_id": pass_id},
            )
            return RevokeRefused(Refusal.RATE_LIMIT_REQUESTER, SlowedDown().text)
        try:
            user, manager, passes = await asyncio.gather(
                self._directory.get_user(target_id),
                self._directory.get_manager(target_id),
                self._issuer.list_passes(target_id),
            )
        except DirectoryObjectNotFound:
            user, manager, passes = None, None, []
        except DirectoryError as error:
            return await self._failed(manager_id, target_id, pass_id, error)
        refusal = may_revoke(manager_id, user, manager)
        if refusal is not None:
            await self._audit.record(
                "revoke",
                "refused",
                actor_id=manager_id,
                target_id=user.id if user else target_id,
                reason=refusal.value,
                detail={"pass_id": pass_id},
            )
            return RevokeRefused(refusal, refusal_text(refusal, user))
        assert user is not None  # may_revoke refuses a missing person
        shown = [info for info in passes if info.id == pass_id]
        if not shown:
            await self._audit.record(
                "revoke",
                "already_gone",
                actor_id=manager_id,
                target_id=user.id,
                detail={"pass_id": pass_id},
            )
            newer = pass_status(passes, self._clock.now()) if passes else None
            return PassGone(user, newer)
        return user, pass_status(shown, self._clock.now())

    async def _failed(
        self, manager_id: str, target_id: str, pass_id: str, error: DirectoryError
    ) -> RevokeFailed:
        await self._audit.record(
            "revoke",
            "failed",
            actor_id=manager_id,
            target_id=target_id,
            reason="directory_error",
            detail={"pass_id": pass_id, "code": error.code, "status": str(error.status)},
        )
        return RevokeFailed(UNREACHABLE)
