"""Clicks on a joiner reminder: each returns the card that replaces the clicked one.

The clicker comes from the authenticated activity (`Caller`); `JoinerAnswers` authorises and
records. Cards are redrawn from what the store kept about the reminder, without Graph.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.domain.joiner_answers import (
    Answer,
    Answered,
    AnswerOutcome,
    JoinerAnswers,
    Refused,
    Unchanged,
)
from bot.domain.joiners import JoinerEvent, JoinerState, local_today
from bot.domain.ports import Clock
from bot.teams.identity import Caller
from bot.teams.joiner_reminders import day_words
from cards.joiner import (
    JoinerReminderView,
    not_needed_card,
    out_of_date_card,
    reminder_card,
    snoozed_card,
)
from cards.request import when

Card = dict[str, Any]
ISSUE_LATER = (
    "Issuing straight from this reminder comes in the next version of tapbot. For now, the "
    "joiner's manager can type request, choose them and set the start to their first day."
)


class JoinerCards:
    """The reminder's buttons, backed by `JoinerAnswers`."""

    def __init__(self, answers: JoinerAnswers, clock: Clock, timezone: ZoneInfo) -> None:
        self._answers = answers
        self._clock = clock
        self._timezone = timezone

    async def not_needed(self, caller: Caller, data: Mapping[str, object]) -> Card:
        return self._card(await self._answers.not_needed(caller.user_id, data))

    async def tomorrow(self, caller: Caller, data: Mapping[str, object]) -> Card:
        return self._card(await self._answers.remind_tomorrow(caller.user_id, data))

    async def issue(self, caller: Caller, data: Mapping[str, object]) -> Card:
        outcome = await self._answers.show(caller.user_id, data)
        if isinstance(outcome, Unchanged) and outcome.event.state is JoinerState.REMINDED:
            return reminder_card(self._view(outcome.event, notice=ISSUE_LATER))
        return self._card(outcome)

    def _card(self, outcome: AnswerOutcome) -> Card:
        match outcome:
            case Answered(event, Answer.NOT_NEEDED) | Unchanged(event) if (
                event.state is JoinerState.NOT_NEEDED
            ):
                return not_needed_card(self._view(event))
            case Answered(event, Answer.SNOOZED) | Unchanged(event) if (
                event.state is JoinerState.SNOOZED
            ):
                return snoozed_card(self._view(event), tomorrow=self._remind_day(event))
            case Unchanged(event):
                return reminder_card(self._view(event))
            case Refused(text, _, event) if event is not None:
                return reminder_card(self._view(event, notice=text, attention=True))
            case Refused(text, _, _):
                return out_of_date_card(text)
        return out_of_date_card("This reminder is out of date.")  # pragma: no cover

    def _remind_day(self, event: JoinerEvent) -> str:
        remind_at = event.remind_at or self._clock.now()
        return day_words(remind_at.astimezone(self._timezone).date())

    def _view(
        self, event: JoinerEvent, *, notice: str = "", attention: bool = False
    ) -> JoinerReminderView:
        details = event.details
        today = local_today(self._clock.now(), self._timezone)
        return JoinerReminderView(
            joiner_id=event.joiner_id,
            hire_day=event.hire_day.isoformat(),
            joiner_name=_text(details, "joiner_name") or "The joiner",
            starts_on=day_words(event.hire_day),
            days_until=(event.hire_day - today).days,
            day_one=self._day_one(details, event.hire_day),
            job_title=_text(details, "job_title"),
            department=_text(details, "department"),
            manager_name=_text(details, "manager_name"),
            helpdesk_reason=_text(details, "helpdesk_reason"),
            notice=notice,
            attention=attention,
        )

    def _day_one(self, details: Mapping[str, Any], day: date) -> str:
        try:
            return when(datetime.fromisoformat(_text(details, "starts_at")), self._timezone)
        except ValueError:
            return day_words(day)


def _text(details: Mapping[str, Any], key: str) -> str:
    value = details.get(key)
    return value if isinstance(value, str) else ""
