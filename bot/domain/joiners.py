"""Joiners: the values the sweep works with, and the calendar arithmetic it decides by (pure).

**Which day a hire date is.** Graph's ``employeeHireDate`` is a DateTimeOffset, always
returned in UTC, but organisations write two kinds of value into it:

- a *date*: midnight UTC of the calendar day (``2025-06-16T00:00:00Z``), what a date picker, a
  CSV import or a hand-written PATCH usually stores;
- a *moment*: the local start of the day (or any time) converted to UTC, what HR inbound
  provisioning writes (Workday's ``2025-06-16+02:00`` arrives as ``2025-06-15T22:00:00Z``).

tapbot reads a value whose UTC time is exactly 00:00:00 as a date: its UTC calendar day,
whatever ``TIMEZONE`` is (in New York it would otherwise fall on the evening before). Any other
value is a moment: its calendar day in ``TIMEZONE``. So ``2025-06-15T22:00:00Z`` is 16 June in
Europe/Berlin and 15 June in America/New_York, and ``2025-06-16T01:00:00Z`` (seed 002's
example) is 16 June in Europe/London but 15 June in America/New_York, where it is 21:00 the
evening before. Organisations west of UTC that store a time should store their local start of
day, as HR provisioning does.

**The window.** A sweep on day *today* (in ``TIMEZONE``) looks at joiners whose hire day is in
``[today - margin_days, today + days_ahead]``: everyone starting within the next
``JOINER_DAYS_AHEAD`` days, and, so that sweeps missed for a few days still catch them, those
who started at most ``JOINER_MARGIN_DAYS`` ago. Day counts are calendar days, so daylight
saving changes never move a joiner in or out of the window.

**Day one.** A pass for a joiner starts at the first instant of their hire day in
``TIMEZONE`` (a pass leaked earlier is useless until then), or now if that has passed.

**Who is really new.** A hire date and a personal email address are properties anyone with
write access to users can set (a User Administrator, the HR provisioning app), so they prove
nothing about a person being new: set on a long-standing employee, they would put them in the
joiner window with an address of the writer's choice. An account's ``createdDateTime`` is
written by Entra alone when the account is made, and never changes. ``JOINER_AUTO_ISSUE``
therefore asks for a pass without a person only for an account created at most
``JOINER_AUTO_MAX_ACCOUNT_AGE_DAYS`` days before the sweep (`is_new_account`); for any other,
or one whose creation time the directory does not give, a person answers the reminder.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.domain.delivery_options import CHAT_ONLY, DeliveryOption, DeliverySetup
from bot.domain.model import DeliveryMethod, DirectoryUser, TapRequest

_MIDNIGHT = time(0)


# Calendar arithmetic


def local_today(now: datetime, timezone: ZoneInfo) -> date:
    """The calendar day *now* falls on in *timezone*."""
    _aware(now)
    return now.astimezone(timezone).date()


def hire_day(hired: datetime, timezone: ZoneInfo) -> date:
    """The calendar day a hire date stands for (the module docstring says why, in full):
    midnight UTC is a date and means its UTC day; any other value is a moment, read in
    *timezone*."""
    _aware(hired)
    utc = hired.astimezone(UTC)
    if utc.timetz().replace(tzinfo=None) == _MIDNIGHT:
        return utc.date()
    return utc.astimezone(timezone).date()


def start_of_day(day: date, timezone: ZoneInfo) -> datetime:
    """The first instant of *day* in *timezone*, in UTC.

    Where a daylight-saving change skips midnight itself (clocks jump from 00:00 to 01:00),
    the day starts at the jump, which is what Python's ``fold=0`` gives for the missing time.
    """
    return datetime.combine(day, _MIDNIGHT, timezone).astimezone(UTC)


def day_one_start(day: date, timezone: ZoneInfo, now: datetime) -> datetime:
    """When a joiner's pass should start: the start of their hire *day*, or *now* once that
    has passed (Graph refuses a start in the past)."""
    _aware(now)
    return max(start_of_day(day, timezone), now.astimezone(UTC))


def local_moment(day: date, at: time, timezone: ZoneInfo) -> datetime:
    """*day* at wall-clock time *at* in *timezone*, in UTC.

    A time the spring daylight-saving change skips is read with the offset before the change,
    so it happens an hour later on the wall clock (01:30 on a day clocks go from 01:00 to
    02:00 is 02:30); a time the autumn change repeats is its first occurrence.
    """
    return datetime.combine(day, at.replace(tzinfo=None), timezone).astimezone(UTC)


@dataclass(frozen=True, slots=True)
class JoinerWindow:
    """The hire days one sweep looks at, and the UTC bounds that find them in the directory.

    *query_from* and *query_until* (both inclusive) cover every stored value that can stand for
    a day in ``[first_day, last_day]`` under `hire_day`'s rule, whichever way it was written;
    what they return beyond the window is sorted out by `JoinerWindow.place`.
    """

    today: date
    first_day: date
    last_day: date
    query_from: datetime
    query_until: datetime
    timezone: ZoneInfo = field(compare=False)

    def place(self, day: date) -> int | None:
        """Days from today to *day* (negative once started), or None outside the window."""
        if not self.first_day <= day <= self.last_day:
            return None
        return (day - self.today).days


def joiner_window(
    now: datetime, timezone: ZoneInfo, *, days_ahead: int, margin_days: int
) -> JoinerWindow:
    """The window of a sweep at *now*: hire days from *margin_days* before today to
    *days_ahead* after it, in *timezone* (see the module docstring)."""
    if days_ahead < 0 or margin_days < 0:
        raise ValueError("days_ahead and margin_days must not be negative")
    today = local_today(now, timezone)
    first = today - timedelta(days=margin_days)
    last = today + timedelta(days=days_ahead)
    after_last = last + timedelta(days=1)
    return JoinerWindow(
        today=today,
        first_day=first,
        last_day=last,
        query_from=min(datetime.combine(first, _MIDNIGHT, UTC), start_of_day(first, timezone)),
        query_until=max(
            datetime.combine(after_last, _MIDNIGHT, UTC), start_of_day(after_last, timezone)
        ),
        timezone=timezone,
    )


@dataclass(frozen=True, slots=True)
class JoinerConfig:
    """The joiner settings the domain needs (the composition root builds it from Settings).

    *departments*, *companies* and *group_id* narrow who counts as a joiner (empty: everyone).
    *pass_lifetime_minutes* and *pass_one_time* are what a day-one pass asks for (kept within
    the tenant policy when it is made); *delivery* is what the deployment can deliver with;
    *auto_issue* issues and emails without a click, only for an account created at most
    *auto_max_account_age_days* days before the sweep (`is_new_account`).
    """

    timezone: ZoneInfo
    days_ahead: int = 7
    margin_days: int = 2
    sweep_time: time = time(8)
    sweep_at_start: bool = True
    departments: tuple[str, ...] = ()
    companies: tuple[str, ...] = ()
    group_id: str = ""
    pass_lifetime_minutes: int = 480
    pass_one_time: bool = False
    delivery: DeliverySetup = CHAT_ONLY
    auto_issue: bool = False
    auto_max_account_age_days: int = 60


# What the directory says about a joiner


@dataclass(frozen=True, slots=True)
class Joiner:
    """A user the joiner query returned.

    ``user.employee_hire_date`` is None when the directory holds no hire date or one that
    cannot be read; *hire_date_text* is then what it holds, verbatim, for the audit trail.
    *created_at* is when Entra created the account (``createdDateTime``); None when the
    directory does not say (Entra leaves it empty for some accounts made before June 2018)
    or says something that cannot be read.
    """

    user: DirectoryUser
    department: str | None = None
    company_name: str | None = None
    hire_date_text: str | None = None
    created_at: datetime | None = None


def is_new_account(created_at: datetime | None, now: datetime, max_age_days: int) -> bool:
    """Whether an account created at *created_at* is new enough at *now* for a pass asked for
    without a person (``JOINER_AUTO_ISSUE``): created at most *max_age_days* days (of 24
    hours) before *now*. An unknown creation time (None) is not new. A creation time after
    *now* counts as new: Entra sets it, so it is only our clock lagging behind Entra's."""
    _aware(now)
    if created_at is None:
        return False
    _aware(created_at)
    return now - created_at <= timedelta(days=max_age_days)


class SkipReason(enum.StrEnum):
    """Why the sweep sends no reminder for a joiner. The value is the audited reason."""

    HIRE_DATE_MISSING = "hire_date_missing"
    HIRE_DATE_UNREADABLE = "hire_date_unreadable"
    HIRE_DATE_PAST = "hire_date_past"
    PASS_EXISTS = "pass_exists"  # noqa: S105  # a reason code, not a password
    ALREADY_HANDLED = "already_handled"
    NOT_ELIGIBLE = "not_eligible"


@dataclass(frozen=True, slots=True)
class Placement:
    """Where a joiner's hire date puts them: their *day* and how far it is from today."""

    day: date
    days_until: int


def place_joiner(joiner: Joiner, window: JoinerWindow) -> Placement | SkipReason | None:
    """Place *joiner* in *window*: a `Placement`, the `SkipReason` of a missing, unreadable or
    past hire date, or None for a hire day after the window (a later sweep's business)."""
    hired = joiner.user.employee_hire_date
    if hired is None:
        if joiner.hire_date_text:
            return SkipReason.HIRE_DATE_UNREADABLE
        return SkipReason.HIRE_DATE_MISSING
    day = hire_day(hired, window.timezone)
    if day < window.first_day:
        return SkipReason.HIRE_DATE_PAST
    days = window.place(day)
    return None if days is None else Placement(day, days)


# What the store keeps about each (joiner, hire day)


class JoinerState(enum.StrEnum):
    """Where one joiner event stands.

    ``open``: nothing sent (a skip or a failure released it); any sweep may claim it.
    ``claimed``: a sweep is deciding, under a lease; claimable again once the lease expired.
    ``sending``: the reminder is being sent. Never claimed again: a crash here leaves it
    ``unknown``, since sending again could make a second reminder.
    ``reminded``: the reminder went out. ``snoozed``: the recipient asked to be reminded
    later; claimable again from *remind_at*. ``not_needed``: the recipient said no pass is
    needed. ``unknown``: a send was interrupted; audited, never sent again. ``requested``: a
    pass was asked for from the reminder (a click, or ``JOINER_AUTO_ISSUE``); *details* name
    the request, which carries it on. Never claimed by a sweep again.
    """

    OPEN = "open"
    CLAIMED = "claimed"
    SENDING = "sending"
    REMINDED = "reminded"
    SNOOZED = "snoozed"
    NOT_NEEDED = "not_needed"
    UNKNOWN = "unknown"
    REQUESTED = "requested"


HANDLED_STATES = frozenset(
    {
        JoinerState.REMINDED,
        JoinerState.NOT_NEEDED,
        JoinerState.UNKNOWN,
        JoinerState.SNOOZED,
        JoinerState.REQUESTED,
    }
)


@dataclass(frozen=True, slots=True)
class JoinerEvent:
    """One joiner and one hire day: the unit sent exactly once.

    A changed hire date is a new event. *details* holds what the reminder card showed (names,
    job title, department, who it went to), so an answer can redraw the card without Graph.
    """

    joiner_id: str
    hire_day: date
    state: JoinerState
    created_at: datetime
    updated_at: datetime
    owner: str | None = None
    lease_until: datetime | None = None
    remind_at: datetime | None = None
    recipient: str | None = None
    recipient_id: str | None = None
    conversation_key: str | None = None
    activity_id: str | None = None
    reason: str | None = None
    attempts: int = 0
    version: int = 1
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class JoinerClaim:
    """The answer to a claim: *won* when this caller now holds the event (state ``claimed``)."""

    won: bool
    event: JoinerEvent


class SweepState(enum.StrEnum):
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class SweepRun:
    """The daily sweep of *day*: who runs it, until when, how it ended.

    While ``running``, *lease_until* is when another instance may take over; once ``failed``,
    when it may be retried.
    """

    day: date
    state: SweepState
    owner: str
    lease_until: datetime
    started_at: datetime
    finished_at: datetime | None = None
    summary: Mapping[str, Any] = field(default_factory=dict)


# What goes to the person who should act


class Recipient(enum.StrEnum):
    MANAGER = "manager"
    HELPDESK = "helpdesk"


class HelpdeskReason(enum.StrEnum):
    """Why a reminder went to the helpdesk channel instead of the manager."""

    NO_MANAGER = "no_manager"
    MANAGER_LEFT = "manager_left"
    MANAGER_UNREACHABLE = "manager_unreachable"


@dataclass(frozen=True, slots=True)
class Reminder:
    """A reminder to send: who starts when, and whom it is for.

    *manager* is None when the joiner has none; *helpdesk_reason* says why a helpdesk copy is
    being sent (None for the manager's own). *deliveries* are the ways the pass could travel
    (`joiner_deliveries`), *lifetime_minutes* and *one_time* the pass it would be. *request*
    is the request ``JOINER_AUTO_ISSUE`` already made (the card then says what happened);
    *notice* a line for the card (why an automatic pass was not made).
    """

    joiner_id: str
    joiner_name: str
    job_title: str | None
    department: str | None
    hire_day: date
    days_until: int
    starts_at: datetime
    manager: DirectoryUser | None
    helpdesk_reason: HelpdeskReason | None = None
    deliveries: tuple[DeliveryOption, ...] = ()
    lifetime_minutes: int = 0
    one_time: bool = False
    request: TapRequest | None = None
    notice: str = ""

    def details(self, recipient: Recipient) -> dict[str, Any]:
        """What the store keeps to redraw the card (JSON-shaped)."""
        request = {"request_id": self.request.id} if self.request else {}
        return request | {
            "joiner_name": self.joiner_name,
            "job_title": self.job_title or "",
            "department": self.department or "",
            "starts_at": self.starts_at.isoformat(),
            "manager_id": self.manager.id if self.manager else "",
            "manager_name": self.manager.display_name if self.manager else "",
            "recipient": recipient.value,
            "helpdesk_reason": self.helpdesk_reason.value if self.helpdesk_reason else "",
            "deliveries": [stored_option(o) for o in self.deliveries],
            "lifetime_minutes": self.lifetime_minutes,
            "one_time": self.one_time,
            "notice": self.notice,
        }


def stored_option(option: DeliveryOption) -> dict[str, Any]:
    """*option* as the store keeps it in an event's details (its destination is masked)."""
    return {
        "method": option.method.value,
        "available": option.available,
        "destination": option.destination,
        "why_not": option.why_not,
    }


def stored_options(details: Mapping[str, Any]) -> tuple[DeliveryOption, ...]:
    """The delivery options an event's *details* kept; what is not shaped right is left out
    (details written before they were kept have none)."""
    options: list[DeliveryOption] = []
    kept = details.get("deliveries")
    for item in kept if isinstance(kept, list) else []:
        if not isinstance(item, dict):
            continue
        try:
            method = DeliveryMethod(_str(item.get("method")))
        except ValueError:
            continue
        options.append(
            DeliveryOption(
                method,
                item.get("available") is True,
                destination=_str(item.get("destination")),
                why_not=_str(item.get("why_not")),
            )
        )
    return tuple(options)


def _str(value: object) -> str:
    return value if isinstance(value, str) else ""


@dataclass(frozen=True, slots=True)
class ReminderReceipt:
    """Where a reminder now sits (to update the card later)."""

    recipient: Recipient
    conversation_key: str
    activity_id: str


def _aware(moment: datetime) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("a timezone-aware datetime is required")
