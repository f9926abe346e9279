"""Manager changes through the running app: the start-up baseline, a manager set a moment ago
(no audit event yet) and a joiner whose first manager came from the listed HR provisioning."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from bot.app import MANAGER_SYNC
from bot.domain.model import Actor, ActorKind, RequestState
from tests.bot.conftest import MANAGER, NOBODY, BotUnderTest, StartBot, activity
from tests.bot.connector import RecordingConnector
from tests.twins.directory import person

HR_APP_ID = "5e1a7c3d-9b2f-4d6e-8a1c-3f5b7d9e1a31"
HR = Actor(ActorKind.APP, "5e1a7c3d-9b2f-4d6e-8a1c-3f5b7d9e1a32", "HR", app_id=HR_APP_ID)


async def _form(bot: BotUnderTest, connector: RecordingConnector) -> dict[str, Any]:
    await bot.post(activity(connector.url, text="request"))
    card: dict[str, Any] = connector.sent[-1]["attachments"][0]["content"]
    return card


def _titles(card: dict[str, Any]) -> dict[str, str]:
    target = next(item for item in card["body"] if item.get("id") == "target")
    return {c["value"]: c["title"] for c in target["choices"]}


def _submission(card: dict[str, Any], target: str) -> dict[str, Any]:
    return dict(card["actions"][0]["data"]) | {
        "target": target,
        "lifetime": "60",
        "one_time": "true",
        "start": "now",
        "start_date": "",
        "start_time": "",
        "delivery": "chat_requester",
        "justification": "First day",
    }


async def test_the_baseline_is_recorded_before_the_bot_answers(start_bot: StartBot) -> None:
    bot = await start_bot()
    state = await bot.store.users_delta_state()
    assert state.baseline_at is not None
    records = await bot.store.manager_records([NOBODY.id])
    assert records[NOBODY.id].manager_id == bot.directory.managers[NOBODY.id]


async def test_a_manager_set_a_moment_ago_goes_to_the_helpdesk_before_the_audit_log_shows_it(
    start_bot: StartBot, connector: RecordingConnector
) -> None:
    bot = await start_bot()
    # Megan makes herself Nora's manager; the directory's audit log has no event for it yet.
    bot.directory.managers[NOBODY.id] = MANAGER.id
    form = await _form(bot, connector)
    assert "manager changed recently" in _titles(form)[NOBODY.id]

    answer = await bot.invoke(connector.url, "request.submit", _submission(form, NOBODY.id))

    assert "waiting for a helpdesk member" in json.dumps(answer["value"])
    assert bot.directory.pass_of(NOBODY.id) is None
    [waiting] = await bot.store.list_requests(target_id=NOBODY.id)
    assert (waiting.state, waiting.reason) == (RequestState.PENDING_APPROVAL, "manager_changed")
    assert waiting.context.manager_change_evidence == "tapbot_record"
    seen = [e for e in await bot.store.list_audit() if e.action == "manager"]
    assert [(e.outcome, e.target_id) for e in seen] == [("change_seen", NOBODY.id)]


async def test_a_change_shows_up_within_one_poll_of_the_users_delta(start_bot: StartBot) -> None:
    bot = await start_bot()
    bot.directory.set_manager(NOBODY.id, MANAGER.id, by=MANAGER.id)
    await bot.client.server.app[MANAGER_SYNC].poll()
    record = (await bot.store.manager_records([NOBODY.id]))[NOBODY.id]
    assert (record.manager_id, record.changed_at) == (MANAGER.id, bot.clock.now())


def _hr_joiner(bot: BotUnderTest) -> str:
    """A joiner whose account HR provisioning created four days ago, and whose manager it set a
    day later (the engine resolves the manager reference on a later run)."""
    created = bot.clock.now() - timedelta(days=4)
    joiner = person("Jade Joiner")
    bot.directory.add_user(joiner, created_at=created, created_by=HR)
    bot.directory.set_manager(joiner.id, MANAGER.id, at=created + timedelta(days=1), by=HR)
    return joiner.id


async def test_a_joiners_first_manager_from_the_listed_hr_provisioning_is_not_a_change(
    start_bot: StartBot, connector: RecordingConnector
) -> None:
    bot = await start_bot(HR_PROVISIONING_APP_IDS=HR_APP_ID)
    joiner = _hr_joiner(bot)
    await bot.client.server.app[MANAGER_SYNC].poll()

    titles = _titles(await _form(bot, connector))

    assert titles[joiner] == "Jade Joiner"  # listed, not marked


async def test_the_same_joiner_needs_the_helpdesk_when_the_app_is_not_listed(
    start_bot: StartBot, connector: RecordingConnector
) -> None:
    bot = await start_bot()
    joiner = _hr_joiner(bot)
    await bot.client.server.app[MANAGER_SYNC].poll()

    titles = _titles(await _form(bot, connector))

    assert "manager changed recently" in titles[joiner]
