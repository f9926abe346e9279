"""The "team" card's conversation: the list, paging, "Request a pass" and revoking.

Each action takes the authenticated caller and the card's untrusted data and returns the card
that replaces the clicked one. `TeamPasses` decides who may do what, at every click; this
module only translates between cards and the domain.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo

from bot.domain.errors import DirectoryError
from bot.domain.rates import SlowedDown
from bot.domain.team import (
    PassGone,
    PassState,
    PassStatus,
    Revoked,
    RevokeFailed,
    RevokeOutcome,
    RevokeQuestion,
    RevokeRefused,
    TeamCursor,
    TeamPasses,
)
from bot.teams.identity import Caller
from bot.teams.request_cards import RequestCards
from cards.request import when
from cards.team import (
    CONFIRM_REVOKE,
    REQUEST,
    REVOKE,
    SHOW,
    TELL_THEM,
    TeamRow,
    TeamView,
    confirm_revoke_card,
    team_card,
    team_message_card,
)

Card = dict[str, Any]
_MAX_FIELD = 256
CANNOT_READ = (
    "I couldn't read your team from Microsoft Entra just now. Please try again in a minute."
)
OUT_OF_DATE = "This card is out of date. Type team to see your team again."


class TeamCards:
    """Cards for "team", backed by `TeamPasses`; request forms come from `RequestCards`."""

    def __init__(self, team: TeamPasses, requests: RequestCards, timezone: ZoneInfo) -> None:
        self._team = team
        self._requests = requests
        self._timezone = timezone
        self.actions = {
            SHOW: self.show,
            REQUEST: self.request,
            REVOKE: self.ask_revoke,
            CONFIRM_REVOKE: self.revoke,
        }

    async def open(self, caller: Caller) -> Card:
        """The first page of *caller*'s team (the "team" command)."""
        return await self._page(caller, None)

    async def show(self, caller: Caller, data: Mapping[str, object]) -> Card:
        return await self._page(caller, _cursor(data))

    async def request(self, caller: Caller, data: Mapping[str, object]) -> Card:
        """Step two of the request card, for the row's person: exactly what picking them on
        step one and clicking Next gives (`RequestCards.details`, with its checks and its
        rate limit); step one when the card names nobody."""
        target = _field(data, "target")
        return await self._requests.details(caller, {"target": target} if target else {})

    async def ask_revoke(self, caller: Caller, data: Mapping[str, object]) -> Card:
        target, pass_id = _field(data, "target"), _field(data, "pass_id")
        if not (target and pass_id):
            return team_message_card("Nothing was revoked", OUT_OF_DATE)
        return await self._outcome(
            caller, await self._team.ask_revoke(caller.user_id, target, pass_id)
        )

    async def revoke(self, caller: Caller, data: Mapping[str, object]) -> Card:
        target, pass_id = _field(data, "target"), _field(data, "pass_id")
        if not (target and pass_id):
            return team_message_card("Nothing was revoked", OUT_OF_DATE)
        tell_them = data.get(TELL_THEM) in ("true", True)
        outcome = await self._team.revoke(caller.user_id, target, pass_id, tell_them=tell_them)
        return await self._outcome(caller, outcome)

    async def _outcome(self, caller: Caller, outcome: RevokeOutcome) -> Card:
        match outcome:
            case RevokeQuestion(user, status):
                assert status.info is not None  # a question is only asked about a pass
                return confirm_revoke_card(
                    user_id=user.id,
                    pass_id=status.info.id,
                    name=user.display_name,
                    state=self.describe(status),
                )
            case Revoked(user, told):
                notice = f"{user.display_name}'s pass was revoked: it no longer works."
                if told is True:
                    notice += " I told them in Teams."
                elif told is False:
                    notice += (
                        " I couldn't tell them in Teams (they have no chat with me yet); "
                        "tell them yourself if they need to know."
                    )
                return await self._page(caller, None, notice=notice)
            case PassGone(user, newer):
                notice = (
                    f"That pass of {user.display_name}'s was already gone: nothing was revoked."
                )
                if newer is not None:
                    notice += " They have a newer pass now, shown below."
                return await self._page(caller, None, notice=notice, attention=True)
            case RevokeRefused(_, text) | RevokeFailed(text):
                return team_message_card("Nothing was revoked", text)

    async def _page(
        self,
        caller: Caller,
        cursor: TeamCursor | None,
        *,
        notice: str = "",
        attention: bool = False,
    ) -> Card:
        try:
            page = await self._team.page(caller.user_id, cursor)
        except DirectoryError:
            page = SlowedDown(CANNOT_READ)
        if isinstance(page, SlowedDown):
            text = f"{notice} {page.text}".strip()
            return team_message_card("I can't show your team right now", text)
        rows = [
            TeamRow(
                user_id=member.user.id,
                name=member.user.display_name,
                job_title=member.user.job_title or "",
                state=self.describe(member.status),
                pass_id=(
                    member.status.info.id
                    if member.status is not None and member.status.info is not None
                    else None
                ),
                attention=member.status is None,
            )
            for member in page.members
        ]
        return team_card(
            TeamView(
                rows=rows,
                total=page.total,
                first_position=page.first_position,
                previous=_cursor_data(page.previous),
                next=_cursor_data(page.next),
                notice=notice,
                notice_attention=attention,
            )
        )

    def describe(self, status: PassStatus | None) -> str:
        """A pass's state in words, with its times in the bot's time zone."""
        if status is None:
            return "Pass unknown: Microsoft Entra didn't answer for this person. Refresh to retry."
        info = status.info
        if status.state is PassState.NONE or info is None:
            return "No pass"
        start, end = when(info.start_at, self._timezone), when(info.ends_at, self._timezone)
        use = "one-time use" if info.is_usable_once else "multiple sign-ins"
        match status.state:
            case PassState.ACTIVE:
                return f"Active from {start} until {end}, {use}"
            case PassState.NOT_YET_VALID:
                return f"Not yet valid: from {start} until {end}, {use}"
            case PassState.EXPIRED:
                return f"Expired at {end}"
            case PassState.USED:
                return f"Used: a one-time pass, already spent (it was valid until {end})"
            case _:
                return f"Switched off by the organisation's pass policy (valid until {end})"


def _field(data: Mapping[str, object], key: str) -> str:
    value = data.get(key)
    return value.strip() if isinstance(value, str) and 0 < len(value) <= _MAX_FIELD else ""


def _cursor(data: Mapping[str, object]) -> TeamCursor | None:
    name, user_id, direction = _field(data, "name"), _field(data, "id"), _field(data, "page")
    if not (name and user_id) or direction not in ("next", "previous"):
        return None
    return TeamCursor(name, user_id, forward=direction == "next")


def _cursor_data(cursor: TeamCursor | None) -> dict[str, str] | None:
    if cursor is None:
        return None
    page = "next" if cursor.forward else "previous"
    return {"page": page, "name": cursor.name, "id": cursor.user_id}
