"""An insider's attacks on joiner reminders and 'Issue for day one' (issue 9): each test is a
way around the rules that worked before its fix, or one that must keep failing."""

from __future__ import annotations

from bot.domain.joiner_answers import ANSWERS_PER_PERSON_PER_HOUR, Refused
from tests.unit.domain.test_joiner_issue import Reminded
from tests.unit.domain.world import STRANGER


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
