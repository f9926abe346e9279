"""'Issue for day one' in memory: the form a reminder becomes, one request for racing clicks,
a click that died, a new attempt after a request that ended without a pass, the refusals that
give the reminder back, and the pure helpers (deliveries offered, terms within policy)."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.domain.delivery_options import DeliverySetup
from bot.domain.errors import DirectoryUnavailable
from bot.domain.joiner_answers import JoinerAnswers, Refused, Unchanged
from bot.domain.joiner_issue import (
    BUSY,
    CLICK_LEASE,
    NO_SIGN_IN_YET,
    JoinerIssuing,
    Requested,
    joiner_deliveries,
    joiner_terms,
)
from bot.domain.joiners import JoinerConfig, JoinerEvent, JoinerState, Reminder, stored_option
from bot.domain.model import DeliveryMethod, RequestKind, RequestState, TapPolicy
from bot.domain.outcomes import Decided, Issued
from bot.domain.outcomes import Refused as RequestRefused
from bot.domain.policy import PolicyConfig, Refusal
from bot.domain.status import status_of
from tests.twins.directory import DEFAULT_POLICY, person
from tests.unit.domain.world import (
    HELPDESK,
    LIAM,
    MANAGER,
    PRIYA,
    STRANGER,
    TOM,
    World,
    as_person,
)

BERLIN = ZoneInfo("Europe/Berlin")
OLIVIA = as_person(MANAGER)


class Reminded:
    """A World whose Liam starts in *days* days, with his reminder sent to Olivia."""

    def __init__(
        self,
        days: int = 3,
        *,
        minutes: int = 240,
        one_time: bool = False,
        policy: PolicyConfig | None = None,
    ) -> None:
        self.world = World(config=policy, timezone=BERLIN)
        self.config = JoinerConfig(timezone=BERLIN)
        self.day = self.world.clock.now().date() + timedelta(days=days)
        self.minutes, self.one_time = minutes, one_time
        self.answers = answers = JoinerAnswers(
            directory=self.world.directory,
            store=self.world.store,
            auditor=self.world.requests._audit,
            clock=self.world.clock,
            config=self.config,
            helpdesk_group_id=HELPDESK,
        )
        self.issuing = JoinerIssuing(
            answers=answers,
            requests=self.world.requests,
            store=self.world.store,
            auditor=self.world.requests._audit,
            clock=self.world.clock,
            config=self.config,
            offers=self.world.offers,
        )

    async def send(self) -> None:
        await self.world.baseline()
        self.hire(self.day)
        store, now = self.world.store, self.world.clock.now()
        await store.claim_joiner(LIAM.id, self.day, "sweep", now=now, lease_until=now)
        chat = joiner_deliveries(LIAM, self.config)
        await store.move_joiner(
            LIAM.id,
            self.day,
            expected=[JoinerState.CLAIMED],
            new_state=JoinerState.REMINDED,
            at=now,
            changes={
                "details": {
                    "joiner_name": LIAM.display_name,
                    "lifetime_minutes": self.minutes,
                    "one_time": self.one_time,
                    "deliveries": [stored_option(o) for o in chat],
                }
            },
        )

    def hire(self, day: date | None) -> None:
        """Set Liam's hire date in the directory (as Entra holds a date: midnight UTC)."""
        hired = datetime.combine(day, time(0), UTC) if day is not None else None
        users = self.world.directory.users
        users[LIAM.id] = dataclasses.replace(users[LIAM.id], employee_hire_date=hired)

    async def click_under_way(self, owner: str) -> None:
        """Hold the reminder as a click making request *owner* does, until its lease ends."""
        now = self.world.clock.now()
        await self.world.store.move_joiner(
            LIAM.id,
            self.day,
            expected=[JoinerState.REMINDED],
            new_state=JoinerState.REQUESTED,
            at=now,
            changes={"owner": owner, "lease_until": now + CLICK_LEASE},
        )

    def click(self, delivery: str = "chat_requester") -> dict[str, str]:
        return {"joiner_id": LIAM.id, "hire_day": self.day.isoformat(), "delivery": delivery}

    async def event(self) -> JoinerEvent:
        event = await self.world.store.get_joiner(LIAM.id, self.day)
        assert event is not None
        return event


@pytest.fixture
async def reminded() -> Reminded:
    setup = Reminded()
    await setup.send()
    return setup


async def test_a_click_asks_for_a_pass_from_the_start_of_the_hire_day(
    reminded: Reminded,
) -> None:
    outcome = await reminded.issuing.issue(OLIVIA, reminded.click())

    assert isinstance(outcome, Requested)
    assert isinstance(outcome.outcome, Issued)
    request = outcome.outcome.request
    assert request.kind is RequestKind.JOINER
    assert request.start_at == datetime.combine(reminded.day, time(0), BERLIN).astimezone(UTC)
    assert (request.lifetime_minutes, request.is_usable_once) == (240, False)
    assert "Day-one pass for a joiner starting" in request.justification
    event = await reminded.event()
    assert (event.state, event.owner) == (JoinerState.REQUESTED, request.id)
    assert ("joiner", "requested", None) in await reminded.world.audit()


async def test_a_joiner_who_has_started_gets_a_pass_from_now() -> None:
    started = Reminded(days=-1)
    await started.send()

    outcome = await started.issuing.issue(OLIVIA, started.click())

    assert isinstance(outcome, Requested)
    assert isinstance(outcome.outcome, Issued)
    assert outcome.outcome.request.start_at is None


async def test_two_clicks_at_once_make_one_request_and_one_pass(reminded: Reminded) -> None:
    priya = as_person(PRIYA)
    first, second = await asyncio.gather(
        reminded.issuing.issue(OLIVIA, reminded.click()),
        reminded.issuing.issue(priya, reminded.click()),
    )

    requests = await reminded.world.store.list_requests()
    assert len(requests) == 1
    assert len(reminded.world.delivery.delivered) == 1
    issued = [o for o in (first, second) if isinstance(o, Requested)]
    assert [type(o.outcome) for o in issued][:1] == [Issued]
    other = second if issued[0] is first else first
    # The later click saw the first one at work, or its pass.
    assert (isinstance(other, Refused) and other.text == BUSY) or isinstance(other, Requested)


async def test_a_helpdesk_member_asks_as_the_helpdesk_with_its_approval(
    reminded: Reminded,
) -> None:
    outcome = await reminded.issuing.issue(as_person(PRIYA), reminded.click())

    assert isinstance(outcome, Requested)
    [request] = await reminded.world.store.list_requests()
    assert (request.kind, request.state) == (RequestKind.HELPDESK, RequestState.PENDING_APPROVAL)


async def test_a_click_that_died_holds_the_reminder_until_its_lease_ends(
    reminded: Reminded,
) -> None:
    world = reminded.world
    await reminded.click_under_way("never-made")

    busy = await reminded.issuing.issue(OLIVIA, reminded.click())
    world.clock.advance(seconds=CLICK_LEASE.total_seconds() + 1)
    taken_over = await reminded.issuing.issue(OLIVIA, reminded.click())

    assert isinstance(busy, Refused)
    assert busy.text == BUSY
    assert isinstance(taken_over, Requested)
    assert isinstance(taken_over.outcome, Issued)


async def test_after_a_request_that_ended_without_a_pass_the_next_click_is_a_new_attempt(
    reminded: Reminded,
) -> None:
    world = reminded.world
    world.delivery.fail_with("the chat could not be reached")
    failed = await reminded.issuing.issue(OLIVIA, reminded.click())
    world.delivery.fail_with(None)

    again = await reminded.issuing.issue(OLIVIA, reminded.click())

    assert isinstance(failed, Requested)
    assert failed.outcome.request is not None
    assert failed.outcome.request.state is RequestState.FAILED  # type: ignore[union-attr]
    assert isinstance(again, Requested)
    assert isinstance(again.outcome, Issued)
    assert again.outcome.request.id != failed.outcome.request.id  # type: ignore[union-attr]
    assert (await reminded.event()).details["attempt"] == 2


async def test_a_refusal_gives_the_reminder_back_and_is_audited(reminded: Reminded) -> None:
    world = reminded.world
    users = world.directory.users
    users[LIAM.id] = dataclasses.replace(users[LIAM.id], account_enabled=False)

    outcome = await reminded.issuing.issue(OLIVIA, reminded.click())

    assert isinstance(outcome, Refused)
    assert "disabled" in outcome.text
    event = await reminded.event()
    assert (event.state, event.owner) == (JoinerState.REMINDED, None)
    assert "request_id" not in event.details
    assert ("request", "refused", "disabled") in await world.audit()


@pytest.mark.parametrize(
    ("delivery", "problem"),
    [("chat_target", "Choose how"), ("nonsense", "Choose how"), ("sms", "can't go that way")],
)
async def test_a_way_the_reminder_did_not_offer_is_refused_before_anything_is_read(
    reminded: Reminded, delivery: str, problem: str
) -> None:
    outcome = await reminded.issuing.issue(OLIVIA, reminded.click(delivery))

    assert isinstance(outcome, Refused)
    assert problem in outcome.text
    assert await reminded.world.store.list_requests() == []
    assert (await reminded.event()).state is JoinerState.REMINDED


async def test_someone_who_is_neither_manager_nor_helpdesk_gets_nothing(
    reminded: Reminded,
) -> None:
    outcome = await reminded.issuing.issue(as_person(STRANGER), reminded.click())

    assert isinstance(outcome, Refused)
    assert outcome.reason == "not_manager_or_helpdesk"
    assert await reminded.world.store.list_requests() == []


async def test_a_reminder_marked_not_needed_makes_no_request(reminded: Reminded) -> None:
    world = reminded.world
    await world.store.move_joiner(
        LIAM.id,
        reminded.day,
        expected=[JoinerState.REMINDED],
        new_state=JoinerState.NOT_NEEDED,
        at=world.clock.now(),
    )

    outcome = await reminded.issuing.issue(OLIVIA, reminded.click())

    assert isinstance(outcome, Unchanged)
    assert await world.store.list_requests() == []


async def test_the_lifetime_the_reminder_showed_is_asked_for_and_checked_against_policy() -> None:
    long = Reminded(minutes=10_000)
    await long.send()

    outcome = await long.issuing.issue(OLIVIA, long.click())

    assert isinstance(outcome, Refused)
    assert (await long.event()).state is JoinerState.REMINDED


def test_a_joiners_own_chat_is_never_offered_and_nobody_types_a_number() -> None:
    setup = DeliverySetup(sms=True, email=True, chat_to_target=True, typed_numbers=True)
    config = JoinerConfig(timezone=BERLIN, delivery=setup)
    joiner = person("Ethan Walsh", mobile_phone="not a number", other_mails=("e@example.net",))

    options = {o.method: o for o in joiner_deliveries(joiner, config)}

    assert options[DeliveryMethod.CHAT_TO_TARGET].why_not == NO_SIGN_IN_YET
    assert not options[DeliveryMethod.SMS].available
    assert options[DeliveryMethod.EMAIL].destination == "e•••@example.net"
    assert options[DeliveryMethod.CHAT_TO_REQUESTER].available


def _policy(**changes: object) -> TapPolicy:
    return dataclasses.replace(DEFAULT_POLICY, **changes)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("wanted", "one_time", "policy", "expected"),
    [
        (480, False, _policy(maximum_lifetime_minutes=60), (60, False)),
        (5, False, _policy(minimum_lifetime_minutes=30), (30, False)),
        (480, False, _policy(is_usable_once=True), (480, True)),
        (480, True, _policy(), (480, True)),
    ],
)
def test_the_day_one_terms_are_kept_within_the_policy(
    wanted: int, one_time: bool, policy: TapPolicy, expected: tuple[int, bool]
) -> None:
    config = JoinerConfig(timezone=BERLIN, pass_lifetime_minutes=wanted, pass_one_time=one_time)
    assert joiner_terms(policy, PolicyConfig(), config) == expected


async def test_the_auto_path_asks_in_the_managers_name_by_email() -> None:
    setup = Reminded()
    await setup.send()
    joiner = dataclasses.replace(LIAM, other_mails=("liam@example.net",))
    config = dataclasses.replace(
        setup.config, delivery=DeliverySetup(sms=False, email=True, chat_to_target=False)
    )
    reminder = Reminder(
        joiner_id=LIAM.id,
        joiner_name=LIAM.display_name,
        job_title=None,
        department=None,
        hire_day=setup.day,
        days_until=3,
        starts_at=datetime.combine(setup.day, time(0), BERLIN),
        manager=MANAGER,
        deliveries=joiner_deliveries(joiner, config),
        lifetime_minutes=240,
    )

    new = setup.world.clock.now() - timedelta(days=4)
    made = await setup.issuing.automatically(reminder, account_created=new)

    assert not isinstance(made, str)
    assert (made.kind, made.requester_id, made.delivery) == (
        RequestKind.JOINER,
        MANAGER.id,
        DeliveryMethod.EMAIL,
    )
    assert "issued automatically by tapbot" in made.justification
    missing = await setup.issuing.automatically(
        dataclasses.replace(reminder, deliveries=()), account_created=new
    )
    assert missing == "I didn't issue it automatically: email is not possible, email is not set up."


@pytest.mark.parametrize(
    ("moved_by", "words"),
    [
        (7, "I'll send a reminder for the new date before it"),
        (-10, "If they still need a pass, type request."),
    ],
)
async def test_a_hire_date_moved_since_the_reminder_issues_nothing(
    reminded: Reminded, moved_by: int, words: str
) -> None:
    new_day = reminded.day + timedelta(days=moved_by)
    reminded.hire(new_day)

    outcome = await reminded.issuing.issue(OLIVIA, reminded.click())

    assert isinstance(outcome, Refused)
    assert outcome.reason == "hire_date_changed"
    assert f"changed to {new_day:%A} {new_day.day} {new_day:%B %Y}" in outcome.text
    assert words in outcome.text
    # The reminder is out of date: the card does not offer its buttons again.
    assert outcome.event is None
    assert await reminded.world.store.list_requests() == []
    assert reminded.world.directory.called("create_pass") == 0
    assert (await reminded.event()).state is JoinerState.REMINDED
    refusals = await reminded.world.store.list_audit(limit=10)
    assert [(e.action, e.reason, e.detail) for e in refusals if e.outcome == "refused"] == [
        (
            "joiner_answer",
            "hire_date_changed",
            {"action": "issue", "now": new_day.isoformat(), "hire_day": reminded.day.isoformat()},
        )
    ]


async def test_a_hire_date_removed_since_the_reminder_issues_nothing(reminded: Reminded) -> None:
    reminded.hire(None)

    outcome = await reminded.issuing.issue(OLIVIA, reminded.click())

    assert isinstance(outcome, Refused)
    assert outcome.reason == "hire_date_changed"
    assert outcome.text.startswith("This joiner no longer has a start date in the directory")
    assert await reminded.world.store.list_requests() == []


async def test_the_same_hire_day_written_as_a_moment_in_the_time_zone_still_issues(
    reminded: Reminded,
) -> None:
    # HR systems may write 09:00 local time rather than midnight UTC: the same first day.
    users = reminded.world.directory.users
    at_nine = datetime.combine(reminded.day, time(9), BERLIN)
    users[LIAM.id] = dataclasses.replace(users[LIAM.id], employee_hire_date=at_nine)

    outcome = await reminded.issuing.issue(OLIVIA, reminded.click())

    assert isinstance(outcome, Requested)
    assert isinstance(outcome.outcome, Issued)


async def test_a_hire_date_that_cannot_be_read_asks_to_try_again(reminded: Reminded) -> None:
    reminded.world.directory.fail("get_user", DirectoryUnavailable("down"))

    outcome = await reminded.issuing.issue(OLIVIA, reminded.click())

    assert isinstance(outcome, Refused)
    assert outcome.text.startswith("I couldn't check in the directory")
    assert outcome.event is not None
    assert await reminded.world.store.list_requests() == []


async def test_a_hire_date_that_cannot_be_read_is_audited_as_an_issue_click(
    reminded: Reminded,
) -> None:
    reminded.world.directory.fail("get_user", DirectoryUnavailable("down"))

    await reminded.issuing.issue(OLIVIA, reminded.click())

    refusals = await reminded.world.store.list_audit(limit=10)
    # Which button and which reminder, as every other refusal of a click says.
    assert [(e.action, e.reason, e.detail) for e in refusals if e.outcome == "refused"] == [
        (
            "joiner_answer",
            "directory_unavailable",
            {"action": "issue", "hire_day": reminded.day.isoformat()},
        )
    ]


@pytest.mark.parametrize("moved", [False, True])
async def test_a_hire_date_that_moves_while_the_helpdesk_approves_gets_no_pass(
    reminded: Reminded, moved: bool
) -> None:
    world = reminded.world
    asked = await reminded.issuing.issue(as_person(PRIYA), reminded.click())
    assert isinstance(asked, Requested)
    [request] = await world.store.list_requests()
    assert request.context.joiner_hire_day == reminded.day.isoformat()
    if moved:
        reminded.hire(reminded.day + timedelta(days=7))

    decided = await world.requests.decide(as_person(TOM), request.id, 1, approve=True)

    stored = await world.store.get_request(request.id)
    assert stored is not None
    if not moved:
        assert stored.state is RequestState.DELIVERED
        return
    # The approval is recorded; the pass is refused when it is about to be issued.
    assert isinstance(decided, Decided)
    assert (stored.state, stored.reason) == (RequestState.FAILED, "hire_date_changed")
    why = status_of(stored, world.clock.now()).why
    assert why.startswith("Liam Carter's start date in the directory changed")
    assert world.directory.called("create_pass") == 0
    assert ("request", "refused", "hire_date_changed") in await world.audit()


@pytest.mark.parametrize(
    ("hour", "days", "moved"),
    [
        (6, 0, False),  # 07:00 in Berlin on the hire day: the same day, written as a moment
        (23, -1, False),  # 00:00 in Berlin on the hire day, the day before in UTC
        (23, 0, True),  # midnight past in Berlin: the next day, though the same UTC date
    ],
)
async def test_a_hire_date_written_again_as_a_moment_is_read_in_the_organisations_zone(
    reminded: Reminded, hour: int, days: int, moved: bool
) -> None:
    world = reminded.world
    asked = await reminded.issuing.issue(as_person(PRIYA), reminded.click())
    assert isinstance(asked, Requested)
    [request] = await world.store.list_requests()
    hired = datetime.combine(reminded.day + timedelta(days=days), time(hour), UTC)
    users = world.directory.users
    users[LIAM.id] = dataclasses.replace(users[LIAM.id], employee_hire_date=hired)

    await world.requests.decide(as_person(TOM), request.id, 1, approve=True)

    stored = await world.store.get_request(request.id)
    assert stored is not None
    expected = (RequestState.FAILED, "hire_date_changed") if moved else (RequestState.DELIVERED,)
    assert (stored.state, stored.reason)[: len(expected)] == expected


async def test_replacing_a_pass_for_day_one_after_the_hire_date_moved_issues_nothing(
    reminded: Reminded,
) -> None:
    world = reminded.world
    await world.directory.create_pass(
        LIAM.id, lifetime_minutes=60, is_usable_once=True, start_at=None
    )
    asked = await reminded.issuing.issue(OLIVIA, reminded.click())
    assert isinstance(asked, Requested)
    [request] = await world.store.list_requests()
    assert request.state is RequestState.DRAFT
    reminded.hire(reminded.day + timedelta(days=7))
    created = world.directory.called("create_pass")

    outcome = await world.requests.confirm_replace(OLIVIA, request.id)

    stored = await world.store.get_request(request.id)
    assert stored is not None
    assert (stored.state, stored.reason) == (RequestState.FAILED, "hire_date_changed")
    assert world.directory.called("create_pass") == created
    assert isinstance(outcome, RequestRefused)
    assert outcome.reason is Refusal.HIRE_DATE_CHANGED
