"""The approval card's buttons: Review (the personal form, also Teams' automatic refresh),
Approve and Deny.

Every click is authorised on the server (`RequestService.decide`), whatever the card showed;
a click that changes nothing gets the card back with a line saying why, in words.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo

from bot.domain.deciding import decision_refusal_text
from bot.domain.errors import DirectoryError
from bot.domain.outcomes import Decided, Failed, Refused
from bot.domain.ports import Store
from bot.domain.workflow import Person, RequestService
from bot.teams.identity import Caller
from bot.teams.views import approval_view
from cards.approval import approval_card
from cards.request import outcome_card

Card = dict[str, Any]
GONE = "This request no longer exists, so there is nothing to decide."
UNCHECKED = (
    "I couldn't check with Microsoft Entra whether you may decide this. Please try again in a "
    "minute."
)


class ApprovalCards:
    """Review, Approve and Deny on approval cards, backed by `RequestService`."""

    def __init__(self, requests: RequestService, store: Store, timezone: ZoneInfo) -> None:
        self._requests = requests
        self._store = store
        self._timezone = timezone

    async def review(self, caller: Caller, data: Mapping[str, object]) -> Card:
        """The card as *caller* may act on it: with the buttons if they may decide now."""
        request = await self._store.get_request(_text(data, "request_id"))
        if request is None:
            return outcome_card("Nothing to decide", [GONE])
        view = approval_view(request, self._timezone)
        if not view.pending:
            return approval_card(view)
        try:
            refusal = await self._requests.may_decide(Person(caller.user_id, caller.name), request)
        except DirectoryError:
            return approval_card(view, notice=UNCHECKED)
        if refusal is not None:
            return approval_card(view, notice=decision_refusal_text(refusal))
        return approval_card(view, buttons=True)

    async def approve(self, caller: Caller, data: Mapping[str, object]) -> Card:
        return await self._decide(caller, data, approve=True)

    async def deny(self, caller: Caller, data: Mapping[str, object]) -> Card:
        return await self._decide(caller, data, approve=False)

    async def _decide(self, caller: Caller, data: Mapping[str, object], *, approve: bool) -> Card:
        request_id = _text(data, "request_id")
        stage_text = _text(data, "stage")
        stage = int(stage_text) if stage_text.isascii() and stage_text.isdigit() else -1
        outcome = await self._requests.decide(
            Person(caller.user_id, caller.name),
            request_id,
            stage,
            approve=approve,
            reason=_text(data, "reason", limit=2000),
        )
        match outcome:
            case Decided(request, _):
                return approval_card(approval_view(request, self._timezone))
            case Refused(_, text, request) if request is not None:
                return approval_card(approval_view(request, self._timezone), notice=text)
            case Refused(_, text, _):
                return outcome_card("Nothing changed", [text], attention=True)
            case Failed(request, text) if request is not None:
                return approval_card(approval_view(request, self._timezone), notice=text)
        return outcome_card("Nothing changed", [GONE], attention=True)


def _text(data: Mapping[str, object], key: str, *, limit: int = 64) -> str:
    value = data.get(key)
    return value if isinstance(value, str) and len(value) <= limit else ""
