"""Clicks on a joiner reminder: each returns the card that replaces the clicked one.

The clicker comes from the authenticated activity (`Caller`); `JoinerAnswers` and
`JoinerIssuing` authorise and record. A reminder whose pass was asked for shows the request's
own card (`RequestCards.card_for`), so it follows the request lifecycle like any request card;
the others are redrawn from what the store kept about the reminder, without Graph.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from botbuilder.schema import ConversationReference

from bot.domain.joiner_answers import (
    Answer,
    Answered,
    AnswerOutcome,
    JoinerAnswers,
    Refused,
    Unchanged,
)
from bot.domain.joiner_issue import IssueOutcome, JoinerIssuing, Requested
from bot.domain.joiners import JoinerEvent, JoinerState, local_today, stored_options
from bot.domain.outcomes import AwaitingApproval
from bot.domain.ports import Clock
from bot.domain.status import status_of
from bot.domain.workflow import Person
from bot.teams.board import TeamsBoard
from bot.teams.delivery_choices import delivery_choices
from bot.teams.identity import Caller
from bot.teams.joiner_reminders import OWN_CHAT, day_words, pass_terms
from bot.teams.request_cards import RequestCards
from cards.joiner import (
    JoinerReminderView,
    not_needed_card,
    out_of_date_card,
    reminder_card,
    snoozed_card,
)
from cards.request import when

Card = dict[str, Any]
# A reminder may sit in the helpdesk channel: a pass "to me" is never there.
SENT_TO_OWN_CHAT = "in your chat with tapbot"


class JoinerCards:
    """The reminder's buttons, backed by `JoinerAnswers` and `JoinerIssuing`."""

    def __init__(
        self,
        answers: JoinerAnswers,
        issuing: JoinerIssuing,
        request_cards: RequestCards,
        board: TeamsBoard,
        clock: Clock,
        timezone: ZoneInfo,
    ) -> None:
        self._answers = answers
        self._issuing = issuing
        self._request_cards = request_cards
        self._board = board
        self._clock = clock
        self._timezone = timezone

    async def not_needed(self, caller: Caller, data: Mapping[str, object]) -> Card:
        return await self._card(await self._answers.not_needed(caller.user_id, data))

    async def tomorrow(self, caller: Caller, data: Mapping[str, object]) -> Card:
        return await self._card(await self._answers.remind_tomorrow(caller.user_id, data))

    async def issue(
        self,
        caller: Caller,
        data: Mapping[str, object],
        place: tuple[ConversationReference, str] | None = None,
    ) -> Card:
        """ "Issue for day one"; *place* is where the reminder is, so the request's card there
        is updated while approvals run (like a submitted request card)."""
        outcome = await self._issuing.issue(Person(caller.user_id, caller.name), data)
        if isinstance(outcome, Requested):
            if isinstance(outcome.outcome, AwaitingApproval) and place is not None:
                await self._board.remember(outcome.outcome.request.id, "requester", *place)
            return self._request_cards.card_for(outcome.outcome, own_chat=SENT_TO_OWN_CHAT)
        return await self._card(outcome)

    async def _card(self, outcome: AnswerOutcome | IssueOutcome) -> Card:
        match outcome:
            case Answered(event, Answer.NOT_NEEDED) | Unchanged(event) if (
                event.state is JoinerState.NOT_NEEDED
            ):
                return not_needed_card(self._view(event))
            case Answered(event, Answer.SNOOZED) | Unchanged(event) if (
                event.state is JoinerState.SNOOZED
            ):
                return snoozed_card(self._view(event), tomorrow=self._remind_day(event))
            case Unchanged(event) if event.state is JoinerState.REQUESTED:
                return await self._requested(event)
            case Unchanged(event):
                return reminder_card(self._view(event))
            case Requested(_, request_outcome):
                return self._request_cards.card_for(request_outcome, own_chat=SENT_TO_OWN_CHAT)
            case Refused(text, _, event) if event is not None:
                return reminder_card(self._view(event, notice=text, attention=True))
            case Refused(text, _, _):
                return out_of_date_card(text)
        return out_of_date_card("This reminder is out of date.")  # pragma: no cover

    async def _requested(self, event: JoinerEvent) -> Card:
        """A reminder whose pass was asked for: the request's card, or the reminder again when
        its request ended without a pass (or never came to exist)."""
        standing = await self._issuing.standing(event)
        if isinstance(standing, Requested):
            return self._request_cards.card_for(standing.outcome, own_chat=SENT_TO_OWN_CHAT)
        request = await self._issuing.request_of(event)
        if request is not None:
            # It ended without a pass: say why; the reminder can be answered again.
            why = status_of(request, self._clock.now()).why
            notice = f"The last request for this pass ended without one. {why} You can ask again."
            return reminder_card(self._view(event, notice=notice, attention=True))
        return reminder_card(self._view(event))

    def _remind_day(self, event: JoinerEvent) -> str:
        remind_at = event.remind_at or self._clock.now()
        return day_words(remind_at.astimezone(self._timezone).date())

    def _view(
        self, event: JoinerEvent, *, notice: str = "", attention: bool = False
    ) -> JoinerReminderView:
        details = event.details
        today = local_today(self._clock.now(), self._timezone)
        joiner_name = _text(details, "joiner_name") or "The joiner"
        minutes = details.get("lifetime_minutes")
        return JoinerReminderView(
            joiner_id=event.joiner_id,
            hire_day=event.hire_day.isoformat(),
            joiner_name=joiner_name,
            starts_on=day_words(event.hire_day),
            days_until=(event.hire_day - today).days,
            day_one=self._day_one(details, event.hire_day),
            job_title=_text(details, "job_title"),
            department=_text(details, "department"),
            manager_name=_text(details, "manager_name"),
            helpdesk_reason=_text(details, "helpdesk_reason"),
            notice=notice or _text(details, "notice"),
            attention=attention or bool(_text(details, "notice")),
            terms=(
                pass_terms(minutes, details.get("one_time") is True)
                if isinstance(minutes, int) and not isinstance(minutes, bool)
                else ""
            ),
            deliveries=delivery_choices(stored_options(details), joiner_name, own_chat=OWN_CHAT),
        )

    def _day_one(self, details: Mapping[str, Any], day: date) -> str:
        try:
            return when(datetime.fromisoformat(_text(details, "starts_at")), self._timezone)
        except ValueError:
            return day_words(day)


def _text(details: Mapping[str, Any], key: str) -> str:
    value = details.get(key)
    return value if isinstance(value, str) else ""
