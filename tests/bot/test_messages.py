"""POST /api/messages with channel auth off (the sandbox's mode): parsing, limits, replies."""

from __future__ import annotations

import json

from tests.bot.conftest import HELPDESK, MANAGER, NOBODY, StartBot, activity
from tests.bot.connector import RecordingConnector


def _card_text(sent: dict[str, object]) -> str:
    attachments = sent.get("attachments")
    assert isinstance(attachments, list)
    assert attachments, sent
    return json.dumps(attachments[0]["content"])


async def test_help_reply_is_a_card_that_counts_the_managers_reports(
    start_bot: StartBot, connector: RecordingConnector
) -> None:
    bot = await start_bot()
    response = await bot.post(activity(connector.url, text="help"))
    assert response.status in (200, 201)
    assert len(connector.sent) == 1
    text = _card_text(connector.sent[0])
    assert "You manage 3 people" in text
    assert "AdaptiveCard" in text


async def test_helpdesk_member_and_nobody_get_their_own_abilities(
    start_bot: StartBot, connector: RecordingConnector
) -> None:
    bot = await start_bot()
    await bot.post(activity(connector.url, text="help", user=HELPDESK))
    await bot.post(activity(connector.url, text="Help", user=NOBODY))
    assert "You are in the helpdesk group" in _card_text(connector.sent[0])
    assert "You don't manage anyone" in _card_text(connector.sent[1])


async def test_unknown_text_gets_the_help_card_saying_it_was_not_understood(
    start_bot: StartBot, connector: RecordingConnector
) -> None:
    bot = await start_bot()
    await bot.post(activity(connector.url, text="please give me a pass"))
    text = _card_text(connector.sent[0])
    assert "You manage 3 people" in text
    assert "didn" in text.lower() or "understand" in text.lower()


async def test_a_caller_from_another_tenant_is_refused_and_audited(
    start_bot: StartBot, connector: RecordingConnector
) -> None:
    bot = await start_bot()
    other = "33333333-3333-3333-3333-333333333333"
    await bot.post(activity(connector.url, text="help", tenant_id=other))
    assert "only work for people signed in" in connector.sent[0]["text"]
    events = await bot.store.list_audit()
    assert [(e.outcome, e.reason) for e in events] == [("refused", "wrong_tenant")]


async def test_non_json_is_400_and_oversized_is_413(start_bot: StartBot) -> None:
    bot = await start_bot(MAX_REQUEST_BYTES="4096")
    bad = await bot.client.post(
        "/api/messages", data=b"not json", headers={"Content-Type": "application/json"}
    )
    assert bad.status == 400
    big = await bot.client.post(
        "/api/messages",
        data=json.dumps({"type": "message", "text": "x" * 10_000}),
        headers={"Content-Type": "application/json"},
    )
    assert big.status == 413
    not_object = await bot.client.post("/api/messages", json=[1, 2])
    assert not_object.status == 400
    assert (await bot.ops_get("/healthz"))[0] == 200  # the process is still serving


async def test_healthz_reports_store_and_graph_separately(start_bot: StartBot) -> None:
    bot = await start_bot()
    status, body = await bot.ops_get("/healthz")
    assert status == 200
    assert json.loads(body)["checks"] == {"store": "ok", "graph": "ok"}
    bot.store.unavailable = True
    bot.graph_healthy = False
    status, body = await bot.ops_get("/healthz")
    assert status == 503
    assert json.loads(body)["checks"] == {"store": "unreachable", "graph": "unavailable"}


async def test_metrics_count_activities_by_type_and_status(
    start_bot: StartBot, connector: RecordingConnector
) -> None:
    bot = await start_bot()
    await bot.post(activity(connector.url, text="help"))
    _, body = await bot.ops_get("/metrics")
    assert "tapbot_" in body
    assert 'type="message"' in body


async def test_an_unchanged_conversation_reference_is_stored_once(
    start_bot: StartBot, connector: RecordingConnector
) -> None:
    bot = await start_bot()
    saved: list[str] = []
    original = bot.store.save_conversation

    async def counting(record: object) -> None:
        saved.append(record.key)  # type: ignore[attr-defined]
        await original(record)  # type: ignore[arg-type]

    bot.store.save_conversation = counting  # type: ignore[method-assign]
    await bot.post(activity(connector.url, text="help"))
    await bot.post(activity(connector.url, text="help", id="activity-2"))
    await bot.post(activity(connector.url, text="help", user=HELPDESK))
    assert saved == [f"user:{MANAGER.id}", f"user:{HELPDESK.id}"]
