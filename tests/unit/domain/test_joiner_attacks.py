"""An insider's attacks on joiner reminders and 'Issue for day one' (issue 9): each test is a
way around the rules that worked before its fix, or one that must keep failing."""

from __future__ import annotations

import dataclasses
from datetime import datetime, time

from bot.domain.delivery_options import DeliverySetup
from bot.domain.joiner_answers import ANSWERS_PER_PERSON_PER_HOUR, Refused
from bot.domain.joiner_issue import BUSY, CLICK_LEASE, joiner_deliveries
from bot.domain.joiners import JoinerState, Reminder
from bot.domain.model import DirectoryUser, TapRequest
from bot.domain.outcomes import Issued
from bot.domain.policy import PolicyConfig
from tests.unit.domain.test_joiner_issue import BERLIN, OLIVIA, Reminded
from tests.unit.domain.world import ADA, LIAM, MANAGER, STRANGER


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
    now = world.clock.now()
    await world.store.move_joiner(
        LIAM.id,
        setup.day,
        expected=[JoinerState.REMINDED],
        new_state=JoinerState.REQUESTED,
        at=now,
        changes={"owner": "being-made", "lease_until": now + CLICK_LEASE},
    )

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
    with_mail = dataclasses.replace(joiner, other_mails=(f"{joiner.id[-4:]}@example.net",))
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


async def test_automatic_passes_do_not_spend_the_managers_own_allowance() -> None:
    setup = Reminded(policy=PolicyConfig(requests_per_requester_per_hour=1))
    await setup.send()

    made = await setup.issuing.automatically(_auto_reminder(setup, LIAM))
    refused = await setup.issuing.automatically(_auto_reminder(setup, ADA))
    # The manager has asked for nothing this hour: their own request goes through.
    own = await setup.world.submit(target=ADA.id)

    assert isinstance(made, TapRequest)
    assert isinstance(refused, str)
    # The card says why in words that fit: the manager made no request.
    assert refused.startswith("I didn't issue it automatically: ")
    assert "You've made" not in refused
    assert "automatic" in refused.removeprefix("I didn't issue it automatically: ")
    assert isinstance(own, Issued)
