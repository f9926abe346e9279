"""The "status" card's conversation: the asker's requests page by page, and "Cancel request".

Each action takes the authenticated caller and the card's untrusted data and returns the card
that replaces the clicked one. `MyRequests` reads only the caller's own requests and cancels
through the request lifecycle; this module turns its answers into words (names from the
directory as TextRuns, times in the bot's time zone) and reads the card's data back.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import structlog

from bot.domain.delivery_options import delivered_how
from bot.domain.errors import StoreError
from bot.domain.request_query import RequestCursor
from bot.domain.status import (
    Cancelled,
    CancelOutcome,
    CancelRefused,
    MyRequests,
    NotReposted,
    NotWaiting,
    Reposted,
    RepostOutcome,
    RequestStatus,
    Standing,
    StatusPage,
)
from bot.domain.telling import nobody_shown
from bot.domain.workflow import Person
from bot.teams.identity import Caller
from cards import TEAMS_MAX_CARD_BYTES, card_bytes
from cards.request import when
from cards.status import (
    BAD,
    CANCEL,
    GOOD,
    NEUTRAL,
    PAGE,
    REPOST,
    WAITING,
    StatusRow,
    StatusView,
    status_card,
    status_message_card,
)
from cards.text import Part, name, sentence

log = structlog.get_logger(__name__)

Card = dict[str, Any]
# What a row's button answers (`CancelOutcome`, `RepostOutcome`).
RowOutcome = TypeVar("RowOutcome")
_MAX_ID = 64
_MAX_TIME = 40
_MAX_REASON = 200
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
CANNOT_READ = "I couldn't read your requests just now. Please try again in a minute."
CANNOT_REPOST = (
    "Something went wrong while posting your request again, so I can't say whether it "
    "worked. Show your requests to see where it stands."
)
CANNOT_CANCEL = (
    "Something went wrong while cancelling, so I can't say whether it worked. Show your "
    "requests to see where it stands, and try again if it still waits."
)
HEADLINES: Mapping[Standing, tuple[str, str]] = {
    Standing.AWAITING_APPROVAL: ("Waiting for approval", WAITING),
    Standing.AWAITING_CONFIRMATION: ("Waiting for you", WAITING),
    Standing.CONFIRMATION_LAPSED: ("Not confirmed in time", NEUTRAL),
    Standing.ISSUING: ("Approved: the pass is being issued", WAITING),
    Standing.ISSUED: ("Issued", GOOD),
    Standing.DENIED: ("Denied", BAD),
    Standing.REFUSED: ("Refused", BAD),
    Standing.EXPIRED: ("Expired", BAD),
    Standing.CANCELLED: ("Cancelled", NEUTRAL),
    Standing.FAILED: ("Failed", BAD),
}


class StatusCards:
    """Cards for "status", backed by `MyRequests`."""

    def __init__(self, requests: MyRequests, timezone: ZoneInfo) -> None:
        self._requests = requests
        self._timezone = timezone
        self.actions = {PAGE: self.page, CANCEL: self.cancel, REPOST: self.repost}

    async def open(self, caller: Caller) -> Card:
        """The caller's newest requests (the "status" command)."""
        return await self._show(caller, None)

    async def page(self, caller: Caller, data: Mapping[str, object]) -> Card:
        """The page the card's buttons ask for: older than a request, newer than one, or the
        newest."""
        newer_than = _cursor(data, "after")
        if newer_than is not None:
            return await self._show(caller, None, newer_than=newer_than)
        return await self._show(caller, _cursor(data, "before"))

    async def cancel(self, caller: Caller, data: Mapping[str, object]) -> Card:
        """Cancel the request the row names, if it is the caller's and still waits; then draw
        the same page again with what happened on top."""
        cannot = ("I couldn't cancel your request", CANNOT_CANCEL)
        return await self._on_row(caller, data, self._requests.cancel, _cancelled, cannot)

    async def repost(self, caller: Caller, data: Mapping[str, object]) -> Card:
        """Post the approval card of the request the row names again, if it is the caller's
        and nobody was shown it; then draw the same page again with what happened on top."""
        cannot = ("I couldn't post your request again", CANNOT_REPOST)
        return await self._on_row(caller, data, self._requests.repost, _reposted, cannot)

    async def _on_row(
        self,
        caller: Caller,
        data: Mapping[str, object],
        act: Callable[[Person, str], Awaitable[RowOutcome]],
        said: Callable[[RowOutcome], tuple[Part, bool]],
        cannot: tuple[str, str],
    ) -> Card:
        """Do *act* to the request the row names, as the caller; then draw the same page again
        with what happened on top, in the words *said* gives (and whether it is bad news)."""
        request_id = _request_id(data, "request_id")
        try:
            outcome = await act(Person(caller.user_id, caller.name), request_id)
        except StoreError:
            log.warning("a status card action failed in the store", action=cannot[0])
            return status_message_card(*cannot)
        notice, bad = said(outcome)
        return await self._show(caller, _cursor(data, "before"), notice=notice, bad=bad)

    async def _show(
        self,
        caller: Caller,
        older_than: RequestCursor | None,
        *,
        newer_than: RequestCursor | None = None,
        notice: Part = "",
        bad: bool = False,
    ) -> Card:
        try:
            page = await self._requests.page(
                caller.user_id, older_than=older_than, newer_than=newer_than
            )
        except StoreError:
            log.warning("reading requests for the status card failed")
            return status_message_card("I can't show your requests right now", CANNOT_READ)
        return self._card(page, notice, bad)

    def _card(self, page: StatusPage, notice: Part, bad: bool) -> Card:
        """The page as a card; rows from the end move to the next page until it fits Teams'
        size limit (very long names and reasons), so nothing is skipped."""
        statuses, older = list(page.statuses), page.older
        while True:
            card = status_card(
                StatusView(
                    rows=[self.row(status) for status in statuses],
                    here=_cursor_data("before", page.older_than),
                    older=_cursor_data("before", older) if older else None,
                    newer=_cursor_data("after", page.newer) if page.newer else None,
                    notice=notice,
                    notice_bad=bad,
                )
            )
            if len(statuses) <= 1 or card_bytes(card) <= TEAMS_MAX_CARD_BYTES:
                return card
            statuses.pop()
            older = RequestCursor.at(statuses[-1].request)

    def row(self, status: RequestStatus) -> StatusRow:
        """*status* in words: its headline, colour and sentences."""
        request = status.request
        headline, colour = HEADLINES[status.standing]
        return StatusRow(
            request_id=request.id,
            target_name=request.target_name,
            asked=self._when(request.created_at),
            headline=headline,
            lines=self.describe(status),
            colour=colour,
            can_cancel=status.can_cancel,
            can_repost=status.can_repost,
        )

    def describe(self, status: RequestStatus) -> list[Part]:
        """Where *status*'s request stands, in sentences for the person who asked."""
        request = status.request
        person = name(request.target_name)
        until = self._when(status.until) if status.until else ""
        match status.standing:
            case Standing.AWAITING_APPROVAL if status.unseen:
                return [nobody_shown(request, None, button_here=True)]
            case Standing.AWAITING_APPROVAL:
                step = f"Step {request.stage} of {len(request.stages)}: " if request.stages else ""
                # Who may decide names people (the requester, earlier deciders).
                who = name(status.waiting_for or "an approver")
                by = f", until {until}" if until else ""
                return [
                    sentence(f"{step}waiting for ", who, f" to decide{by}."),
                    "If nobody decides in time, it expires and no pass is issued.",
                ]
            case Standing.AWAITING_CONFIRMATION:
                return [
                    sentence(
                        person,
                        " already has a pass. Waiting for you to confirm replacing it on the "
                        f"request card, until {until}; nothing is replaced until you do.",
                    )
                ]
            case Standing.CONFIRMATION_LAPSED:
                return [
                    sentence(
                        "You didn't confirm replacing the pass ",
                        person,
                        f" already has by {until}, so nothing was replaced and no pass was issued.",
                    )
                ]
            case Standing.ISSUING:
                return ["It was approved; the pass is being created and delivered now."]
            case Standing.ISSUED:
                return [self._issued(status)]
            case Standing.DENIED:
                return [self._denied(status)]
            case Standing.REFUSED:
                return [
                    "It was refused when the rules were checked again before issuing:",
                    status.why,
                ]
            case Standing.EXPIRED | Standing.CANCELLED | Standing.FAILED:
                return [status.why]

    def _issued(self, status: RequestStatus) -> Part:
        request = status.request
        how = delivered_how(
            request.delivery, destination=request.delivered_to, target_name=request.target_name
        )
        ends = status.until
        if ends is None:
            return f"The pass was issued and {how}."
        end = self._when(ends)
        if status.pass_over:
            return f"The pass was issued and {how}; it was valid until {end}."
        if request.start_at is not None:
            start = self._when(request.start_at)
            return f"The pass was issued and {how}, valid from {start} until {end}."
        return f"The pass was issued and {how}, valid until {end}."

    def _denied(self, status: RequestStatus) -> Part:
        denial = status.denial
        if denial is None:
            return "It was denied, so no pass was issued."
        on = self._when(denial.at)
        parts: list[Part] = ["Denied by ", name(denial.decider_name), f" on {on}"]
        if denial.reason:
            parts += [": ", name(_shortened(denial.reason))]
        return sentence(*parts, ". No pass was issued.")

    def _when(self, moment: datetime) -> str:
        return when(moment, self._timezone)


def _cancelled(outcome: CancelOutcome) -> tuple[Part, bool]:
    match outcome:
        case Cancelled(status):
            return sentence(
                "Your request for ",
                name(status.request.target_name),
                " is cancelled: no pass will be issued.",
            ), False
        case NotWaiting(status):
            return _nothing_done("cancelled", status), True
        case CancelRefused(text):
            return text, True


def _nothing_done(done: str, status: RequestStatus) -> Part:
    """Says nothing was *done*, and why: the request no longer waits, or (still waiting) was
    already shown to whoever can decide it."""
    headline, _ = HEADLINES[status.standing]
    why = (
        " was already shown to whoever can decide it."
        if status.standing is Standing.AWAITING_APPROVAL
        else f" isn't waiting any more ({headline.lower()})."
    )
    return sentence(f"Nothing was {done}: your request for ", name(status.request.target_name), why)


def _reposted(outcome: RepostOutcome) -> tuple[Part, bool]:
    match outcome:
        case Reposted(status) if not status.unseen:
            return sentence(
                "Your request for ",
                name(status.request.target_name),
                " was posted again: ",
                name(status.waiting_for or "an approver"),
                " can decide it now.",
            ), False
        case Reposted(status):
            return sentence(
                "Still nobody could be shown your request for ",
                name(status.request.target_name),
                ": see below.",
            ), True
        case NotReposted(_, RequestStatus() as status):
            return _nothing_done("posted", status), True
        case NotReposted(text, _):
            return text, True


def _shortened(reason: str) -> str:
    """A typed reason cut to what a row has room for (the request's own card has it all)."""
    return reason if len(reason) <= _MAX_REASON else reason[: _MAX_REASON - 1].rstrip() + "…"


def _text(data: Mapping[str, object], key: str, limit: int) -> str:
    value = data.get(key)
    return value.strip() if isinstance(value, str) and 0 < len(value) <= limit else ""


def _request_id(data: Mapping[str, object], key: str) -> str:
    """A request id from the card: tapbot's ids are GUIDs, so anything else ("" here) names
    no request."""
    value = _text(data, key, _MAX_ID)
    return value if _ID.fullmatch(value) else ""


def _cursor(data: Mapping[str, object], side: str) -> RequestCursor | None:
    """The cursor the card carries under ``<side>_at`` and ``<side>_id``; None when absent or
    malformed (the card is untrusted: a bad cursor shows the newest page)."""
    at, request_id = _text(data, f"{side}_at", _MAX_TIME), _request_id(data, f"{side}_id")
    if not (at and request_id):
        return None
    try:
        moment = datetime.fromisoformat(at)
        if moment.tzinfo is None or moment.utcoffset() is None:
            return None
        moment = moment.astimezone(UTC)
    except (ValueError, OverflowError):
        return None
    return RequestCursor(moment, request_id)


def _cursor_data(side: str, cursor: RequestCursor | None) -> dict[str, str]:
    if cursor is None:
        return {}
    return {f"{side}_at": cursor.created_at.isoformat(), f"{side}_id": cursor.id}
