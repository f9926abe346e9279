"""Over HTTP: a helpdesk request whose approval card could be posted nowhere (no helpdesk
channel known) tells its requester so, on the card and in the chat, and is audited; once tapbot
is installed in the helpdesk's channel, "Post it again" (on the card or in "status") posts it
there and the request is decided as any other."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from bot.domain.model import RequestState
from cards.text import readable_text
from tests.bot.conftest import (
    HELPDESK,
    HELPDESK_GROUP_ID,
    BotUnderTest,
    StartBot,
    activity,
)
from tests.bot.connector import RecordingConnector
from tests.bot.flows import helpdesk_submission, team_channel
from tests.twins.directory import person
from tests.unit.cards.card_walk import actions

CHANNEL = "19:approvals@thread.tacv2"
APPROVER = person("Ada Approver", id="aaaaaaaa-0000-0000-0000-00000000000d")
NOBODY_SHOWN = "Nobody who can approve this request has been shown it yet"


async def _unseen_request(
    start_bot: StartBot, connector: RecordingConnector
) -> tuple[BotUnderTest, dict[str, Any], int]:
    """Hana asks for a pass for Lee with no helpdesk channel known; return the bot, the card
    her submit got back, and how many messages the bot had sent before it."""
    bot = await start_bot()
    bot.directory.add_user(APPROVER)
    bot.directory.add_group(HELPDESK_GROUP_ID, APPROVER.id)
    await bot.post(activity(connector.url, text="help", user=APPROVER))
    _, data = await helpdesk_submission(bot, connector)
    sent_before = len(connector.sent)
    answer = await bot.invoke(
        connector.url, "request.submit", data, user=HELPDESK, replyToId="card-1"
    )
    return bot, answer["value"], sent_before


async def _install_in_the_helpdesk_channel(
    bot: BotUnderTest, connector: RecordingConnector
) -> None:
    await _install(bot, connector, CHANNEL, HELPDESK_GROUP_ID)


async def _install(
    bot: BotUnderTest, connector: RecordingConnector, channel: str, group: str, **where: str
) -> None:
    place = team_channel(channel, group, **where)
    await bot.post(
        activity(connector.url, type="installationUpdate", action="add", user=HELPDESK, **place)
    )


def _button(card: dict[str, Any], title: str) -> dict[str, Any]:
    [button] = [a for a in actions(card) if a["title"] == title]
    return button


def _channel_posts(connector: RecordingConnector) -> int:
    return connector.paths.count(f"/v3/conversations/{quote(CHANNEL)}/activities")


def _requester_card_updates(connector: RecordingConnector) -> int:
    return sum(path.endswith("/activities/card-1") for path in connector.paths)


async def test_the_requester_is_told_nobody_was_shown_it_and_it_goes_out_once_installed(
    start_bot: StartBot, connector: RecordingConnector
) -> None:
    bot, card, sent_before = await _unseen_request(start_bot, connector)

    words = readable_text(card)
    assert NOBODY_SHOWN in words
    assert "tapbot doesn't know the helpdesk's Teams channel" in words
    assert "HELPDESK_CHANNEL_ID" in words
    assert [a["title"] for a in card["actions"]] == ["Post it again", "Cancel request"]
    # Told in the chat too, and nothing went anywhere else.
    [notice] = connector.sent[sent_before:]
    assert NOBODY_SHOWN in readable_text(notice["attachments"][0]["content"])
    [request] = await bot.store.list_requests()
    assert request.state is RequestState.PENDING_APPROVAL
    [event] = await bot.store.list_audit(action="approval", outcome="unseen")
    assert (event.reason, event.request_id) == ("no_helpdesk_channel", request.id)
    updates_before = _requester_card_updates(connector)

    # Installed in the helpdesk's team: the waiting card goes out without anyone asking, and
    # the requester's card stops saying nobody was shown it.
    await _install_in_the_helpdesk_channel(bot, connector)

    assert _channel_posts(connector) == 1
    assert _requester_card_updates(connector) == updates_before + 1
    updated = connector.sent[-1]["attachments"][0]["content"]
    assert NOBODY_SHOWN not in readable_text(updated)
    again = await bot.invoke(
        connector.url, "request.repost", _button(card, "Post it again")["data"], user=HELPDESK
    )
    assert _channel_posts(connector) == 1
    assert [a["title"] for a in again["value"]["actions"]] == ["Cancel request"]
    review = {"request_id": request.id, "stage": "1"}
    decided = await bot.invoke(connector.url, "approval.approve", review, user=APPROVER)
    assert "Approved by Ada Approver" in readable_text(decided["value"])
    stored = await bot.store.get_request(request.id)
    assert stored is not None
    assert stored.state is RequestState.DELIVERED


async def test_the_card_submitted_again_still_says_nobody_was_shown_it(
    start_bot: StartBot, connector: RecordingConnector
) -> None:
    bot = await start_bot()
    _, data = await helpdesk_submission(bot, connector)
    await bot.invoke(connector.url, "request.submit", data, user=HELPDESK)

    again = await bot.invoke(connector.url, "request.submit", data, user=HELPDESK)

    assert NOBODY_SHOWN in readable_text(again["value"])
    assert [a["title"] for a in again["value"]["actions"]] == ["Post it again", "Cancel request"]
    assert len(await bot.store.list_requests()) == 1


async def test_a_second_installation_posts_nothing_twice(
    start_bot: StartBot, connector: RecordingConnector
) -> None:
    bot, _, _ = await _unseen_request(start_bot, connector)

    await _install_in_the_helpdesk_channel(bot, connector)
    await _install_in_the_helpdesk_channel(bot, connector)

    assert _channel_posts(connector) == 1


async def test_status_says_so_too_and_posts_it_again_from_there(start_bot: StartBot) -> None:
    connector = RefusingChannel()
    connector.start()
    try:
        bot, _, _ = await _unseen_request(start_bot, connector)
        await bot.post(activity(connector.url, text="status", user=HELPDESK))
        status = connector.sent[-1]["attachments"][0]["content"]
        assert NOBODY_SHOWN in readable_text(status)
        repost = _button(status, "Post it again")

        still = await bot.invoke(connector.url, repost["verb"], repost["data"], user=HELPDESK)
        # Installed, but Teams refuses the channel for now: the installation's own attempt
        # reaches nobody, and the requester, told already, is not told again.
        notices = len(connector.sent)
        await _install_in_the_helpdesk_channel(bot, connector)
        assert len(connector.sent) == notices
        connector.refusing = False
        posted = await bot.invoke(connector.url, repost["verb"], repost["data"], user=HELPDESK)
        twice = await bot.invoke(connector.url, repost["verb"], repost["data"], user=HELPDESK)

        assert "Still nobody could be shown your request for Lee Gu" in readable_text(
            still["value"]
        )
        assert "Your request for Lee Gu was posted again" in readable_text(posted["value"])
        assert NOBODY_SHOWN not in readable_text(posted["value"])
        assert "was already shown" in readable_text(twice["value"])
        assert _channel_posts(connector) == 1
        unseen = await bot.store.list_audit(action="approval", outcome="unseen")
        assert [e.reason for e in reversed(unseen)] == [
            "no_helpdesk_channel",
            "no_helpdesk_channel",
            "teams_error",
        ]
    finally:
        connector.stop()


async def test_someone_else_cannot_post_a_request_again(
    start_bot: StartBot, connector: RecordingConnector
) -> None:
    bot, card, _ = await _unseen_request(start_bot, connector)
    await _install_in_the_helpdesk_channel(bot, connector)

    answer = await bot.invoke(
        connector.url, "request.repost", _button(card, "Post it again")["data"], user=APPROVER
    )

    assert "isn't yours" in readable_text(answer["value"])
    assert _channel_posts(connector) == 1  # the installation's own post, not this click
    [event] = await bot.store.list_audit(action="request", outcome="refused")
    assert (event.actor_id, event.reason) == (APPROVER.id, "not_your_request")


class RefusingChannel(RecordingConnector):
    """A connector that answers 404 to posts into the helpdesk channel while *refusing*."""

    refusing = True

    def _record(self, method: str, path: str, body: Any) -> Any:
        if self.refusing and path == f"/v3/conversations/{quote(CHANNEL)}/activities":
            return None
        return super()._record(method, path, body)


async def test_a_channel_teams_refuses_is_a_teams_error_and_posting_again_works_later(
    start_bot: StartBot,
) -> None:
    connector = RefusingChannel()
    connector.start()
    try:
        bot = await start_bot(HELPDESK_CHANNEL_ID=CHANNEL)
        await bot.post(activity(connector.url, text="help", user=HELPDESK))
        _, data = await helpdesk_submission(bot, connector)
        answer = await bot.invoke(connector.url, "request.submit", data, user=HELPDESK)
        card = answer["value"]

        assert "Teams didn't accept the approval card just now" in readable_text(card)
        [event] = await bot.store.list_audit(action="approval", outcome="unseen")
        assert event.reason == "teams_error"

        connector.refusing = False
        again = await bot.invoke(
            connector.url, "request.repost", _button(card, "Post it again")["data"], user=HELPDESK
        )
        assert NOBODY_SHOWN not in readable_text(again["value"])
        assert _channel_posts(connector) == 1
    finally:
        connector.stop()


async def test_a_manager_step_whose_manager_never_talked_to_tapbot_says_ask_them(
    start_bot: StartBot, connector: RecordingConnector
) -> None:
    bot = await start_bot(APPROVAL_MODE="manager_and_helpdesk")
    _, data = await helpdesk_submission(bot, connector)

    answer = await bot.invoke(connector.url, "request.submit", data, user=HELPDESK)

    words = readable_text(answer["value"])
    assert "the person's manager has no chat with tapbot yet" in words
    assert 'Ask them to open tapbot in Teams and say "help"' in words
    [event] = await bot.store.list_audit(action="approval", outcome="unseen")
    assert event.reason == "no_approver_chat"


async def test_an_installation_in_another_team_or_tenant_posts_nothing(
    start_bot: StartBot, connector: RecordingConnector
) -> None:
    bot, _, _ = await _unseen_request(start_bot, connector)
    sales = "19:sales@thread.tacv2"

    await _install(bot, connector, sales, "99999999-0000-0000-0000-00000000005a")
    await _install(
        bot, connector, sales, HELPDESK_GROUP_ID, tenant="33333333-3333-3333-3333-333333333333"
    )

    assert not [p for p in connector.paths if "sales" in p and p.endswith("/activities")]
    assert _channel_posts(connector) == 0
    [request] = await bot.store.list_requests()
    copies = await bot.store.list_request_messages(request.id)
    assert {c.audience for c in copies} == {"requester"}
    [refused] = await bot.store.list_audit(action="conversation", outcome="refused")
    assert refused.reason == "wrong_tenant"
