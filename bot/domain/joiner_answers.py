"""Answers to a joiner reminder: "Not needed" and "Remind me tomorrow" (and who may answer:
"Issue for day one" is `bot.domain.joiner_issue`).

The clicker comes from the authenticated activity; the card only names the event (joiner id
and hire day), and that is untrusted. At click time the clicker must still be the joiner's
manager in the directory, or a member of the helpdesk group. Every answer and every refusal
is audited. Answers are compare-and-set in the store, so two clicks (two copies of the card,
two instances) give one answer; the later click sees the event as it now stands.
"""

from __future__ import annotations

import asyncio
import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from bot.domain.audit import Auditor
from bot.domain.errors import DirectoryError, DirectoryObjectNotFound, StoreConflict
from bot.domain.joiners import (
    JoinerConfig,
    JoinerEvent,
    JoinerState,
    hire_day,
    local_today,
    start_of_day,
)
from bot.domain.model import RateLimit
from bot.domain.policy import REQUESTER_WINDOW
from bot.domain.ports import Clock, Directory, Store

_ID = re.compile(r"^[A-Za-z0-9-]{1,64}$")
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class Answer(enum.StrEnum):
    NOT_NEEDED = "not_needed"
    SNOOZED = "snoozed"


@dataclass(frozen=True, slots=True)
class Answered:
    """The answer was taken: *event* as it now is."""

    event: JoinerEvent
    answer: Answer


@dataclass(frozen=True, slots=True)
class Unchanged:
    """Nothing was changed: *event* as it stands (answered already, or just shown)."""

    event: JoinerEvent


@dataclass(frozen=True, slots=True)
class Refused:
    """The click was refused; *text* says why, in words for the clicker. *event* is the one
    the card names, when it exists and the clicker may see it (or, when the directory could
    not tell, may be someone who can: a forged click cannot make Graph fail)."""

    text: str
    reason: str
    event: JoinerEvent | None = None


AnswerOutcome = Answered | Unchanged | Refused

OUT_OF_DATE = "This reminder is out of date. Type help to see what you can do."
NOT_YOURS = "Only the joiner's manager or the helpdesk can answer this reminder."
CANNOT_CHECK = (
    "I couldn't check in the directory that you may answer this reminder. Please try again in "
    "a minute."
)
# Each click reads the directory before anything else is known about the clicker: a busy
# helpdesk clicks often, a script naming joiners must not spend the tenant's Graph budget.
ANSWERS_PER_PERSON_PER_HOUR = 300
SLOW_DOWN = (
    "You've answered joiner reminders very often in the last hour, so I'm pausing for a while "
    "to spare Microsoft Entra. Please try again later."
)


class JoinerAnswers:
    """Takes answers to reminders. *helpdesk_group_id* empty: only managers may answer."""

    def __init__(
        self,
        *,
        directory: Directory,
        store: Store,
        auditor: Auditor,
        clock: Clock,
        config: JoinerConfig,
        helpdesk_group_id: str,
    ) -> None:
        self._directory = directory
        self._store = store
        self._audit = auditor
        self._clock = clock
        self._config = config
        self._helpdesk = helpdesk_group_id

    async def not_needed(self, clicker_id: str, data: Mapping[str, object]) -> AnswerOutcome:
        """Mark the reminder's event not needed: no pass will be suggested for that hire day."""
        event = await self.authorise(clicker_id, data, "not_needed")
        if not isinstance(event, JoinerEvent):
            return event
        return await self._answer(
            clicker_id, event, Answer.NOT_NEEDED, [JoinerState.REMINDED, JoinerState.SNOOZED]
        )

    async def remind_tomorrow(self, clicker_id: str, data: Mapping[str, object]) -> AnswerOutcome:
        """Snooze the event until the start of tomorrow (in ``TIMEZONE``): the first sweep of
        tomorrow sends a fresh reminder. Refused when tomorrow is past the last day the
        joiner is still reminded about."""
        event = await self.authorise(clicker_id, data, "remind_tomorrow")
        if not isinstance(event, JoinerEvent):
            return event
        tomorrow = local_today(self._clock.now(), self._config.timezone) + timedelta(days=1)
        last = event.hire_day + timedelta(days=self._config.margin_days)
        if tomorrow > last:
            await self._refusal(clicker_id, event.joiner_id, "too_late", event.hire_day)
            return Refused(
                "Tomorrow is too late for a reminder about this joiner. If they still need a "
                "pass, type request.",
                "too_late",
                event,
            )
        return await self._answer(
            clicker_id, event, Answer.SNOOZED, [JoinerState.REMINDED], snooze_until=tomorrow
        )

    async def show(self, clicker_id: str, data: Mapping[str, object]) -> AnswerOutcome:
        """The event the card names, if the clicker may act on it (nothing changes)."""
        event = await self.authorise(clicker_id, data, "show")
        return Unchanged(event) if isinstance(event, JoinerEvent) else event

    async def _answer(
        self,
        clicker_id: str,
        event: JoinerEvent,
        answer: Answer,
        expected: list[JoinerState],
        *,
        snooze_until: date | None = None,
    ) -> AnswerOutcome:
        now = self._clock.now()
        answered = {"answered_by": clicker_id, "answered_at": now.isoformat()}
        changes: dict[str, object] = {"details": dict(event.details) | answered}
        detail = {"hire_day": event.hire_day.isoformat()}
        if snooze_until is not None:
            remind_at = start_of_day(snooze_until, self._config.timezone)
            changes["remind_at"] = remind_at
            detail["remind_at"] = remind_at.isoformat()
        new_state = JoinerState.NOT_NEEDED if answer is Answer.NOT_NEEDED else JoinerState.SNOOZED
        try:
            moved = await self._store.move_joiner(
                event.joiner_id,
                event.hire_day,
                expected=expected,
                new_state=new_state,
                at=now,
                changes=changes,
            )
        except StoreConflict:
            current = await self._store.get_joiner(event.joiner_id, event.hire_day)
            return Unchanged(current or event)
        await self._audit.record(
            "joiner", answer.value, actor_id=clicker_id, target_id=event.joiner_id, detail=detail
        )
        return Answered(moved, answer)

    async def authorise(
        self, clicker_id: str, data: Mapping[str, object], action: str
    ) -> JoinerEvent | Refused:
        """The event *data* names, when *clicker_id* may act on it now (the joiner's manager
        in the directory, or a helpdesk member); else the refusal, audited with *action*."""
        joiner_id, day_text = data.get("joiner_id"), data.get("hire_day")
        if not (
            isinstance(joiner_id, str)
            and _ID.match(joiner_id)
            and isinstance(day_text, str)
            and _DAY.match(day_text)
        ):
            await self._refusal(clicker_id, None, "invalid_input", None, action)
            return Refused(OUT_OF_DATE, "invalid_input")
        try:
            day = date.fromisoformat(day_text)
        except ValueError:
            await self._refusal(clicker_id, joiner_id, "invalid_input", None, action)
            return Refused(OUT_OF_DATE, "invalid_input")
        event = await self._store.get_joiner(joiner_id, day)
        if event is None:
            await self._refusal(clicker_id, joiner_id, "unknown_event", day, action)
            return Refused(OUT_OF_DATE, "unknown_event")
        now = self._clock.now()
        limit = RateLimit(ANSWERS_PER_PERSON_PER_HOUR, now - REQUESTER_WINDOW)
        if not await self._store.admit("joiner_answer", clicker_id, at=now, limit=limit):
            await self._refusal(clicker_id, joiner_id, "rate_limited", day, action)
            return Refused(SLOW_DOWN, "rate_limited")
        try:
            allowed = await self._may_answer(clicker_id, joiner_id)
        except DirectoryError as error:
            await self._refusal(clicker_id, joiner_id, "directory_unavailable", day, action)
            return Refused(CANNOT_CHECK, error.code or "directory_unavailable", event)
        if not allowed:
            await self._refusal(clicker_id, joiner_id, "not_manager_or_helpdesk", day, action)
            # Without the event: the click may be forged (a joiner's id and a guessed day), and
            # the reminder names the joiner, their job and where their pass could go.
            return Refused(NOT_YOURS, "not_manager_or_helpdesk")
        return event

    async def hire_day_moved(self, clicker_id: str, event: JoinerEvent) -> Refused | None:
        """Refused (audited ``hire_date_changed``) when the joiner's hire date in the directory
        no longer falls on *event*'s day: a pass from this reminder would start on a day that
        is not their first, and the sweep reminds about the new day as a new event. None when
        it still does; a joiner who is gone is left to the request's own check."""
        try:
            joiner = await self._directory.get_user(event.joiner_id)
        except DirectoryObjectNotFound:
            return None
        except DirectoryError as error:
            await self._refusal(
                clicker_id, event.joiner_id, "directory_unavailable", event.hire_day, "issue"
            )
            return Refused(CANNOT_CHECK, error.code or "directory_unavailable", event)
        hired = joiner.employee_hire_date
        day = hire_day(hired, self._config.timezone) if hired is not None else None
        if day == event.hire_day:
            return None
        await self._refusal(
            clicker_id,
            event.joiner_id,
            "hire_date_changed",
            event.hire_day,
            "issue",
            now=day.isoformat() if day is not None else "none",
        )
        if day is None:
            text = (
                "This joiner no longer has a start date in the directory, so I can't tell "
                "when their pass should start. If they still need one, type request."
            )
        else:
            today = local_today(self._clock.now(), self._config.timezone)
            then = (
                "I'll send a reminder for the new date before it; if they need a pass sooner, "
                "type request."
                if day > today
                else "If they still need a pass, type request."
            )
            text = (
                f"This joiner's start date in the directory has changed to {day:%A} {day.day} "
                f"{day:%B %Y}, so a pass from this reminder would start on the wrong day. {then}"
            )
        return Refused(text, "hire_date_changed")

    async def _may_answer(self, clicker_id: str, joiner_id: str) -> bool:
        """True when *clicker_id* is the joiner's manager now, or in the helpdesk group."""

        async def helpdesk() -> bool:
            if not self._helpdesk:
                return False
            return self._helpdesk in await self._directory.member_of_groups(
                clicker_id, [self._helpdesk]
            )

        manager, is_helpdesk = await asyncio.gather(
            self._directory.get_manager(joiner_id), helpdesk()
        )
        return (manager is not None and manager.id == clicker_id) or is_helpdesk

    async def _refusal(
        self,
        clicker_id: str,
        joiner_id: str | None,
        reason: str,
        day: date | None,
        action: str = "",
        **extra: str,
    ) -> None:
        detail = ({"action": action} if action else {}) | extra
        if day is not None:
            detail["hire_day"] = day.isoformat()
        await self._audit.record(
            "joiner_answer",
            "refused",
            actor_id=clicker_id,
            target_id=joiner_id,
            reason=reason,
            detail=detail,
        )
