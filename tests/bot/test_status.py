""" "status" over HTTP: the asker's requests and where each stands, paging, and Cancel — only
by the person who asked, and only while the request waits."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

from bot.domain.model import DeliveryMethod, RequestState, TapRequest
from tests.bot.conftest import HELPDESK, MANAGER, BotUnderTest, StartBot, activity
from tests.bot.connector import RecordingConnector
from tests.bot.flows import outside_the_personal_chat
from tests.unit.cards.card_walk import actions, texts


async def _say(bot: BotUnderTest, connector: RecordingConnector, text: str, **who: Any) -> Any:
    before = len(connector.sent)
    response = await bot.post(activity(connector.url, text=text, **who))
    assert response.status in (200, 201), await response.text()
    assert len(connector.sent) == before + 1
    return connector.sent[-1]


async def _status(bot: BotUnderTest, connector: RecordingConnector, **who: Any) -> dict[str, Any]:
    sent = await _say(bot, connector, "status", **who)
    card: dict[str, Any] = sent["attachments"][0]["content"]
    return card


async def _click(
    bot: BotUnderTest, connector: RecordingConnector, verb: str, data: dict[str, Any], **who: Any
) -> dict[str, Any]:
    answer = await bot.invoke(connector.url, verb, data, **who)
    assert answer["type"] == "application/vnd.microsoft.card.adaptive", answer
    card: dict[str, Any] = answer["value"]
    return card


def _report(bot: BotUnderTest, name: str) -> str:
    return next(u.id for u in bot.directory.users.values() if u.display_name == name)


def _submission(target: str, why: str = "Lost phone, identity checked") -> dict[str, str]:
    return {
        "form_id": str(uuid.uuid4()),
        "target": target,
        "lifetime": "60",
        "one_time": "true",
        "start": "now",
        "start_date": "",
        "start_time": "",
        "delivery": "chat_requester",
        "justification": why,
    }


def _cancel_buttons(card: dict[str, Any]) -> list[dict[str, Any]]:
    return [a for a in actions(card) if a["verb"] == "status.cancel"]


async def _hana_asks_for_lee(bot: BotUnderTest, connector: RecordingConnector) -> str:
    """A helpdesk request: it waits for another helpdesk member's approval."""
    lee = _report(bot, "Lee Gu")
    await _click(bot, connector, "request.submit", _submission(lee), user=HELPDESK)
    [request] = await bot.store.list_requests(requester_id=HELPDESK.id)
    assert request.state is RequestState.PENDING_APPROVAL
    return request.id


async def test_someone_who_never_asked_gets_a_friendly_card(
    start_bot: StartBot, connector: RecordingConnector
) -> None:
    bot = await start_bot()
    card = await _status(bot, connector)
    assert "You haven't asked for any passes yet" in json.dumps(card)
    assert [a["verb"] for a in card["actions"]] == ["request.open"]


async def test_a_managers_issued_request_shows_how_it_was_delivered_and_until_when(
    start_bot: StartBot, connector: RecordingConnector
) -> None:
    bot = await start_bot()
    adele = _report(bot, "Adele Vance")
    await _click(bot, connector, "request.submit", _submission(adele))

    card = await _status(bot, connector)

    runs = texts(card, "TextRun")
    assert "For Adele Vance" in runs
    assert "Issued" in runs
    assert any(
        r.startswith("The pass was issued and sent to you in this chat, valid") for r in runs
    )
    assert _cancel_buttons(card) == []


async def test_the_helpdesk_request_waits_and_its_requester_cancels_it_from_status(
    start_bot: StartBot, connector: RecordingConnector
) -> None:
    # A helpdesk channel is known: the approval card is shown, and the request just waits.
    bot = await start_bot(HELPDESK_CHANNEL_ID="19:approvals@thread.tacv2")
    request_id = await _hana_asks_for_lee(bot, connector)

    card = await _status(bot, connector, user=HELPDESK)

    runs = texts(card, "TextRun")
    assert "Waiting for approval" in runs
    assert any("waiting for a helpdesk member other than Hana Desk to decide" in r for r in runs)
    [cancel] = _cancel_buttons(card)
    assert cancel["data"] == {"request_id": request_id}

    after = await _click(bot, connector, cancel["verb"], cancel["data"], user=HELPDESK)

    assert texts(after, "TextRun")[0] == (
        "Your request for Lee Gu is cancelled: no pass will be issued."
    )
    assert "Cancelled" in texts(after, "TextRun")
    assert _cancel_buttons(after) == []
    stored = await bot.store.get_request(request_id)
    assert stored is not None
    assert stored.state is RequestState.CANCELLED
    [event] = await bot.store.list_audit(outcome="cancelled")
    assert (event.actor_id, event.request_id, event.reason) == (
        HELPDESK.id,
        request_id,
        "cancelled_by_requester",
    )

    again = await _click(bot, connector, cancel["verb"], cancel["data"], user=HELPDESK)
    assert texts(again, "TextRun")[0] == (
        "Nothing was cancelled: your request for Lee Gu isn't waiting any more (cancelled)."
    )


async def test_a_forged_cancel_of_someone_elses_request_is_refused_and_audited(
    start_bot: StartBot, connector: RecordingConnector
) -> None:
    bot = await start_bot()
    request_id = await _hana_asks_for_lee(bot, connector)

    answer = await _click(bot, connector, "status.cancel", {"request_id": request_id})

    assert texts(answer, "TextRun")[0].startswith("That request isn't yours")
    assert "Lee Gu" not in json.dumps(answer)  # Megan sees her own requests, not Hana's
    stored = await bot.store.get_request(request_id)
    assert stored is not None
    assert stored.state is RequestState.PENDING_APPROVAL
    [event] = [e for e in await bot.store.list_audit() if e.reason == "not_your_request"]
    assert (event.actor_id, event.outcome, event.request_id) == (
        MANAGER.id,
        "refused",
        request_id,
    )


async def test_a_managers_status_never_shows_the_helpdesks_requests(
    start_bot: StartBot, connector: RecordingConnector
) -> None:
    bot = await start_bot()
    await _hana_asks_for_lee(bot, connector)
    hanas = (await bot.store.list_requests(requester_id=HELPDESK.id))[0]
    forged = {"before_at": (hanas.created_at + timedelta(seconds=1)).isoformat()}

    card = await _status(bot, connector)
    paged = await _click(bot, connector, "status.page", forged | {"before_id": hanas.id})

    assert "Lee Gu" not in json.dumps(card)
    assert "Lee Gu" not in json.dumps(paged)


async def test_twelve_requests_are_paged_ten_and_two(
    start_bot: StartBot, connector: RecordingConnector
) -> None:
    bot = await start_bot()
    adele = _report(bot, "Adele Vance")
    now = bot.clock.now()
    for n in range(12):
        at = now - timedelta(minutes=60 - n)
        await bot.store.add_request(
            TapRequest(
                id=f"r{n:02d}",
                requester_id=MANAGER.id,
                requester_name=MANAGER.display_name,
                target_id=adele,
                target_name=f"Person {n:02d}",
                lifetime_minutes=60,
                is_usable_once=True,
                start_at=None,
                delivery=DeliveryMethod.CHAT_TO_REQUESTER,
                justification="test",
                state=RequestState.EXPIRED,
                created_at=at,
                updated_at=at,
            )
        )

    first = await _status(bot, connector)
    [older] = [a for a in first["actions"] if a["title"] == "Older requests"]
    second = await _click(bot, connector, older["verb"], older["data"])
    [newer] = [a for a in second["actions"] if a["title"] == "Newer requests"]
    back = await _click(bot, connector, newer["verb"], newer["data"])

    def shown(card: dict[str, Any]) -> list[str]:
        return [t[4:] for t in texts(card, "TextRun") if t.startswith("For ")]

    assert shown(first) == [f"Person {n:02d}" for n in range(11, 1, -1)]
    assert shown(second) == ["Person 01", "Person 00"]
    assert shown(back) == shown(first)


async def test_status_is_only_answered_in_the_personal_chat(
    start_bot: StartBot, connector: RecordingConnector
) -> None:
    bot = await start_bot()
    said, answer = await outside_the_personal_chat(bot, connector, "status", "status.page")
    assert said == "Your requests are private: ask me in our 1:1 chat."
    assert answer["statusCode"] == 400


async def test_hostile_card_data_on_status_buttons_gets_a_card_not_an_error(
    start_bot: StartBot, connector: RecordingConnector
) -> None:
    bot = await start_bot()
    request_id = await _hana_asks_for_lee(bot, connector)
    hostile: list[dict[str, Any]] = [
        {"request_id": [request_id]},
        {"request_id": {"$ne": ""}},
        {"request_id": None, "before_at": 5, "before_id": True},
        {"before_at": "9999-12-31T23:59:59+14:00", "before_id": "\u0000"},
        {"after_at": "0001-01-01T00:00:00+00:00", "after_id": "' OR 1=1 --"},
        {"before_at": "0001-01-01T00:00:00+14:00", "before_id": request_id},
        {"request_id": request_id + "\u0000"},
        {"before_at": "2025-06-09T08:00:00+00:00", "before_id": "x" * 10_000},
    ]
    for data in hostile:
        for verb in ("status.page", "status.cancel"):
            card = await _click(bot, connector, verb, data, user=HELPDESK)
            assert "Your pass requests" in json.dumps(card), (verb, data)
    stored = await bot.store.get_request(request_id)
    assert stored is not None
    assert stored.state is RequestState.PENDING_APPROVAL
