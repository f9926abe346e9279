"""Who is asking: what the directory says about the person talking to the bot."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from bot.domain.errors import DirectoryError
from bot.domain.ports import Directory


@dataclass(frozen=True, slots=True)
class RequesterProfile:
    """What a person may do with tapbot, as far as the directory tells.

    *known* is False when the directory could not be read; the counts are then zero and the
    person should be told we could not check, not that they may do nothing.
    """

    user_id: str
    display_name: str
    direct_reports: int
    is_helpdesk: bool
    known: bool = True

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
