"""Whether people belong to a group (the helpdesk, an approval group), read from the directory
and remembered for at most a minute.

A short memory is enough to spare Graph a read on every click, and short enough that someone
removed from the helpdesk stops acting as one within a minute. It is a per-process cache of a
directory answer, not state another process must see.
"""

from __future__ import annotations

from collections import OrderedDict
from datetime import datetime, timedelta

from bot.domain.ports import Clock, Directory

MEMBERSHIP_TTL = timedelta(minutes=1)


class GroupMembership:
    """Transitive group membership with a bounded, time-limited memory."""

    def __init__(
        self,
        directory: Directory,
        clock: Clock,
        *,
        ttl: timedelta = MEMBERSHIP_TTL,
        remembered: int = 10_000,
    ) -> None:
        if ttl > MEMBERSHIP_TTL:
            raise ValueError("group membership may be remembered for a minute at most")
        self._directory = directory
        self._clock = clock
        self._ttl = ttl
        self._remembered = remembered
        self._known: OrderedDict[tuple[str, str], tuple[bool, datetime]] = OrderedDict()

    async def is_member(self, user_id: str, group_id: str, *, fresh: bool = False) -> bool:
        """True when *user_id* is a transitive member of *group_id*; False for an empty group
        id. *fresh* reads the directory whatever is remembered (for what a stale answer would
        let through: a decision, the check right before issuing). Raises DirectoryError when
        the directory cannot tell."""
        if not group_id:
            return False
        key = (user_id.lower(), group_id.lower())
        now = self._clock.now()
        known = self._known.get(key)
        if not fresh and known is not None and known[1] <= now < known[1] + self._ttl:
            return known[0]
        member = group_id in await self._directory.member_of_groups(user_id, [group_id])
        self._known[key] = (member, now)
        self._known.move_to_end(key)
        if len(self._known) > self._remembered:
            self._known.popitem(last=False)
        return member

    def forget(self, user_id: str) -> None:
        """Drop what is remembered about *user_id*."""
        for key in [k for k in self._known if k[0] == user_id.lower()]:
            del self._known[key]
