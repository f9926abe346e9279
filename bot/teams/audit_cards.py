"""The "audit" card's conversation: recent events, filters and paging, for helpdesk members.

`AuditViewer` authorises the caller at every click (helpdesk membership read from Entra at
that moment); this module reads the card's untrusted data into a query and the page back into
words. Detail keys that name a secret are left out, as the export leaves them out.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.audit_export import exportable_detail
from bot.domain.audit_query import AuditCursor
from bot.domain.audit_view import (
    AuditViewer,
    AuditViewPage,
    AuditViewQuery,
    AuditViewRefused,
    PersonNotFound,
)
from bot.domain.errors import DirectoryError
from bot.domain.model import AuditEvent
from bot.teams.identity import Caller
from cards.audit import (
    FILTER,
    OUTCOME,
    PAGE,
    PERSON,
    REQUESTER,
    AuditRow,
    AuditView,
    audit_card,
    audit_refused_card,
)
from cards.request import when

Card = dict[str, Any]
_MAX_ID = 128
_MAX_TEXT = 100
_CODE = re.compile(r"^[a-z][a-z_]{0,39}$")
_ATTENTION = frozenset({"refused", "failed", "delete_failed", "target_not_reached"})


class AuditCards:
    """Cards for "audit", backed by `AuditViewer`."""

    def __init__(self, viewer: AuditViewer, timezone: ZoneInfo) -> None:
        self._viewer = viewer
        self._timezone = timezone
        self.actions = {PAGE: self.page, FILTER: self.filter}

    async def open(self, caller: Caller) -> Card:
        """The newest events, unfiltered (the "audit" command)."""
        return await self._show(caller, AuditViewQuery())

    async def page(self, caller: Caller, data: Mapping[str, object]) -> Card:
        """A page the card's buttons ask for: filters as ids, and a cursor for older pages."""
        query = AuditViewQuery(
            person_id=_id(data, "person_id"),
            requester_id=_id(data, "requester_id"),
            outcome=_outcome(data),
            after=_cursor(data),
        )
        return await self._show(caller, query)

    async def filter(self, caller: Caller, data: Mapping[str, object]) -> Card:
        """Apply the filters typed on the card: names or emails become people."""
        refused = await self._viewer.allowed(caller.user_id)
        if refused is not None:
            return audit_refused_card(refused.text)
        problems: list[str] = []
        person = await self._person(_text(data, PERSON), problems)
        requester = await self._person(_text(data, REQUESTER), problems)
        query = AuditViewQuery(person_id=person, requester_id=requester, outcome=_outcome(data))
        return await self._show(caller, query, notice=" ".join(problems))

    async def _person(self, text: str, problems: list[str]) -> str | None:
        if not text:
            return None
        try:
            found = await self._viewer.find_person(text)
        except DirectoryError:
            problems.append(
                f'I couldn\'t look up "{text}" in Microsoft Entra just now, so that filter is '
                "left out."
            )
            return None
        if isinstance(found, PersonNotFound):
            problems.append(found.text + " That filter is left out.")
            return None
        return found.id

    async def _show(self, caller: Caller, query: AuditViewQuery, *, notice: str = "") -> Card:
        page = await self._viewer.page(caller.user_id, query)
        if isinstance(page, AuditViewRefused):
            return audit_refused_card(page.text)
        return audit_card(self._view(page, notice))

    def _view(self, page: AuditViewPage, notice: str) -> AuditView:
        query, names = page.query, page.names
        filters = {
            key: value
            for key, value in (
                ("person_id", query.person_id),
                ("requester_id", query.requester_id),
                ("outcome", query.outcome),
            )
            if value
        }
        older = None
        if page.next is not None:
            older = filters | {
                "before_at": page.next.at.isoformat(),
                "before_id": str(page.next.id),
            }
        return AuditView(
            rows=[self._row(event, names) for event in page.events],
            filters=filters,
            person=names.get(query.person_id, query.person_id) if query.person_id else "",
            requester=(
                names.get(query.requester_id, query.requester_id) if query.requester_id else ""
            ),
            outcome=query.outcome or "",
            older=older,
            first_page=query.after is None,
            notice=notice,
        )

    def _row(self, event: AuditEvent, names: Mapping[str, str]) -> AuditRow:
        why = []
        if event.reason:
            why.append(f"reason: {event.reason}")
        why += [f"{key}: {value}" for key, value in exportable_detail(event.detail).items()]
        if event.request_id:
            why.append(f"request {event.request_id}")
        return AuditRow(
            when=when(event.at, self._timezone),
            what=f"{event.action}: {event.outcome}",
            by=names.get(event.actor_id, event.actor_id),
            about=names.get(event.target_id, event.target_id) if event.target_id else "",
            why="; ".join(why),
            attention=event.outcome in _ATTENTION,
        )


def _text(data: Mapping[str, object], key: str) -> str:
    value = data.get(key)
    return value.strip() if isinstance(value, str) and len(value) <= _MAX_TEXT else ""


def _id(data: Mapping[str, object], key: str) -> str | None:
    value = data.get(key)
    return value if isinstance(value, str) and 0 < len(value) <= _MAX_ID else None


def _outcome(data: Mapping[str, object]) -> str | None:
    value = data.get(OUTCOME)
    return value if isinstance(value, str) and _CODE.match(value) else None


def _cursor(data: Mapping[str, object]) -> AuditCursor | None:
    at, number = data.get("before_at"), data.get("before_id")
    if not (isinstance(at, str) and isinstance(number, str) and number.isdigit()):
        return None
    if len(at) > 40 or len(number) > 19:
        return None
    try:
        moment = datetime.fromisoformat(at)
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    return AuditCursor(moment, int(number))
