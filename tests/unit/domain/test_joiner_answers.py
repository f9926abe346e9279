"""Answers to a reminder: "Not needed" and "Remind me tomorrow", authorised at click time."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from bot.domain.errors import DirectoryUnavailable
from bot.domain.joiner_answers import (
    CANNOT_CHECK,
    NOT_YOURS,
    OUT_OF_DATE,
    Answer,
    Answered,
    Refused,
    Unchanged,
)
from bot.domain.joiners import JoinerState, Recipient
from tests.unit.domain.joiner_world import (
    DANIEL,
    ETHAN_ID,
    OLIVIA,
    PRIYA,
    STRANGER,
    TODAY,
    JoinerWorld,
)

ETHAN_CARD = {"joiner_id": ETHAN_ID, "hire_day": (TODAY + timedelta(days=3)).isoformat()}


async def _reminded() -> JoinerWorld:
    world = JoinerWorld()
    await world.run()
    return world


async def test_the_manager_says_not_needed_and_no_sweep_reminds_again() -> None:
    world = await _reminded()

    outcome = await world.answers.not_needed(OLIVIA.id, ETHAN_CARD)

    assert isinstance(outcome, Answered)
    assert outcome.answer is Answer.NOT_NEEDED
    assert outcome.event.state is JoinerState.NOT_NEEDED
    assert outcome.event.details["answered_by"] == OLIVIA.id
    assert outcome.event.details["joiner_name"] == "Ethan Walsh"
    events = await world.store.list_audit(limit=100)
    assert next((e.outcome, e.actor_id) for e in events if e.action == "joiner") == (
        "not_needed",
        OLIVIA.id,
    )

    world.clock.advance(days=1)
    await world.run()
    assert world.reminders.to(Recipient.MANAGER) == ["Ethan Walsh", "Mia Rossi"]


async def test_a_helpdesk_member_may_answer_too() -> None:
    world = await _reminded()

    outcome = await world.answers.not_needed(PRIYA.id, ETHAN_CARD)

    assert isinstance(outcome, Answered)


@pytest.mark.parametrize("clicker", [STRANGER.id, DANIEL.id])
async def test_anyone_else_is_refused_and_it_is_audited(clicker: str) -> None:
    world = await _reminded()

    outcome = await world.answers.not_needed(clicker, ETHAN_CARD)

    assert isinstance(outcome, Refused)
    assert (outcome.text, outcome.reason) == (NOT_YOURS, "not_manager_or_helpdesk")
    refused = [e for e in await world.store.list_audit(limit=100) if e.outcome == "refused"]
    assert [(e.actor_id, e.target_id, e.reason) for e in refused] == [
        (clicker, ETHAN_ID, "not_manager_or_helpdesk")
    ]
    event = await world.event(ETHAN_ID, 3)
    assert event is not None
    assert event.state is JoinerState.REMINDED


async def test_a_manager_who_is_no_longer_the_manager_is_refused() -> None:
    world = await _reminded()
    world.directory.set_manager(ETHAN_ID, DANIEL.id)

    assert isinstance(await world.answers.not_needed(OLIVIA.id, ETHAN_CARD), Refused)
    assert isinstance(await world.answers.not_needed(DANIEL.id, ETHAN_CARD), Answered)


async def test_remind_me_tomorrow_snoozes_until_tomorrows_first_sweep() -> None:
    world = await _reminded()

    outcome = await world.answers.remind_tomorrow(OLIVIA.id, ETHAN_CARD)

    assert isinstance(outcome, Answered)
    assert outcome.event.state is JoinerState.SNOOZED
    # Midnight in London (BST) tomorrow.
    assert outcome.event.remind_at == datetime(2025, 6, 10, 23, 0, tzinfo=UTC)

    await world.run()  # later today: still snoozed
    assert world.reminders.to(Recipient.MANAGER) == ["Ethan Walsh", "Mia Rossi"]

    world.clock.advance(hours=17)  # just after midnight in London
    await world.run()
    assert world.reminders.to(Recipient.MANAGER) == ["Ethan Walsh", "Mia Rossi", "Ethan Walsh"]
    assert world.reminders.sent[-1].reminder.days_until == 2
    again = await world.event(ETHAN_ID, 3)
    assert again is not None
    assert again.state is JoinerState.REMINDED


async def test_tomorrow_is_refused_once_past_the_last_day_of_reminders() -> None:
    world = await _reminded()
    world.clock.advance(days=5)  # Ethan started two days ago: the margin's last day

    outcome = await world.answers.remind_tomorrow(OLIVIA.id, ETHAN_CARD)

    assert isinstance(outcome, Refused)
    assert outcome.reason == "too_late"
    event = await world.event(ETHAN_ID, 3)
    assert event is not None
    assert event.state is JoinerState.REMINDED


async def test_a_second_click_changes_nothing() -> None:
    world = await _reminded()

    first, second = await asyncio.gather(
        world.answers.not_needed(OLIVIA.id, ETHAN_CARD),
        world.answers.remind_tomorrow(PRIYA.id, ETHAN_CARD),
    )

    assert isinstance(first, Answered)
    assert isinstance(second, Unchanged)
    assert second.event.state is JoinerState.NOT_NEEDED


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"joiner_id": ETHAN_ID},
        {"joiner_id": ETHAN_ID, "hire_day": "2025-02-30"},
        {"joiner_id": "'; DROP TABLE", "hire_day": "2025-06-13"},
        {"joiner_id": ETHAN_ID, "hire_day": "2025-06-14"},  # no such event
        {"joiner_id": ["x"], "hire_day": 5},
    ],
)
async def test_card_data_that_names_no_event_is_refused(data: dict[str, object]) -> None:
    world = await _reminded()

    outcome = await world.answers.not_needed(OLIVIA.id, data)

    assert isinstance(outcome, Refused)
    assert outcome.text == OUT_OF_DATE


async def test_a_directory_failure_at_click_time_changes_nothing() -> None:
    world = await _reminded()
    world.directory.fail("get_manager", DirectoryUnavailable("down", code="serviceNotAvailable"))

    outcome = await world.answers.not_needed(OLIVIA.id, ETHAN_CARD)

    assert isinstance(outcome, Refused)
    assert outcome.text == CANNOT_CHECK
    event = await world.event(ETHAN_ID, 3)
    assert event is not None
    assert event.state is JoinerState.REMINDED


async def test_show_returns_the_event_for_an_allowed_clicker_only() -> None:
    world = await _reminded()

    shown = await world.answers.show(OLIVIA.id, ETHAN_CARD)

    assert isinstance(shown, Unchanged)
    assert shown.event.details["joiner_name"] == "Ethan Walsh"
    assert isinstance(await world.answers.show(STRANGER.id, ETHAN_CARD), Refused)
