"""An insider's attacks on joiner reminders and 'Issue for day one' (issue 9): each test is a
way around the rules that worked before its fix, or one that must keep failing."""

from __future__ import annotations

from bot.domain.joiner_answers import ANSWERS_PER_PERSON_PER_HOUR, Refused
from bot.domain.joiner_issue import BUSY, CLICK_LEASE
from bot.domain.joiners import JoinerState
from tests.unit.domain.test_joiner_issue import OLIVIA, Reminded
from tests.unit.domain.world import LIAM, STRANGER


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
