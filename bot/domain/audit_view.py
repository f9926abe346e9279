"""The audit trail in Teams, for helpdesk members: recent events, filtered and paged.

Membership of the helpdesk group is read from the directory at every click, never remembered,
so someone removed from the group loses the view at once. Anyone else is refused in words and
the refusal is audited. Events carry no pass value (none is ever audited); people's names are
looked up for the events on the page shown, and only there.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from bot.domain.audit import Auditor
from bot.domain.audit_query import AuditCursor
from bot.domain.errors import DirectoryError, DirectoryObjectNotFound
from bot.domain.model import AuditEvent, DirectoryUser
from bot.domain.policy import Refusal
from bot.domain.ports import Clock, Directory, Store
from bot.domain.rates import AUDIT_VIEWS_PER_PERSON_PER_HOUR, SLOW_DOWN, Meter

AUDIT_PAGE_SIZE = 10
_CONCURRENT_LOOKUPS = 8
_OBJECT_ID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")

NOT_HELPDESK = (
    "The audit trail is for helpdesk members only, and you aren't in the helpdesk group. Ask "
    "your IT team if you need to see it."
)
CANNOT_CHECK = (
    "I couldn't check with Microsoft Entra whether you are in the helpdesk group, so I can't "
    "show the audit trail just now. Please try again in a minute."
)


@dataclass(frozen=True, slots=True)
class AuditViewQuery:
    """What the viewer asked for: events about *person_id*, caused by *requester_id*, with
    *outcome*; *after* is where the previous page ended."""

    person_id: str | None = None
    requester_id: str | None = None
    outcome: str | None = None
    after: AuditCursor | None = None


@dataclass(frozen=True, slots=True)
class AuditViewPage:
    """One page of events, newest first, with the names found for the ids on it."""

    events: Sequence[AuditEvent]
    names: Mapping[str, str]
    query: AuditViewQuery
    next: AuditCursor | None


@dataclass(frozen=True, slots=True)
class AuditViewRefused:
    text: str


@dataclass(frozen=True, slots=True)
class PersonNotFound:
    """A filter's text named nobody, or several people; *text* says which and what to type."""

    text: str


def looks_like_object_id(value: str) -> bool:
    return bool(_OBJECT_ID.match(value))


class AuditViewer:
    """Recent audit events for helpdesk members of *helpdesk_group_id* (none when it is empty)."""

    def __init__(
        self,
        *,
        directory: Directory,
        store: Store,
        auditor: Auditor,
        clock: Clock,
        helpdesk_group_id: str,
        page_size: int = AUDIT_PAGE_SIZE,
    ) -> None:
        self._directory = directory
        self._store = store
        self._meter = Meter(store, clock)
        self._audit = auditor
        self._group = helpdesk_group_id
        self._page_size = page_size

    async def allowed(self, viewer_id: str) -> AuditViewRefused | None:
        """None when *viewer_id* is in the helpdesk group now; otherwise the refusal, audited.
        Past `AUDIT_VIEWS_PER_PERSON_PER_HOUR` checks, refused before the directory is read."""
        if not await self._meter.admit("audit", viewer_id, AUDIT_VIEWS_PER_PERSON_PER_HOUR):
            await self._audit.record(
                "audit", "refused", actor_id=viewer_id, reason=Refusal.RATE_LIMIT_REQUESTER.value
            )
            return AuditViewRefused(SLOW_DOWN)
        if self._group:
            try:
                found = await self._directory.member_of_groups(viewer_id, [self._group])
            except DirectoryError as error:
                await self._audit.record(
                    "audit",
                    "failed",
                    actor_id=viewer_id,
                    reason="directory_error",
                    detail={"code": error.code, "status": str(error.status)},
                )
                return AuditViewRefused(CANNOT_CHECK)
            if self._group in found:
                return None
        await self._audit.record(
            "audit",
            "refused",
            actor_id=viewer_id,
            reason="not_helpdesk" if self._group else "no_helpdesk_group",
        )
        return AuditViewRefused(NOT_HELPDESK)

    async def page(self, viewer_id: str, query: AuditViewQuery) -> AuditViewPage | AuditViewRefused:
        """The page of events *query* asks for, if *viewer_id* may see them now."""
        refused = await self.allowed(viewer_id)
        if refused is not None:
            return refused
        found = await self._store.list_audit(
            target_id=query.person_id,
            actor_id=query.requester_id,
            outcome=query.outcome,
            after=query.after,
            limit=self._page_size + 1,
        )
        events = found[: self._page_size]
        more = len(found) > self._page_size
        ids = {query.person_id, query.requester_id}
        for event in events:
            ids |= {event.actor_id, event.target_id}
        names = await self._names(i for i in ids if i and looks_like_object_id(i))
        return AuditViewPage(
            events=events,
            names=names,
            query=query,
            next=AuditCursor.after(events[-1]) if more else None,
        )

    async def find_person(self, text: str) -> DirectoryUser | PersonNotFound:
        """The one person *text* (an object id, a UPN or email, or the start of a name) names.

        Raise DirectoryError when the directory cannot be asked."""
        wanted = text.strip()
        if looks_like_object_id(wanted) or "@" in wanted:
            try:
                return await self._directory.get_user(wanted)
            except DirectoryObjectNotFound:
                if looks_like_object_id(wanted):
                    return PersonNotFound(f"No one in the directory has the id {wanted}.")
        matches = await self._directory.search_users(wanted, limit=5)
        exact = [u for u in matches if u.display_name.casefold() == wanted.casefold()]
        if len(matches) == 1 or len(exact) == 1:
            return (exact or matches)[0]
        if not matches:
            return PersonNotFound(f'No one in the directory matches "{wanted}".')
        names = ", ".join(u.display_name for u in matches[:4])
        return PersonNotFound(
            f'Several people match "{wanted}" ({names}). Type more of the name, or their '
            "email address."
        )

    async def _names(self, ids: Iterable[str]) -> dict[str, str]:
        """Display names of *ids*; an id the directory does not answer for is left out."""
        limit = asyncio.Semaphore(_CONCURRENT_LOOKUPS)

        async def name(user_id: str) -> tuple[str, str | None]:
            async with limit:
                try:
                    return user_id, (await self._directory.get_user(user_id)).display_name
                except DirectoryError:
                    return user_id, None

        found = await asyncio.gather(*(name(i) for i in ids))
        return {user_id: shown for user_id, shown in found if shown}
