"""Flows 2 and 3 over HTTP: the helpdesk's search (typeahead and box), a request waiting for
approval, the approval card in the helpdesk channel, a decision from the channel, and the
invokes that must be refused."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from bot.domain.model import RequestState
from tests.bot.conftest import HELPDESK, HELPDESK_GROUP_ID, BotUnderTest, StartBot, activity
from tests.bot.connector import RecordingConnector
from tests.bot.flows import helpdesk_submission
from tests.twins.directory import person

CHANNEL = "19:approvals@thread.tacv2"
APPROVER = person("Ada Approver", id="aaaaaaaa-0000-0000-0000-00000000000d")


def _in_channel(body: dict[str, Any]) -> dict[str, Any]:
    """The same activity as sent from a thread in the helpdesk channel."""
    return body | {
        "conversation": {
            "id": f"{CHANNEL};messageid=1",
            "conversationType": "channel",
            "isGroup": True,
            "tenantId": body["channelData"]["tenant"]["id"],
        },
        "channelData": body["channelData"] | {"channel": {"id": CHANNEL}},
    }


async def _search(bot: BotUnderTest, connector: RecordingConnector, text: str, **who: Any) -> Any:
    value = {"queryText": text, "queryOptions": {"skip": 0, "top": 15}, "dataset": "tapbot.people"}
    response = await bot.post(
        activity(connector.url, type="invoke", name="application/search", value=value, **who)
    )
    assert response.status == 200
    return await response.json()


async def _with_approver(start_bot: StartBot, connector: RecordingConnector) -> BotUnderTest:
    bot = await start_bot(HELPDESK_CHANNEL_ID=CHANNEL)
    bot.directory.add_user(APPROVER)
    bot.directory.add_group(HELPDESK_GROUP_ID, APPROVER.id)
    # The approver has talked to tapbot before: it knows where to reach their Teams.
    await bot.post(activity(connector.url, text="help", user=APPROVER))
    return bot


async def test_the_typeahead_answers_a_helpdesk_member_with_people(
    start_bot: StartBot, connector: RecordingConnector
) -> None:
    bot = await start_bot()

    answer = await _search(bot, connector, "Ad", user=HELPDESK)

    assert answer["type"] == "application/vnd.microsoft.search.searchResponse"
    titles = [r["title"] for r in answer["value"]["results"]]
    assert any(t.startswith("Adele Vance") for t in titles)


async def test_the_typeahead_tells_nobody_else_anything(
    start_bot: StartBot, connector: RecordingConnector
) -> None:
    bot = await start_bot()

    as_manager = await _search(bot, connector, "Ad")
    as_other_dataset = await bot.post(
        activity(
            connector.url,
            type="invoke",
            name="application/search",
            value={"queryText": "Ad", "dataset": "secrets"},
            user=HELPDESK,
        )
    )

    assert as_manager["value"]["results"] == []
    assert (await as_other_dataset.json())["value"]["results"] == []


async def test_a_helpdesk_request_waits_and_is_approved_from_the_channel(
    start_bot: StartBot, connector: RecordingConnector
) -> None:
    bot = await _with_approver(start_bot, connector)
    await bot.post(activity(connector.url, text="request", user=HELPDESK))
    form = connector.sent[-1]["attachments"][0]["content"]
    # Hana manages Nora and is in the helpdesk: her own reports, and a way to anyone else.
    assert "Someone else (helpdesk)" in [a["title"] for a in form["actions"]]
    target, data = await helpdesk_submission(bot, connector)
    sent_before = len(connector.sent)

    waiting = await bot.invoke(
        connector.url, "request.submit", data, user=HELPDESK, replyToId="card-7"
    )

    assert "waiting for a helpdesk member other than Hana Desk" in json.dumps(waiting["value"])
    [posted] = connector.sent[sent_before:]
    # A new thread in the channel: posted to the conversation, not as a reply to anything.
    assert connector.calls[-1] == ("POST", f"/v3/conversations/{quote(CHANNEL)}/activities")
    approval = posted["attachments"][0]["content"]
    assert approval["refresh"]["userIds"] == [f"29:{APPROVER.id}"]
    review = approval["actions"][0]["data"]

    mine = await _invoke_in_channel(bot, connector, "approval.review", review, APPROVER)
    done = await _invoke_in_channel(bot, connector, "approval.approve", review, APPROVER)

    assert [a["title"] for a in mine["value"]["actions"]] == ["Approve", "Deny"]
    assert "Approved by Ada Approver" in json.dumps(done["value"])
    [request] = await bot.store.list_requests()
    assert request.state is RequestState.DELIVERED
    assert bot.directory.pass_of(target) is not None
    updated = [
        body
        for (method, _), body in zip(connector.calls, connector.sent, strict=True)
        if method == "PUT"
    ]
    assert any(b.get("id") == "card-7" for b in updated)  # the requester's card followed


async def _invoke_in_channel(
    bot: BotUnderTest, connector: RecordingConnector, verb: str, data: dict[str, Any], user: Any
) -> Any:
    value = {"action": {"type": "Action.Execute", "verb": verb, "data": data}}
    body = _in_channel(
        activity(connector.url, type="invoke", name="adaptiveCard/action", value=value, user=user)
    )
    response = await bot.post(body)
    assert response.status == 200, await response.text()
    return await response.json()


async def test_request_cards_stay_private_but_approvals_work_in_a_channel(
    start_bot: StartBot, connector: RecordingConnector
) -> None:
    bot = await start_bot()

    searched = await _invoke_in_channel(
        bot, connector, "request.search", {"query": "Lee"}, HELPDESK
    )
    reviewed = await _invoke_in_channel(
        bot, connector, "approval.review", {"request_id": "nope", "stage": "1"}, HELPDESK
    )

    assert searched["type"] == "application/vnd.microsoft.activity.message"
    assert "1:1 chat" in searched["value"]
    assert "no longer exists" in json.dumps(reviewed["value"])
