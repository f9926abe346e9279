"""An insider's attacks on joiner reminders and 'Issue for day one' (issue 9): each test is a
way around the rules that worked before its fix, or one that must keep failing."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta

import pytest

from bot.domain.delivery_options import DeliverySetup
from bot.domain.joiner_answers import ANSWERS_PER_PERSON_PER_HOUR, Refused
from bot.domain.joiner_issue import BUSY, Requested, joiner_deliveries
from bot.domain.joiners import JoinerState, Reminder
from bot.domain.model import (
    ApproverKind,
    DirectoryUser,
    RequestKind,
    RoleAssignmentKind,
    TapRequest,
)
from bot.domain.outcomes import AwaitingApproval, Decided, Issued
from bot.domain.outcomes import Refused as DecisionRefused
from bot.domain.policy import PolicyConfig, Refusal
from tests.unit.domain.test_joiner_issue import BERLIN, OLIVIA, Reminded
from tests.unit.domain.world import (
    ADA,
    BLOCKED,
    GLOBAL_ADMIN,
    LIAM,
    MANAGER,
    PRIYA,
    STRANGER,
    TOM,
    World,
    as_person,
)


async def test_a_flood_of_clicks_is_stopped_before_it_reads_the_directory() -> None:
    setup = Reminded()
    await setup.send()
    directory = setup.world.directory
    for _ in range(ANSWERS_PER_PERSON_PER_HOUR):
        await setup.answers.not_needed(STRANGER.id, setup.click())
    reads = directory.called("get_manager")

    outcome = await setup.answers.not_needed(STRANGER.id, setup.click())

    assert isinstance(outcome, Refused)
    assert outcome.reason == "rate_limited"
    assert outcome.event is None
    assert directory.called("get_manager") == reads
    audit = await setup.world.audit()
    assert audit[-1] == ("joiner_answer", "refused", "rate_limited")
    setup.world.clock.advance(hours=1, seconds=1)
    again = await setup.answers.not_needed(STRANGER.id, setup.click())
    assert isinstance(again, Refused)
    assert again.reason == "not_manager_or_helpdesk"


async def test_a_click_refused_because_another_is_under_way_is_audited() -> None:
    setup = Reminded()
    await setup.send()
    world = setup.world
    await setup.click_under_way("being-made")

    outcome = await setup.issuing.issue(OLIVIA, setup.click())

    assert isinstance(outcome, Refused)
    assert outcome.text == BUSY
    refused = [e for e in await world.store.list_audit() if e.outcome == "refused"]
    assert [(e.action, e.actor_id, e.target_id, e.reason) for e in refused] == [
        ("joiner_answer", OLIVIA.id, LIAM.id, "in_progress")
    ]
    assert refused[0].detail == {"action": "issue", "hire_day": setup.day.isoformat()}


def _auto_reminder(setup: Reminded, joiner: DirectoryUser) -> Reminder:
    config = dataclasses.replace(
        setup.config, delivery=DeliverySetup(sms=False, email=True, chat_to_target=False)
    )
    current = setup.world.directory.users[joiner.id]
    with_mail = dataclasses.replace(current, other_mails=(f"{joiner.id[-4:]}@example.net",))
    setup.world.directory.users[joiner.id] = with_mail
    return Reminder(
        joiner_id=joiner.id,
        joiner_name=joiner.display_name,
        job_title=None,
        department=None,
        hire_day=setup.day,
        days_until=3,
        starts_at=datetime.combine(setup.day, time(0), BERLIN),
        manager=MANAGER,
        deliveries=joiner_deliveries(with_mail, config),
        lifetime_minutes=240,
    )


def _new(setup: Reminded) -> datetime:
    """A creation time that makes an account new (HR provisioning made it days ago)."""
    return setup.world.clock.now() - timedelta(days=4)


async def test_automatic_passes_do_not_spend_the_managers_own_allowance() -> None:
    setup = Reminded(policy=PolicyConfig(requests_per_requester_per_hour=1))
    await setup.send()

    made = await setup.issuing.automatically(
        _auto_reminder(setup, LIAM), account_created=_new(setup)
    )
    refused = await setup.issuing.automatically(
        _auto_reminder(setup, ADA), account_created=_new(setup)
    )
    # The manager has asked for nothing this hour: their own request goes through.
    own = await setup.world.submit(target=ADA.id)

    assert isinstance(made, TapRequest)
    assert isinstance(refused, str)
    # The card says why in words that fit: the manager made no request.
    assert refused.startswith("I didn't issue it automatically: ")
    assert "You've made" not in refused
    assert "automatic" in refused.removeprefix("I didn't issue it automatically: ")
    assert isinstance(own, Issued)


def _privileged(world: World) -> None:
    world.directory.assign_role(LIAM.id, GLOBAL_ADMIN, RoleAssignmentKind.ELIGIBLE)


def _blocked(world: World) -> None:
    world.directory.add_group(BLOCKED, LIAM.id)


def _guest(world: World) -> None:
    users = world.directory.users
    users[LIAM.id] = dataclasses.replace(users[LIAM.id], user_type="Guest")


@pytest.mark.parametrize(
    ("make", "policy", "reason"),
    [
        (_privileged, None, "privileged_role_eligible"),
        (_blocked, None, "blocked_group"),
        (_guest, None, "guest"),
        # Guests allowed: only their sponsor asks, and their manager is not it.
        (_guest, PolicyConfig(allow_guests=True), "not_sponsor"),
    ],
)
async def test_a_joiner_who_may_not_have_a_pass_gets_none_from_a_click_or_automatically(
    make: Callable[[World], None], policy: PolicyConfig | None, reason: str
) -> None:
    setup = Reminded(policy=policy)
    await setup.send()
    make(setup.world)

    clicked = await setup.issuing.issue(OLIVIA, setup.click())
    automatic = await setup.issuing.automatically(
        _auto_reminder(setup, LIAM), account_created=_new(setup)
    )

    assert isinstance(clicked, Refused)
    assert clicked.reason == reason
    assert isinstance(automatic, str)
    assert await setup.world.store.list_requests() == []
    assert (await setup.event()).state is JoinerState.REMINDED
    refused = [r for a, o, r in await setup.world.audit() if (a, o) == ("request", "refused")]
    assert refused == [reason, reason]


async def test_card_data_beyond_the_event_and_the_delivery_is_ignored() -> None:
    setup = Reminded(minutes=240)
    await setup.send()
    forged = setup.click() | {
        "target": STRANGER.id,
        "target_id": STRANGER.id,
        "lifetime_minutes": "480",
        "is_usable_once": "false",
        "start_at": "2020-01-01T00:00:00Z",
        "form_id": "f0000000-0000-4000-8000-000000000001",
        "request_id": "someone-elses",
        "requester_id": PRIYA.id,
        "verb": "joiner.not_needed",
    }

    outcome = await setup.issuing.issue(OLIVIA, forged)

    assert isinstance(outcome, Requested)
    [request] = await setup.world.store.list_requests()
    assert (request.target_id, request.requester_id) == (LIAM.id, MANAGER.id)
    assert (request.lifetime_minutes, request.start_at) == (
        240,
        datetime.combine(setup.day, time(0), BERLIN).astimezone(UTC),
    )


async def test_a_helpdesk_member_who_made_themselves_the_manager_needs_another_member() -> None:
    setup = Reminded()
    await setup.send()
    world = setup.world
    # Priya (helpdesk) sets herself as Liam's manager, then answers as his manager.
    world.directory.set_manager(LIAM.id, PRIYA.id, by=PRIYA.id)
    priya, tom = as_person(PRIYA), as_person(TOM)

    outcome = await setup.issuing.issue(priya, setup.click())

    assert isinstance(outcome, Requested)
    assert isinstance(outcome.outcome, AwaitingApproval)
    request = outcome.outcome.request
    assert (request.kind, request.reason) == (RequestKind.JOINER, "manager_changed")
    assert [s.approver for s in request.stages] == [ApproverKind.HELPDESK]
    own = await world.requests.decide(priya, request.id, 1, approve=True)
    assert isinstance(own, DecisionRefused)
    assert own.reason is Refusal.SELF_APPROVAL
    assert world.directory.pass_of(LIAM.id) is None
    decided = await world.requests.decide(tom, request.id, 1, approve=True)
    assert isinstance(decided, Decided)
    assert world.directory.pass_of(LIAM.id) is not None


async def test_a_helpdesk_members_click_cannot_be_approved_by_themselves() -> None:
    setup = Reminded()
    await setup.send()
    priya = as_person(PRIYA)

    outcome = await setup.issuing.issue(priya, setup.click())

    assert isinstance(outcome, Requested)
    [request] = await setup.world.store.list_requests()
    assert request.kind is RequestKind.HELPDESK
    own = await setup.world.requests.decide(priya, request.id, 1, approve=True)
    assert isinstance(own, DecisionRefused)
    assert own.reason is Refusal.SELF_APPROVAL
    assert setup.world.directory.pass_of(LIAM.id) is None


async def test_a_refused_click_on_a_snoozed_reminder_keeps_it_snoozed() -> None:
    setup = Reminded()
    await setup.send()
    world = setup.world
    snoozed = await setup.answers.remind_tomorrow(OLIVIA.id, setup.click())
    assert not isinstance(snoozed, Refused)
    world.directory.users[LIAM.id] = dataclasses.replace(LIAM, account_enabled=False)

    outcome = await setup.issuing.issue(OLIVIA, setup.click())

    assert isinstance(outcome, Refused)
    event = await setup.event()
    # Tomorrow's sweep still reminds them (a reminded event is never claimed again).
    assert (event.state, event.remind_at) == (JoinerState.SNOOZED, snoozed.event.remind_at)
