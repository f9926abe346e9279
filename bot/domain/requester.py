"""Who is asking: what the directory says about the person talking to the bot."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from bot.domain.errors import DirectoryError
from bot.domain.ports import Clock, Directory, Store
from bot.domain.rates import HELP_PER_PERSON_PER_HOUR, Meter


@dataclass(frozen=True, slots=True)
class RequesterProfile:
    """What a person may do with tapbot, as far as the directory tells.

    *known* is False when the directory could not be read, or was not read because the person
    asked too often (*slowed_down*); the counts are then zero and the person should be told we
    did not check, not that they may do nothing.
    """

    user_id: str
    display_name: str
    direct_reports: int
    is_helpdesk: bool
    known: bool = True
    slowed_down: bool = False

    @property
    def is_manager(self) -> bool:
        return self.direct_reports > 0


async def profile_of(
    directory: Directory, user_id: str, *, fallback_name: str, helpdesk_group_id: str
) -> RequesterProfile:
    """Read *user_id*'s name, number of direct reports and helpdesk membership, concurrently.

    Never raises a DirectoryError: a directory failure gives a profile with ``known=False``.
    """

    async def helpdesk() -> bool:
        if not helpdesk_group_id:
            return False
        member_of = await directory.member_of_groups(user_id, [helpdesk_group_id])
        return helpdesk_group_id.lower() in {group_id.lower() for group_id in member_of}

    try:
        user, reports, is_helpdesk = await asyncio.gather(
            directory.get_user(user_id), directory.list_direct_reports(user_id), helpdesk()
        )
    except DirectoryError:
        return RequesterProfile(user_id, fallback_name, 0, False, known=False)
    return RequesterProfile(user.id, user.display_name, len(reports), is_helpdesk)


class Profiles:
    """`profile_of` for the help and welcome cards, at most `HELP_PER_PERSON_PER_HOUR` reads
    per person: any text tapbot does not know gets help, so a loop of messages must not turn
    into a loop of Graph reads."""

    def __init__(
        self, *, directory: Directory, store: Store, clock: Clock, helpdesk_group_id: str
    ) -> None:
        self._directory = directory
        self._meter = Meter(store, clock)
        self._helpdesk = helpdesk_group_id

    async def of(self, user_id: str, *, fallback_name: str) -> RequesterProfile:
        """*user_id*'s profile read now; unread (``slowed_down``) past the limit. Never raises
        a DirectoryError; raises StoreError."""
        if not await self._meter.admit("help", user_id, HELP_PER_PERSON_PER_HOUR):
            return RequesterProfile(user_id, fallback_name, 0, False, known=False, slowed_down=True)
        return await profile_of(
            self._directory, user_id, fallback_name=fallback_name, helpdesk_group_id=self._helpdesk
        )
