"""'Issue for day one' through the bot's HTTP surface: one click makes a request of kind
joiner that goes through the request lifecycle and gives a pass starting on the hire day;
the refusals keep the reminder answerable; JOINER_AUTO_ISSUE issues and emails without one."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.app import JOINERS, MANAGER_SYNC, Joiners
from bot.domain.joiners import JoinerState
from bot.domain.model import Actor, ActorKind, DirectoryUser, RequestKind, RequestState
from cards.request import when
from cards.text import readable_text
from tests.bot.conftest import HELPDESK, MANAGER, NOBODY, BotUnderTest, StartBot, activity
from tests.bot.connector import RecordingConnector
from tests.twins.directory import person

EMMA = person(
    "Emma Brooks",
    id="aaaaaaaa-0000-0000-0000-0000000000e1",
    job_title="Designer",
    other_mails=("emma.home@example.net",),
)
MAIL = {"MAIL_SENDER": "tapbot@contoso.example", "TIMEZONE": "Europe/Berlin"}
CHANNEL = "19:helpdesk@thread.tacv2"
HR_APP_ID = "5e1a7c3d-9b2f-4d6e-8a1c-3f5b7d9e1a31"
HR = Actor(ActorKind.APP, "5e1a7c3d-9b2f-4d6e-8a1c-3f5b7d9e1a32", "HR", app_id=HR_APP_ID)


def _joiners(bot: BotUnderTest) -> Joiners:
    return bot.client.server.app[JOINERS]


def _hire_day(bot: BotUnderTest) -> date:
    return bot.clock.now().date() + timedelta(days=3)


async def _bot(
    start_bot: StartBot, joiner: DirectoryUser = EMMA, *, created_days_ago: int = 4, **settings: str
) -> BotUnderTest:
    """The app with mail set up and *joiner* starting in three days, whose account and first
    manager (Megan) HR provisioning set *created_days_ago*: no manager change."""
    bot = await start_bot(**(MAIL | {"HR_PROVISIONING_APP_IDS": HR_APP_ID} | settings))
    bot.directory.add_user(person("tapbot Notifications", user_principal_name=MAIL["MAIL_SENDER"]))
    start = datetime.combine(_hire_day(bot), time(0), UTC)
    created = bot.clock.now() - timedelta(days=created_days_ago)
    bot.directory.add_user(
        dataclasses.replace(joiner, employee_hire_date=start), created_at=created, created_by=HR
    )
    bot.directory.set_manager(joiner.id, MANAGER.id, at=created, by=HR)
    await bot.client.server.app[MANAGER_SYNC].poll()
    return bot


async def _reminded(
    start_bot: StartBot, connector: RecordingConnector, **settings: str
) -> BotUnderTest:
    bot = await _bot(start_bot, **settings)
    await bot.post(activity(connector.url, text="help"))  # the manager has a chat with tapbot
    await _joiners(bot).sweep.run()
    return bot


def _click(bot: BotUnderTest, delivery: str = "chat_requester") -> dict[str, str]:
    return {"joiner_id": EMMA.id, "hire_day": _hire_day(bot).isoformat(), "delivery": delivery}


def _text(card: dict[str, Any]) -> str:
    return json.dumps(card, ensure_ascii=False)


def _reminder(connector: RecordingConnector) -> dict[str, Any]:
    card: dict[str, Any] = connector.sent[-1]["attachments"][0]["content"]
    return card


def _lines(card: dict[str, Any]) -> list[str]:
    """Each RichTextBlock's runs joined into one line."""
    return [
        "".join(run["text"] for run in block["inlines"])
        for block in card["body"]
        if block["type"] == "RichTextBlock"
    ]


def _choices(card: dict[str, Any]) -> list[str]:
    [choice_set] = [b for b in card["body"] if b.get("id") == "delivery"]
    return [c["value"] for c in choice_set["choices"]]


async def test_the_reminder_offers_the_ways_that_work_for_the_joiner(
    start_bot: StartBot, connector: RecordingConnector
) -> None:
    bot = await _reminded(start_bot, connector)
    card = _reminder(connector)

    assert _choices(card) == ["chat_requester", "email"]
    text = _text(card)
    assert "By email to e•••@example.net" in text
    assert "The pass: " in text
    assert "8 hours, for more than one sign-in" in text
    assert "By text message: not possible, text messages are not set up." in text
    assert bot.directory.sent_mail == []


async def test_one_click_issues_a_pass_that_starts_on_day_one(
    start_bot: StartBot, connector: RecordingConnector
) -> None:
    bot = await _reminded(start_bot, connector)

    answer = await bot.invoke(connector.url, "joiner.issue", _click(bot, "email"))

    assert "Pass issued for Emma Brooks" in _text(answer["value"])
    issued = bot.directory.pass_of(EMMA.id)
    assert issued is not None
    # Midnight of the hire day in Europe/Berlin (UTC+1 in December).
    day_one = datetime.combine(_hire_day(bot), time(0), UTC) - timedelta(hours=1)
    assert issued.start_at == day_one
    [mail] = bot.directory.sent_mail
    assert mail.to == ("emma.home@example.net",)
    [request] = await bot.store.list_requests()
    assert (request.kind, request.state) == (RequestKind.JOINER, RequestState.DELIVERED)
    assert request.requester_id == MANAGER.id
    event = await bot.store.get_joiner(EMMA.id, _hire_day(bot))
    assert event is not None
    assert (event.state, event.owner) == (JoinerState.REQUESTED, request.id)


async def test_a_second_click_shows_the_same_pass_and_makes_no_other(
    start_bot: StartBot, connector: RecordingConnector
) -> None:
    bot = await _reminded(start_bot, connector)
    await bot.invoke(connector.url, "joiner.issue", _click(bot))

    again = await bot.invoke(connector.url, "joiner.issue", _click(bot))
    other_button = await bot.invoke(connector.url, "joiner.not_needed", _click(bot), user=HELPDESK)

    assert "Pass issued for Emma Brooks" in _text(again["value"])
    assert "Pass issued for Emma Brooks" in _text(other_button["value"])
    assert len(await bot.store.list_requests()) == 1


async def test_a_way_not_possible_is_refused_before_any_pass_and_the_reminder_stays(
    start_bot: StartBot, connector: RecordingConnector
) -> None:
    bot = await _reminded(start_bot, connector)

    answer = await bot.invoke(connector.url, "joiner.issue", _click(bot, "sms"))

    value = answer["value"]
    assert "The pass can't go that way now" in _text(value)
    assert next(a["verb"] for a in value["actions"]) == "joiner.issue"
    assert bot.directory.pass_of(EMMA.id) is None
    event = await bot.store.get_joiner(EMMA.id, _hire_day(bot))
    assert event is not None
    assert event.state is JoinerState.REMINDED
    refused = [e for e in await bot.store.list_audit() if e.outcome == "refused"]
    assert [(e.actor_id, e.reason) for e in refused] == [(MANAGER.id, "invalid_input")]


async def test_the_joiners_own_chat_is_never_taken_from_a_forged_card(
    start_bot: StartBot, connector: RecordingConnector
) -> None:
    bot = await _reminded(start_bot, connector)

    answer = await bot.invoke(connector.url, "joiner.issue", _click(bot, "chat_target"))

    assert "Choose how the pass should travel" in _text(answer["value"])
    assert bot.directory.pass_of(EMMA.id) is None


async def test_someone_else_gets_no_pass(
    start_bot: StartBot, connector: RecordingConnector
) -> None:
    bot = await _reminded(start_bot, connector)

    answer = await bot.invoke(connector.url, "joiner.issue", _click(bot), user=NOBODY)

    assert "Only the joiner's manager or the helpdesk" in _text(answer["value"])
    assert bot.directory.pass_of(EMMA.id) is None
    assert await bot.store.list_requests() == []


async def test_a_joiner_who_became_ineligible_is_refused_and_can_be_answered_again(
    start_bot: StartBot, connector: RecordingConnector
) -> None:
    bot = await _reminded(start_bot, connector)
    bot.directory.users[EMMA.id] = dataclasses.replace(
        bot.directory.users[EMMA.id], account_enabled=False
    )

    answer = await bot.invoke(connector.url, "joiner.issue", _click(bot))

    value = answer["value"]
    assert "disabled" in _text(value)
    assert next(a["verb"] for a in value["actions"]) == "joiner.issue"
    event = await bot.store.get_joiner(EMMA.id, _hire_day(bot))
    assert event is not None
    assert (event.state, event.owner) == (JoinerState.REMINDED, None)
    not_needed = await bot.invoke(connector.url, "joiner.not_needed", _click(bot))
    assert "Marked not needed" in _text(not_needed["value"])


async def test_a_hire_date_moved_after_the_reminder_makes_the_card_out_of_date(
    start_bot: StartBot, connector: RecordingConnector
) -> None:
    bot = await _reminded(start_bot, connector)
    later = _hire_day(bot) + timedelta(days=14)
    bot.directory.users[EMMA.id] = dataclasses.replace(
        bot.directory.users[EMMA.id], employee_hire_date=datetime.combine(later, time(0), UTC)
    )

    answer = await bot.invoke(connector.url, "joiner.issue", _click(bot, "email"))

    value = answer["value"]
    assert f"has changed to {later:%A} {later.day} {later:%B %Y}" in _text(value)
    assert not any(a.get("verb") == "joiner.issue" for a in value.get("actions", []))
    assert bot.directory.pass_of(EMMA.id) is None
    assert bot.directory.sent_mail == []
    assert await bot.store.list_requests() == []


async def test_a_helpdesk_member_in_the_channel_asks_with_four_eyes(
    start_bot: StartBot, connector: RecordingConnector
) -> None:
    bot = await _reminded(start_bot, connector)
    await bot.post(activity(connector.url, text="help", user=HELPDESK))  # her chat for the pass
    channel = {
        "user": HELPDESK,
        "conversation": {
            "id": f"{CHANNEL};messageid=1",
            "conversationType": "channel",
            "isGroup": True,
            "tenantId": "11111111-1111-1111-1111-111111111111",
        },
        "channelData": {
            "tenant": {"id": "11111111-1111-1111-1111-111111111111"},
            "team": {"id": "19:team@thread.tacv2"},
            "channel": {"id": CHANNEL},
        },
        "replyToId": "reminder-1",
    }

    answer = await bot.invoke(connector.url, "joiner.issue", _click(bot), **channel)

    [request] = await bot.store.list_requests()
    assert (request.kind, request.state) == (RequestKind.HELPDESK, RequestState.PENDING_APPROVAL)
    assert "Emma Brooks" in _text(answer["value"])
    assert bot.directory.pass_of(EMMA.id) is None
    assert await bot.store.list_request_messages(request.id)


async def test_auto_issue_emails_the_pass_and_tells_the_manager(
    start_bot: StartBot, connector: RecordingConnector
) -> None:
    bot = await _reminded(start_bot, connector, JOINER_AUTO_ISSUE="true")

    card = _reminder(connector)
    berlin = ZoneInfo("Europe/Berlin")
    day_one = datetime.combine(_hire_day(bot), time(0), berlin)
    assert _lines(card)[-2:] == [
        "I issued Emma Brooks's pass for day one; it was emailed to e•••@example.net.",
        f"It works from {when(day_one, berlin)} until "
        f"{when(day_one + timedelta(hours=8), berlin)}.",
    ]
    assert "actions" not in card
    [mail] = bot.directory.sent_mail
    assert mail.to == ("emma.home@example.net",)
    assert mail.cc == (MANAGER.mail,)
    [request] = await bot.store.list_requests()
    assert (request.kind, request.requester_id) == (RequestKind.JOINER, MANAGER.id)
    event = await bot.store.get_joiner(EMMA.id, _hire_day(bot))
    assert event is not None
    assert (event.state, event.owner) == (JoinerState.REQUESTED, request.id)
    audited = [e.outcome for e in await bot.store.list_audit() if e.action == "joiner"]
    assert "auto_requested" in audited


async def test_auto_issue_without_an_address_sends_the_reminder_saying_why(
    start_bot: StartBot, connector: RecordingConnector
) -> None:
    bot = await _bot(start_bot, dataclasses.replace(EMMA, other_mails=()), JOINER_AUTO_ISSUE="true")
    await bot.post(activity(connector.url, text="help"))

    await _joiners(bot).sweep.run()

    card = _reminder(connector)
    assert "I didn't issue it automatically: email is not possible" in _text(card)
    assert next(a["verb"] for a in card["actions"]) == "joiner.issue"
    assert await bot.store.list_requests() == []


async def test_auto_issue_leaves_a_long_standing_account_to_a_person(
    start_bot: StartBot, connector: RecordingConnector
) -> None:
    """The attack review's case: someone who may write users gave a long-standing employee,
    whose manager has not changed, a hire date three days ahead and a personal address of
    their choosing. tapbot asks for nothing; Megan gets the reminder with its buttons, saying
    why, and the pass goes out only once she asks for it."""
    planted = dataclasses.replace(EMMA, other_mails=("someone.else@example.org",))
    bot = await _bot(start_bot, planted, created_days_ago=400, JOINER_AUTO_ISSUE="true")
    await bot.post(activity(connector.url, text="help"))

    await _joiners(bot).sweep.run()

    card = _reminder(connector)
    assert (
        "I didn't issue it automatically: their account was created 400 days ago, so a "
        "person should confirm they are new."
    ) in [b["text"] for b in card["body"] if b["type"] == "TextBlock"]
    assert [a["verb"] for a in card["actions"]] == [
        "joiner.issue",
        "joiner.not_needed",
        "joiner.tomorrow",
    ]
    assert _choices(card) == ["chat_requester", "email"]
    assert await bot.store.list_requests() == []
    assert bot.directory.sent_mail == []
    assert bot.directory.pass_of(EMMA.id) is None
    event = await bot.store.get_joiner(EMMA.id, _hire_day(bot))
    assert event is not None
    assert event.state is JoinerState.REMINDED
    [skipped] = [e for e in await bot.store.list_audit() if e.outcome == "auto_skipped"]
    assert (skipped.action, skipped.target_id, skipped.reason) == (
        "joiner",
        EMMA.id,
        "account_not_new",
    )
    assert skipped.detail["created_at"] == (bot.clock.now() - timedelta(days=400)).isoformat()

    # Megan confirms: her click asks for the pass, through the usual rules (this fresh bot has
    # no earlier record of Emma's manager, so a helpdesk member approves it first).
    answer = await bot.invoke(connector.url, "joiner.issue", _click(bot))

    [request] = await bot.store.list_requests()
    assert (request.requester_id, request.kind) == (MANAGER.id, RequestKind.JOINER)
    assert "Your pass request for Emma Brooks" in _text(answer["value"])


async def test_auto_issue_after_a_manager_change_waits_for_the_helpdesk_and_says_so(
    start_bot: StartBot, connector: RecordingConnector
) -> None:
    bot = await start_bot(**(MAIL | {"JOINER_AUTO_ISSUE": "true"}))
    bot.directory.add_user(person("tapbot Notifications", user_principal_name=MAIL["MAIL_SENDER"]))
    start = datetime.combine(_hire_day(bot), time(0), UTC)
    # Megan made herself the manager of a new account a moment ago: not HR provisioning.
    bot.directory.add_user(dataclasses.replace(EMMA, employee_hire_date=start))
    bot.directory.set_created(EMMA.id, bot.clock.now() - timedelta(days=4))
    bot.directory.set_manager(EMMA.id, MANAGER.id, by=MANAGER.id)
    await bot.client.server.app[MANAGER_SYNC].poll()
    await bot.post(activity(connector.url, text="help"))

    await _joiners(bot).sweep.run()

    assert "a helpdesk member approves it first" in _text(_reminder(connector))
    [request] = await bot.store.list_requests()
    assert (request.state, request.reason) == (RequestState.PENDING_APPROVAL, "manager_changed")
    assert bot.directory.pass_of(EMMA.id) is None
    assert bot.directory.sent_mail == []

    # The helpdesk approves: the manager's reminder follows the request to its pass.
    event = await bot.store.get_joiner(EMMA.id, _hire_day(bot))
    assert event is not None
    updates = f"/activities/{event.activity_id}"
    before = sum(path.endswith(updates) for path in connector.paths)
    review = {"request_id": request.id, "stage": "1"}
    decided = await bot.invoke(connector.url, "approval.approve", review, user=HELPDESK)

    assert "Approved by" in _text(decided["value"])
    assert bot.directory.pass_of(EMMA.id) is not None
    assert sum(path.endswith(updates) for path in connector.paths) > before
    [*_, card] = [m for m in connector.sent if m.get("id") == event.activity_id]
    words = readable_text(card["attachments"][0]["content"])
    assert "Approved by Hana Desk" in words
    assert "The pass for Emma Brooks was issued" in words
