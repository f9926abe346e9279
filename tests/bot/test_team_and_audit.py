""" "team" and "audit" over HTTP: the cards, their buttons, and who may use them."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from bot.domain.model import AuditEvent
from bot.domain.offers import DETAILS_PER_PERSON_PER_HOUR, SLOW_DOWN
from cards.commands import COMMANDS
from tests.bot.conftest import HELPDESK, MANAGER, NOBODY, BotUnderTest, StartBot, activity
from tests.bot.connector import RecordingConnector
from tests.twins.directory import person
from tests.twins.store import use_up
from tests.unit.cards.card_walk import actions, texts


async def _say(bot: BotUnderTest, connector: RecordingConnector, text: str, **who: Any) -> Any:
    before = len(connector.sent)
    response = await bot.post(activity(connector.url, text=text, **who))
    assert response.status in (200, 201), await response.text()
    assert len(connector.sent) == before + 1
    return connector.sent[-1]


def _card(sent: dict[str, Any]) -> dict[str, Any]:
    card: dict[str, Any] = sent["attachments"][0]["content"]
    return card


def _button(card: dict[str, Any], title: str, **data: str) -> dict[str, Any]:
    return next(
        a
        for a in actions(card)
        if a["title"] == title and all(a["data"].get(k) == v for k, v in data.items())
    )


async def _click(
    bot: BotUnderTest, connector: RecordingConnector, button: dict[str, Any], **who: Any
) -> Any:
    answer = await bot.invoke(connector.url, button["verb"], button["data"], **who)
    return answer["value"]


def _report(bot: BotUnderTest, name: str) -> str:
    return next(u.id for u in bot.directory.users.values() if u.display_name == name)


async def _issue(bot: BotUnderTest, user_id: str) -> str:
    issued = await bot.directory.create_pass(
        user_id, lifetime_minutes=60, is_usable_once=True, start_at=None
    )
    return issued.info.id


async def test_a_manager_sees_the_team_and_revokes_a_pass_after_confirming(
    start_bot: StartBot, connector: RecordingConnector
) -> None:
    bot = await start_bot()
    adele = _report(bot, "Adele Vance")
    pass_id = await _issue(bot, adele)

    card = _card(await _say(bot, connector, "team"))

    runs = texts(card, "TextRun")
    names = ["Adele Vance", "Lee Gu", "Lynne Robbins"]
    assert [r for r in runs if r in names] == names
    assert any(r.startswith("Active from") and "one-time use" in r for r in runs)
    assert [a["data"] for a in actions(card) if a["verb"] == "team.revoke"] == [
        {"target": adele, "pass_id": pass_id}
    ]

    question = await _click(bot, connector, _button(card, "Revoke"))
    assert "Revoke this pass?" in json.dumps(question)
    assert bot.directory.pass_of(adele) is not None

    confirm = _button(question, "Revoke the pass")
    done = await _click(bot, connector, confirm | {"data": confirm["data"] | {"tell_them": "true"}})

    assert bot.directory.pass_of(adele) is None
    notice = texts(done, "TextRun")[0]
    assert notice.startswith("Adele Vance's pass was revoked")
    assert "couldn't tell them in Teams" in notice  # Adele never opened a chat with the bot
    outcomes = [e.outcome for e in await bot.store.list_audit(action="revoke", oldest_first=True)]
    assert outcomes == ["revoked", "target_not_reached"]


async def test_a_forged_revoke_for_someone_elses_report_is_refused_in_words(
    start_bot: StartBot, connector: RecordingConnector
) -> None:
    bot = await start_bot()
    pass_id = await _issue(bot, NOBODY.id)
    forged = {"verb": "team.revoke_confirm", "data": {"target": NOBODY.id, "pass_id": pass_id}}

    answer = await _click(bot, connector, forged)

    assert "Nothing was revoked" in json.dumps(answer)
    assert "doesn't report to you" in json.dumps(answer)
    assert bot.directory.pass_of(NOBODY.id) is not None
    [event] = await bot.store.list_audit(action="revoke")
    assert (event.outcome, event.reason, event.actor_id) == (
        "refused",
        "not_direct_report",
        MANAGER.id,
    )


async def test_revoking_a_pass_already_gone_says_so_and_shows_the_team(
    start_bot: StartBot, connector: RecordingConnector
) -> None:
    bot = await start_bot()
    lee = _report(bot, "Lee Gu")
    pass_id = await _issue(bot, lee)
    await bot.directory.delete_pass(lee, pass_id)

    answer = await _click(
        bot, connector, {"verb": "team.revoke_confirm", "data": {"target": lee, "pass_id": pass_id}}
    )

    assert texts(answer, "TextRun")[0].startswith("That pass of Lee Gu's was already gone")
    assert "Your team's passes" in json.dumps(answer)


async def test_a_team_of_45_is_paged_by_twenty(
    start_bot: StartBot, connector: RecordingConnector
) -> None:
    bot = await start_bot()
    for n in range(42):
        bot.directory.add_user(person(f"Report {n:02d}"), manager_id=MANAGER.id)

    first = _card(await _say(bot, connector, "team"))
    assert "People 1 to 20 of 45" in json.dumps(first)
    second = await _click(bot, connector, _button(first, "Next people"))
    assert "People 21 to 40 of 45" in json.dumps(second)
    third = await _click(bot, connector, _button(second, "Next people"))
    assert "People 41 to 45 of 45" in json.dumps(third)
    back = await _click(bot, connector, _button(third, "Previous people"))
    assert "People 21 to 40 of 45" in json.dumps(back)


async def test_request_from_a_row_opens_the_pass_step_for_that_person_and_issues(
    start_bot: StartBot, connector: RecordingConnector
) -> None:
    bot = await start_bot()
    lynne = _report(bot, "Lynne Robbins")
    card = _card(await _say(bot, connector, "team"))

    details = await _click(bot, connector, _button(card, "Request a pass", target=lynne))

    # Step two straight away: no list of people, no Next to click.
    runs = texts(details, "TextRun")
    assert "Temporary Access Pass for Lynne Robbins" in runs
    assert "Next" not in [a["title"] for a in actions(details)]
    [submit] = [a for a in actions(details) if a["verb"] == "request.submit"]
    assert submit["data"]["target"] == lynne
    filled = submit["data"] | {
        "lifetime": "60",
        "one_time": "true",
        "start": "now",
        "delivery": "chat_requester",
        "justification": "Lost her phone",
    }
    outcome = await _click(bot, connector, submit | {"data": filled})
    assert "Pass issued for Lynne Robbins" in json.dumps(outcome)
    assert bot.directory.pass_of(lynne) is not None


async def test_request_from_a_forged_row_is_checked_as_next_is(
    start_bot: StartBot, connector: RecordingConnector
) -> None:
    """The row's target is card data: someone not the clicker's report gets the refusal Next
    gives, and nothing about them."""
    bot = await start_bot()

    answer = await _click(bot, connector, {"verb": "team.request", "data": {"target": NOBODY.id}})

    words = json.dumps(answer)
    assert "No pass can be requested" in words
    assert "doesn't report to you" in words
    assert NOBODY.user_principal_name not in words
    assert "request.submit" not in words


async def test_request_from_a_row_naming_nobody_opens_step_one(
    start_bot: StartBot, connector: RecordingConnector
) -> None:
    bot = await start_bot()

    answer = await _click(bot, connector, {"verb": "team.request", "data": {"target": ""}})

    assert "Choose the person who needs the pass first." in texts(answer, "TextRun")
    assert [c["title"] for c in _choices(answer)] == ["Adele Vance", "Lee Gu", "Lynne Robbins"]


async def test_request_from_a_row_counts_against_the_same_limit_as_next(
    start_bot: StartBot, connector: RecordingConnector
) -> None:
    bot = await start_bot()
    lee = _report(bot, "Lee Gu")
    await use_up(bot.store, "details", MANAGER.id, DETAILS_PER_PERSON_PER_HOUR, at=bot.clock.now())
    calls = bot.directory.called("get_manager")

    answer = await _click(bot, connector, {"verb": "team.request", "data": {"target": lee}})

    assert SLOW_DOWN in json.dumps(answer)
    assert bot.directory.called("get_manager") == calls


def _choices(card: dict[str, Any]) -> list[dict[str, Any]]:
    return next(e for e in card["body"] if e.get("id") == "target")["choices"]  # type: ignore[no-any-return]


async def test_team_and_audit_stay_out_of_group_chats(
    start_bot: StartBot, connector: RecordingConnector
) -> None:
    bot = await start_bot()
    group = {"id": "19:group@thread.v2", "conversationType": "groupChat", "isGroup": True}
    sent = await _say(bot, connector, "team", conversation=group)
    assert sent["text"] == "Your team's passes are private: ask me in our 1:1 chat."
    sent = await _say(bot, connector, "audit", conversation=group, user=HELPDESK)
    assert sent["text"] == "The audit trail is private: ask me in our 1:1 chat."


async def _events(bot: BotUnderTest, count: int, **fields: Any) -> None:
    for n in range(count):
        values: dict[str, Any] = {
            "at": bot.clock.now() - timedelta(minutes=count - n),
            "action": "request",
            "outcome": "refused" if n % 2 else "created",
            "actor_id": MANAGER.id,
            "target_id": NOBODY.id,
            "reason": "not_direct_report" if n % 2 else None,
        }
        values.update(fields)
        await bot.store.append_audit(AuditEvent(**values))


async def test_a_helpdesk_member_reads_the_audit_trail_with_names_and_pages(
    start_bot: StartBot, connector: RecordingConnector
) -> None:
    bot = await start_bot()
    await _events(bot, 25)

    card = _card(await _say(bot, connector, "audit", user=HELPDESK))

    runs = texts(card, "TextRun")
    assert "Megan Bowen" in runs
    assert "Nora Body" in runs
    assert "request: refused" in " ".join(runs)
    assert sum(1 for r in runs if r.startswith("reason: not_direct_report")) == 5
    older = await _click(bot, connector, _button(card, "Older events"), user=HELPDESK)
    last = await _click(bot, connector, _button(older, "Older events"), user=HELPDESK)
    assert "Older events" not in [a["title"] for a in actions(last)]
    assert sum(1 for r in texts(last, "TextRun") if r == "Megan Bowen") == 5


async def test_the_audit_trail_filters_by_person_typed_as_a_name(
    start_bot: StartBot, connector: RecordingConnector
) -> None:
    bot = await start_bot()
    adele = _report(bot, "Adele Vance")
    await _events(bot, 4)
    await _events(bot, 3, target_id=adele, outcome="revoked")

    card = _card(await _say(bot, connector, "audit", user=HELPDESK))
    apply = _button(card, "Apply filters")
    answer = await _click(
        bot,
        connector,
        apply | {"data": {"person": "adele", "requester": "", "outcome": ""}},
        user=HELPDESK,
    )

    runs = texts(answer, "TextRun")
    assert runs.count("Adele Vance") == 3
    assert "Nora Body" not in runs
    person_input = next(e for e in answer["body"][1]["columns"][0]["items"])
    assert person_input["value"] == "Adele Vance"

    nobody = await _click(
        bot, connector, apply | {"data": {"person": "Zebedee", "outcome": "revoked"}}, user=HELPDESK
    )
    assert 'No one in the directory matches "Zebedee". That filter is left out.' in texts(
        nobody, "TextRun"
    )


async def test_audit_outside_the_helpdesk_is_refused_in_words_and_audited(
    start_bot: StartBot, connector: RecordingConnector
) -> None:
    bot = await start_bot()
    await _events(bot, 3)

    card = _card(await _say(bot, connector, "audit"))

    assert "The audit trail is not available to you" in json.dumps(card)
    assert "Megan Bowen" not in json.dumps(card)
    [event] = await bot.store.list_audit(action="audit")
    assert (event.outcome, event.reason, event.actor_id) == ("refused", "not_helpdesk", MANAGER.id)
    forged = await _click(bot, connector, {"verb": "audit.page", "data": {}})
    assert "The audit trail is not available to you" in json.dumps(forged)


async def test_every_listed_command_is_understood(
    start_bot: StartBot, connector: RecordingConnector
) -> None:
    bot = await start_bot()
    for word, _ in COMMANDS:
        sent = await _say(bot, connector, word, user=HELPDESK)
        assert "didn't recognise" not in json.dumps(sent), word
