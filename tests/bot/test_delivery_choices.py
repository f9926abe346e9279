"""Choosing how the pass travels, over HTTP: the manager's two steps, the deliveries offered
per person with their destinations masked, a text message and an email, a typed number, and
the refusals that keep the card as it was filled."""

from __future__ import annotations

import dataclasses
import json
import uuid
from typing import Any

import pytest

from bot.domain.model import RequestState
from tests.bot.conftest import BotUnderTest, StartBot, activity
from tests.bot.connector import RecordingConnector
from tests.twins.directory import person
from tests.twins.sms import FakeSms

DELIVERY = {
    "SMS_PROVIDER": "twilio",
    "TWILIO_ACCOUNT_SID": "AC" + "1" * 32,
    "TWILIO_AUTH_TOKEN": "test-only-token",
    "TWILIO_FROM": "+15005550006",
    "SMS_DEFAULT_REGION": "GB",
    "MAIL_SENDER": "tapbot@contoso.example",
}


async def _bot(start_bot: StartBot, sms: FakeSms, **settings: str) -> BotUnderTest:
    bot = await start_bot(sms=sms, **(DELIVERY | settings))
    directory = bot.directory
    people = {u.display_name: u for u in directory.users.values()}
    directory.users[people["Adele Vance"].id] = dataclasses.replace(
        people["Adele Vance"],
        mobile_phone="07911 123456",
        other_mails=("adele.home@example.net",),
    )
    directory.add_user(person("tapbot Notifications", user_principal_name="tapbot@contoso.example"))
    return bot


def _id(bot: BotUnderTest, name: str) -> str:
    return next(u.id for u in bot.directory.users.values() if u.display_name == name)


def _find(node: Any, input_id: str) -> dict[str, Any] | None:
    if isinstance(node, dict):
        if node.get("id") == input_id:
            return node
        node = list(node.values())
    if isinstance(node, list):
        for item in node:
            if (found := _find(item, input_id)) is not None:
                return found
    return None


async def _step_two(bot: BotUnderTest, connector: RecordingConnector, name: str) -> dict[str, Any]:
    """ "request", pick *name*, Next: the card of step two."""
    await bot.post(activity(connector.url, text="request"))
    first = connector.sent[-1]["attachments"][0]["content"]
    [next_button] = [a for a in first["actions"] if a["title"] == "Next"]
    data = next_button["data"] | {"target": _id(bot, name)}
    answer = await bot.invoke(connector.url, next_button["verb"], data)
    card: dict[str, Any] = answer["value"]
    assert card["actions"][0]["data"]["form_id"] == next_button["data"]["form_id"]
    return card


def _filled(card: dict[str, Any], **changes: str) -> dict[str, Any]:
    return (
        card["actions"][0]["data"]
        | {
            "lifetime": "60",
            "one_time": "true",
            "start": "now",
            "start_date": "",
            "start_time": "",
            "delivery": "chat_requester",
            "sms_number": "",
            "justification": "New phone",
        }
        | changes
    )


def _choices(card: dict[str, Any]) -> dict[str, str]:
    delivery = _find(card, "delivery")
    assert delivery is not None
    return {c["value"]: c["title"] for c in delivery["choices"]}


async def test_step_two_offers_what_works_for_each_person_with_destinations_masked(
    start_bot: StartBot, connector: RecordingConnector
) -> None:
    bot = await _bot(start_bot, FakeSms("twilio"))
    adele = await _step_two(bot, connector, "Adele Vance")
    assert _choices(adele) == {
        "chat_requester": "To me, in this chat",
        "sms": "By text message to +44 •••• ••34 56",
        "email": "By email to a•••@example.net",
    }
    assert "07911" not in json.dumps(adele)
    assert "adele.home" not in json.dumps(adele)

    lee = await _step_two(bot, connector, "Lee Gu")
    assert _choices(lee) == {"chat_requester": "To me, in this chat"}
    text = json.dumps(lee, ensure_ascii=False)
    assert (
        "By text message: not possible, Lee's mobile number in the directory can't be used" in text
    )
    assert _find(lee, "sms_number") is None


async def test_a_text_message_reaches_the_phone_and_the_card_says_where(
    start_bot: StartBot, connector: RecordingConnector
) -> None:
    sms = FakeSms("twilio")
    bot = await _bot(start_bot, sms)
    card = await _step_two(bot, connector, "Adele Vance")
    answer = await bot.invoke(connector.url, "request.submit", _filled(card, delivery="sms"))
    outcome = json.dumps(answer["value"], ensure_ascii=False)
    assert "Pass issued for Adele Vance" in outcome
    assert "The pass was sent by text message to +44 •••• ••34 56" in outcome
    [text] = sms.sent
    assert text.to == "+447911123456"
    [request] = await bot.store.list_requests()
    assert (request.state, request.delivered_to) == (RequestState.DELIVERED, "+44 •••• ••34 56")


async def test_an_email_reaches_the_personal_address_and_the_card_says_where(
    start_bot: StartBot, connector: RecordingConnector
) -> None:
    bot = await _bot(start_bot, FakeSms("twilio"))
    card = await _step_two(bot, connector, "Adele Vance")
    answer = await bot.invoke(connector.url, "request.submit", _filled(card, delivery="email"))
    assert "The pass was emailed to a•••@example.net" in json.dumps(
        answer["value"], ensure_ascii=False
    )
    [mail] = bot.directory.sent_mail
    assert mail.to == ("adele.home@example.net",)


async def test_a_method_the_person_cannot_take_is_refused_before_any_pass_keeping_the_card(
    start_bot: StartBot, connector: RecordingConnector
) -> None:
    sms = FakeSms("twilio")
    bot = await _bot(start_bot, sms)
    card = await _step_two(bot, connector, "Lee Gu")  # no mobile number, no personal address
    forged = _filled(card, delivery="sms", justification="Kept as typed")
    answer = await bot.invoke(connector.url, "request.submit", forged)
    again = answer["value"]
    text = json.dumps(again, ensure_ascii=False)
    assert "I can't deliver the pass that way now: Lee's mobile number" in text
    justification = _find(again, "justification")
    assert justification is not None
    assert justification["value"] == "Kept as typed"
    assert bot.directory.pass_of(_id(bot, "Lee Gu")) is None
    assert sms.sent == []
    [refused] = await bot.store.list_audit(limit=1)
    assert (refused.outcome, refused.detail["field"]) == ("refused", "delivery")


async def test_a_number_box_is_offered_only_when_typing_is_allowed_and_used_when_filled(
    start_bot: StartBot, connector: RecordingConnector
) -> None:
    sms = FakeSms("twilio")
    bot = await _bot(start_bot, sms, SMS_ALLOW_TYPED_NUMBER="true")
    card = await _step_two(bot, connector, "Lee Gu")
    assert _choices(card)["sms"] == "By text message to a number I type"
    box = _find(card, "sms_number")
    assert box is not None
    assert box["label"] == "Mobile number for the text message"

    filled = _filled(card, delivery="sms", sms_number="07400 123999")
    answer = await bot.invoke(connector.url, "request.submit", filled)
    assert "sent by text message to +44 •••• ••39 99" in json.dumps(
        answer["value"], ensure_ascii=False
    )
    [text] = sms.sent
    assert text.to == "+447400123999"
    [request] = await bot.store.list_requests()
    assert request.typed_number == "+447400123999"


@pytest.mark.parametrize(
    ("typed", "words"),
    [("020 7946 0111", "landline"), ("", "Type the mobile number"), ("12", "too short")],
)
async def test_a_typed_number_that_cannot_take_a_text_gives_no_pass_and_says_why(
    start_bot: StartBot, connector: RecordingConnector, typed: str, words: str
) -> None:
    sms = FakeSms("twilio")
    bot = await _bot(start_bot, sms, SMS_ALLOW_TYPED_NUMBER="true")
    card = await _step_two(bot, connector, "Lee Gu")
    answer = await bot.invoke(
        connector.url, "request.submit", _filled(card, delivery="sms", sms_number=typed)
    )
    again = answer["value"]
    assert words in json.dumps(again, ensure_ascii=False)
    box = _find(again, "sms_number")
    assert box is not None
    assert box.get("value", "") == typed
    assert await bot.store.list_requests() == []
    assert bot.directory.pass_of(_id(bot, "Lee Gu")) is None
    assert sms.sent == []
    [refused] = await bot.store.list_audit(limit=1)
    assert refused.detail["field"] == "sms_number"
    if typed:
        assert typed not in json.dumps(refused.detail)


async def test_a_forged_number_without_leave_to_type_gets_the_general_refusal(
    start_bot: StartBot, connector: RecordingConnector
) -> None:
    sms = FakeSms("twilio")
    bot = await _bot(start_bot, sms)
    card = await _step_two(bot, connector, "Adele Vance")
    forged = _filled(card, delivery="sms", sms_number="+447400123999")
    answer = await bot.invoke(connector.url, "request.submit", forged)
    assert "No pass was requested" in json.dumps(answer["value"])
    assert sms.sent == []
    assert await bot.store.list_requests() == []


async def test_a_forged_submit_for_someone_else_tells_nothing_about_their_phone(
    start_bot: StartBot, connector: RecordingConnector
) -> None:
    """Whether Nora (not Megan's report) has a usable mobile must not change the answer."""
    bot = await _bot(start_bot, FakeSms("twilio"))
    card = await _step_two(bot, connector, "Adele Vance")
    nora = _id(bot, "Nora Body")
    answers = []
    for delivery in ("chat_requester", "sms"):
        forged = _filled(card, delivery=delivery, target=nora, form_id=str(uuid.uuid4()))
        answers.append((await bot.invoke(connector.url, "request.submit", forged))["value"])
    assert answers[0] == answers[1]
    assert "No pass was requested" in json.dumps(answers[0])
    assert bot.directory.pass_of(nora) is None
