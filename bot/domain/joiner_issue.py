"""A joiner's day-one pass, from their reminder: one click, or none (``JOINER_AUTO_ISSUE``).

The pass is a request like any other (`RequestService.submit`): the same rules, rate limits,
approvals, audit, re-check before creation and delivery. The joiner's manager asks as kind
``joiner`` (no approval, unless the manager changed recently); a helpdesk member answering the
helpdesk's copy asks as the helpdesk, with its approvals. This module turns the reminder into
the request's form and keeps the reminder's event in step with it:

- **The form.** The joiner; a start at the first instant of the hire day in ``TIMEZONE`` (now,
  once that has passed); the length and one-time use the reminder showed, worked out from
  ``JOINER_PASS_LIFETIME_MINUTES`` and ``JOINER_PASS_ONE_TIME`` within the tenant policy when
  the reminder was made (the submit checks them against the policy as it is now); the delivery
  chosen on the card, checked again now, never taken on the card's word; a reason saying what
  it is.
- **The event.** It moves to ``requested`` before the request is made (compare-and-set), its
  ``owner`` the request's id, so two clicks on two instances make one request. A submit that
  stored nothing (refused, or Entra failing) moves it back to ``reminded`` (``snoozed`` if it
  was), so the reminder can be answered again. A request that ended without a pass (failed,
  denied, expired, cancelled) leaves the reminder answerable too: the next click is a new
  attempt, with a new request.
  A click that died between the two leaves ``requested`` with no request; after
  `CLICK_LEASE` the next click takes it over.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from bot.domain.audit import Auditor
from bot.domain.delivery_options import (
    ChatReach,
    DeliveryOption,
    delivery_options,
)
from bot.domain.errors import StoreConflict
from bot.domain.joiner_answers import JoinerAnswers, Refused, Unchanged
from bot.domain.joiners import (
    JoinerConfig,
    JoinerEvent,
    JoinerState,
    Reminder,
    is_new_account,
    start_of_day,
    stored_options,
)
from bot.domain.model import DeliveryMethod, DirectoryUser, RequestState, TapPolicy, TapRequest
from bot.domain.offers import RequestOffers
from bot.domain.outcomes import (
    AwaitingApproval,
    ConfirmReplace,
    Failed,
    Issued,
    Outcome,
    request_id_for,
)
from bot.domain.outcomes import Refused as RequestRefused
from bot.domain.outcomes import Unchanged as RequestUnchanged
from bot.domain.policy import PolicyConfig, Refusal, lifetime_bounds, one_time_forced
from bot.domain.ports import ChatReachability, Clock, Store
from bot.domain.request_form import RequestForm
from bot.domain.workflow import Person, RequestService

# How long a click holds the event before its request exists; a click that died is taken over
# after it (the request is made within seconds, Graph retries included).
CLICK_LEASE = timedelta(minutes=2)
# A joiner cannot sign in to Teams before they have a pass: their own chat is never offered.
NO_SIGN_IN_YET = "they can't sign in to Teams before they have their pass"
ENDED_WITHOUT_PASS = frozenset(
    {RequestState.FAILED, RequestState.DENIED, RequestState.EXPIRED, RequestState.CANCELLED}
)
BUSY = "Someone is issuing this pass right now. Look again in a minute."
NO_CHAT_WITH_YOU = "I have no chat with you to send it to; open a chat with me first"
AUTOMATIC_LIMIT = (
    "I had already asked for as many automatic passes in your name in the last hour as one "
    "person may ask for. Choose how it should travel and click Issue for day one."
)


@dataclass(frozen=True, slots=True)
class Requested:
    """A request carries the joiner's pass on: *event* as it now is, *outcome* the request's
    (as the submit answered, or where the request stands)."""

    event: JoinerEvent
    outcome: Outcome


IssueOutcome = Requested | Unchanged | Refused


def joiner_deliveries(joiner: DirectoryUser, config: JoinerConfig) -> tuple[DeliveryOption, ...]:
    """The ways a joiner's pass can travel, worked out when the reminder is made: to the
    person who answers, in their chat with tapbot; by text message to the joiner's directory
    mobile; by email (``MAIL_TO``). Never their own Teams chat (`NO_SIGN_IN_YET`), and no typed
    numbers (the card has no number box)."""
    setup = dataclasses.replace(config.delivery, typed_numbers=False)
    return tuple(_for_joiner(o) for o in delivery_options(joiner, setup, ChatReach()))


def joiner_terms(policy: TapPolicy, config: PolicyConfig, joiner: JoinerConfig) -> tuple[int, bool]:
    """The length (minutes) and one-time use of a day-one pass: the joiner settings, brought
    inside what the tenant policy and the organisation allow (unchanged when nothing is)."""
    minutes = joiner.pass_lifetime_minutes
    bounds = lifetime_bounds(policy, config)
    if bounds is not None:
        minutes = min(max(minutes, bounds[0]), bounds[1])
    return minutes, joiner.pass_one_time or one_time_forced(policy, config)


class JoinerIssuing:
    """Makes the request for a joiner's day-one pass (see the module docstring). *reach* tells
    whether the clicker has a chat with tapbot, for the pass "to me": a reminder in the
    helpdesk channel may be answered by someone who has none."""

    def __init__(
        self,
        *,
        answers: JoinerAnswers,
        requests: RequestService,
        store: Store,
        auditor: Auditor,
        clock: Clock,
        config: JoinerConfig,
        offers: RequestOffers,
        reach: ChatReachability | None = None,
    ) -> None:
        self._answers = answers
        self._reach = reach
        self._requests = requests
        self._store = store
        self._audit = auditor
        self._clock = clock
        self._config = config
        self._offers = offers

    async def issue(self, clicker: Person, data: Mapping[str, object]) -> IssueOutcome:
        """ "Issue for day one", clicked by *clicker* (from the authenticated activity) on the
        reminder *data* names, with the delivery chosen on it."""
        event = await self._answers.authorise(clicker.id, data, "issue")
        if isinstance(event, Refused):
            return event
        standing = await self.standing(event)
        if standing is not None:
            return await self._audited(clicker, standing)
        moved = await self._answers.hire_day_moved(clicker.id, event)
        if moved is not None:
            return moved
        method = _method(data.get("delivery"))
        refusal = await self._undeliverable(clicker, event, method)
        if refusal is not None:
            return refusal
        assert method is not None  # _undeliverable refuses a missing one
        attempt = _attempt(event.details) + 1
        form = self._form(event, method, attempt)
        request_id = request_id_for(clicker.id, form.form_id)
        claimed = await self._claim(event, clicker, request_id, attempt)
        if not isinstance(claimed, JoinerEvent):
            return await self._audited(clicker, claimed)
        outcome = await self._requests.submit(clicker, form, joiner=True)
        if _stored_nothing(outcome):
            return await self._release(claimed, request_id, outcome, before=event.state)
        await self._audit.record(
            "joiner",
            "requested",
            actor_id=clicker.id,
            target_id=event.joiner_id,
            request_id=request_id,
            detail={"hire_day": event.hire_day.isoformat(), "delivery": method.value},
        )
        return Requested(claimed, outcome)

    async def standing(self, event: JoinerEvent) -> Requested | Unchanged | Refused | None:
        """Where a reminder's pass stands when it cannot be asked for now: its request (still
        on, or delivered), a click under way, or the event answered otherwise; None when a
        pass may be asked for (reminded, snoozed, or its last request ended without a pass)."""
        if event.state in (JoinerState.REMINDED, JoinerState.SNOOZED):
            return None
        if event.state is not JoinerState.REQUESTED:
            return Unchanged(event)
        request = await self._store.get_request(event.owner) if event.owner else None
        if request is None:
            lease = event.lease_until
            if lease is not None and lease > self._clock.now():
                return Refused(BUSY, "in_progress", event)
            return None
        if request.state in ENDED_WITHOUT_PASS:
            return None
        return Requested(event, RequestUnchanged(request))

    async def request_of(self, event: JoinerEvent) -> TapRequest | None:
        """The request a ``requested`` event names, if it exists."""
        if event.state is not JoinerState.REQUESTED or not event.owner:
            return None
        return await self._store.get_request(event.owner)

    async def automatically(
        self, reminder: Reminder, *, account_created: datetime | None
    ) -> TapRequest | str:
        """Ask for *reminder*'s pass by email in its manager's name (``JOINER_AUTO_ISSUE``):
        the request made, or why none was (words for the reminder card, which then goes out
        with its buttons). The sweep holds the event's claim meanwhile.

        Only for an account that is really new: *account_created* (the directory's
        ``createdDateTime``; None when unknown) at most ``JOINER_AUTO_MAX_ACCOUNT_AGE_DAYS``
        days ago (`is_new_account`). Otherwise nothing is asked for and the skip is audited
        (``joiner``/``auto_skipped``, reason ``account_not_new``)."""
        now = self._clock.now()
        max_age = self._config.auto_max_account_age_days
        if not is_new_account(account_created, now, max_age):
            await self._audit.record(
                "joiner",
                "auto_skipped",
                actor_id="tapbot",
                target_id=reminder.joiner_id,
                reason="account_not_new",
                detail={
                    "hire_day": reminder.hire_day.isoformat(),
                    "created_at": account_created.isoformat() if account_created else "unknown",
                    "max_account_age_days": str(max_age),
                },
            )
            return f"I didn't issue it automatically: {_not_new(account_created, now, max_age)}"
        manager = reminder.manager
        if manager is None or not manager.account_enabled:
            return "I didn't issue it automatically: they have no manager who can answer for them."
        email = next(
            (o for o in reminder.deliveries if o.method is DeliveryMethod.EMAIL),
            DeliveryOption(DeliveryMethod.EMAIL, False, why_not="email is not set up"),
        )
        if not email.available:
            return f"I didn't issue it automatically: email is not possible, {email.why_not}."
        form = RequestForm(
            form_id=f"joiner:{reminder.joiner_id}:{reminder.hire_day.isoformat()}:auto",
            target_id=reminder.joiner_id,
            lifetime_minutes=reminder.lifetime_minutes or self._config.pass_lifetime_minutes,
            is_usable_once=reminder.one_time,
            start_at=self._start(reminder.hire_day),
            delivery=DeliveryMethod.EMAIL,
            justification=_reason(reminder.hire_day, automatic=True),
            joiner_hire_day=reminder.hire_day,
        )
        outcome = await self._requests.submit(
            Person(manager.id, manager.display_name), form, joiner=True, automatic=True
        )
        match outcome:
            case Issued(request) | AwaitingApproval(request, _) | ConfirmReplace(request, _):
                request_made = request
            case RequestUnchanged(request) if request.state not in ENDED_WITHOUT_PASS:
                request_made = request
            case RequestRefused(Refusal.RATE_LIMIT_REQUESTER, _, _):
                return f"I didn't issue it automatically: {AUTOMATIC_LIMIT}"
            case RequestRefused(_, text, _) | Failed(_, text):
                return f"I didn't issue it automatically: {text}"
            case _:
                return "I didn't issue it automatically: an earlier attempt ended without a pass."
        await self._audit.record(
            "joiner",
            "auto_requested",
            actor_id="tapbot",
            target_id=reminder.joiner_id,
            request_id=request_made.id,
            detail={"hire_day": reminder.hire_day.isoformat(), "in_the_name_of": manager.id},
        )
        return request_made

    def _form(self, event: JoinerEvent, method: DeliveryMethod, attempt: int) -> RequestForm:
        details = event.details
        minutes = details.get("lifetime_minutes")
        return RequestForm(
            form_id=f"joiner:{event.joiner_id}:{event.hire_day.isoformat()}:{attempt}",
            target_id=event.joiner_id,
            lifetime_minutes=(
                minutes
                if isinstance(minutes, int) and not isinstance(minutes, bool) and minutes > 0
                else self._config.pass_lifetime_minutes
            ),
            is_usable_once=details.get("one_time") is True or self._config.pass_one_time,
            start_at=self._start(event.hire_day),
            delivery=method,
            justification=_reason(event.hire_day, automatic=False),
            joiner_hire_day=event.hire_day,
        )

    def _start(self, day: date) -> datetime | None:
        start = start_of_day(day, self._config.timezone)
        return start if start > self._clock.now() else None

    async def _undeliverable(
        self, clicker: Person, event: JoinerEvent, method: DeliveryMethod | None
    ) -> Refused | None:
        """Why the pass cannot go the way chosen, checked now (None: it can)."""
        offered = {o.method for o in stored_options(event.details) if o.available}
        if method is None or method is DeliveryMethod.CHAT_TO_TARGET:
            text = "Choose how the pass should travel, then click Issue for day one again."
            await self._requests.refuse_input(clicker.id, "delivery", "not_offered", text=text)
            return Refused(text, "invalid_input", event)
        why = ""
        if method not in offered and offered:
            why = "it was not offered on this reminder"
        elif method is DeliveryMethod.CHAT_TO_REQUESTER:
            if (
                self._reach is not None
                and not (await self._reach.chat_reach(clicker.id)).has_conversation
            ):
                why = NO_CHAT_WITH_YOU
        else:
            # Never raises: a directory failure makes the option unavailable, saying why.
            options = await self._offers.deliveries(event.joiner_id, asked=method)
            option = _for_joiner(options[0]) if options else None
            if option is None or not option.available:
                why = option.why_not if option else "it is not possible"
            elif method is DeliveryMethod.SMS and not option.destination:
                why = "the directory has no mobile number for them that can take a text"
        if not why:
            return None
        text = f"The pass can't go that way now: {why}. Choose another way, or type request."
        await self._requests.refuse_input(clicker.id, "delivery", "unavailable", text=text)
        return Refused(text, "undeliverable", event)

    async def _claim(
        self, event: JoinerEvent, clicker: Person, request_id: str, attempt: int
    ) -> JoinerEvent | Requested | Unchanged | Refused:
        now = self._clock.now()
        details = dict(event.details) | {
            "request_id": request_id,
            "attempt": attempt,
            "requested_by": clicker.id,
            "requested_by_name": clicker.name,
            "requested_at": now.isoformat(),
            "notice": "",
        }
        again = event.state is JoinerState.REQUESTED
        try:
            return await self._store.move_joiner(
                event.joiner_id,
                event.hire_day,
                expected=[JoinerState.REQUESTED] if again else [event.state],
                # Taking over: only from the request it named, so two clicks take it once.
                owner=event.owner if again else None,
                new_state=JoinerState.REQUESTED,
                at=now,
                changes={
                    "owner": request_id,
                    "lease_until": now + CLICK_LEASE,
                    "details": details,
                },
            )
        except StoreConflict:
            current = await self._store.get_joiner(event.joiner_id, event.hire_day)
            if current is None:
                return Refused(BUSY, "in_progress", event)
            return await self.standing(current) or Refused(BUSY, "in_progress", current)

    async def _audited(
        self, clicker: Person, outcome: Requested | Unchanged | Refused
    ) -> Requested | Unchanged | Refused:
        """*outcome* of a click that made no request; a refusal (another click at work) is
        audited like every refusal."""
        if isinstance(outcome, Refused):
            event = outcome.event
            await self._audit.record(
                "joiner_answer",
                "refused",
                actor_id=clicker.id,
                target_id=event.joiner_id if event else None,
                reason=outcome.reason,
                detail={"action": "issue"}
                | ({"hire_day": event.hire_day.isoformat()} if event else {}),
            )
        return outcome

    async def _release(
        self, event: JoinerEvent, request_id: str, outcome: Outcome, *, before: JoinerState
    ) -> Refused:
        """Give the reminder back after a submit that stored nothing; say why. A snoozed one
        stays snoozed, so the sweep still reminds them when it said it would."""
        text = outcome.text if isinstance(outcome, RequestRefused | Failed) else ""
        details = {k: v for k, v in event.details.items() if k != "request_id"}
        released = event
        with contextlib.suppress(StoreConflict):
            released = await self._store.move_joiner(
                event.joiner_id,
                event.hire_day,
                expected=[JoinerState.REQUESTED],
                owner=request_id,
                new_state=(
                    JoinerState.SNOOZED if before is JoinerState.SNOOZED else JoinerState.REMINDED
                ),
                at=self._clock.now(),
                changes={"owner": None, "lease_until": None, "details": details},
            )
        reason = outcome.reason.value if isinstance(outcome, RequestRefused) else "failed"
        return Refused(text, reason, released)


def _for_joiner(option: DeliveryOption) -> DeliveryOption:
    if option.method is DeliveryMethod.CHAT_TO_TARGET:
        return DeliveryOption(option.method, False, why_not=NO_SIGN_IN_YET)
    if option.method is DeliveryMethod.SMS and option.available and not option.destination:
        return DeliveryOption(
            option.method,
            False,
            why_not="the directory has no mobile number for them that can take a text",
        )
    return DeliveryOption(option.method, option.available, option.destination, option.why_not)


def _stored_nothing(outcome: Outcome) -> bool:
    return isinstance(outcome, RequestRefused | Failed) and outcome.request is None


def _method(value: object) -> DeliveryMethod | None:
    try:
        return DeliveryMethod(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _attempt(details: Mapping[str, Any]) -> int:
    value = details.get("attempt")
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def _not_new(created_at: datetime | None, now: datetime, max_age_days: int) -> str:
    """Why an account is not taken as new, for the reminder card."""
    if created_at is None:
        return (
            "the directory doesn't say when their account was created, so a person should "
            "confirm they are new."
        )
    days = (now - created_at).days
    # Just past the limit, whole days alone would read as the limit itself.
    age = f"{days} days" if days > max_age_days else f"more than {_days(max_age_days)}"
    return f"their account was created {age} ago, so a person should confirm they are new."


def _days(count: int) -> str:
    return "1 day" if count == 1 else f"{count} days"


def _reason(day: date, *, automatic: bool) -> str:
    starts = f"{day:%A} {day.day} {day:%B %Y}"
    if automatic:
        return (
            f"Day-one pass for a joiner starting {starts}, issued automatically by tapbot "
            "(JOINER_AUTO_ISSUE) in their manager's name"
        )
    return f"Day-one pass for a joiner starting {starts}, from their joiner reminder"
