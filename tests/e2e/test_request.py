"""Flow 1 through the Agents Playground as the seeded manager, against the fake tenant's Graph."""

from __future__ import annotations

import json

import aiohttp
import pytest

from sandbox import org
from tests.e2e.playground_client import Event, PlaygroundClient, card_of, card_text
from tests.e2e.request_card import open_form, pass_inputs
from tests.e2e.sandbox_api import passes

pytestmark = pytest.mark.e2e


def _has_card(event: Event) -> bool:
    return card_of(event) is not None


async def test_the_manager_gets_a_pass_for_an_eligible_report_in_chat(
    manager_chat: PlaygroundClient, tenant: aiohttp.ClientSession
) -> None:
    card_id, form = await open_form(manager_chat)
    targets = {c["value"]: c["title"] for c in form["body"][1]["choices"]}
    assert "Liam Carter, Accounts Payable Specialist" in targets.values()
    assert "not eligible" in targets[org.PIM_ELIGIBLE_ADMIN_ID]

    answer = await manager_chat.invoke(card_id, "request.submit", pass_inputs(form, org.LIAM_ID))

    assert "Pass issued for Liam Carter" in json.dumps(answer)
    delivered = await manager_chat.next_message(lambda e: "Show pass" in json.dumps(e))
    pass_card = card_of(delivered)
    assert pass_card is not None
    assert "Temporary Access Pass for Liam Carter" in card_text(pass_card)
    live = (await passes(tenant))[org.LIAM_ID]
    assert live["lifetimeInMinutes"] == 60
    assert live["isUsableOnce"] is True


@pytest.mark.parametrize(
    ("target", "words"),
    [
        (org.LUCAS_ID, "report"),  # a crafted submit for someone else's report
        (org.PIM_ELIGIBLE_ADMIN_ID, "administrator"),
        (org.DISABLED_ID, "disabled"),
    ],
)
async def test_refusals_are_shown_in_words_and_nothing_is_issued(
    manager_chat: PlaygroundClient, tenant: aiohttp.ClientSession, target: str, words: str
) -> None:
    card_id, form = await open_form(manager_chat)
    answer = await manager_chat.invoke(card_id, "request.submit", pass_inputs(form, target))
    text = json.dumps(answer)
    assert "No pass was requested" in text
    assert words in text.lower()
    assert target not in await passes(tenant)


async def test_an_active_administrator_is_refused_even_when_they_report_to_the_manager(
    manager_chat: PlaygroundClient, tenant: aiohttp.ClientSession
) -> None:
    body = {"userId": org.GLOBAL_ADMIN_ID, "managerId": org.MANAGER_ID}
    async with tenant.post("/_sandbox/manager", json=body) as response:
        assert response.status == 204
    card_id, form = await open_form(manager_chat)
    answer = await manager_chat.invoke(
        card_id, "request.submit", pass_inputs(form, org.GLOBAL_ADMIN_ID)
    )
    assert "Global Administrator" in json.dumps(answer)
    assert org.GLOBAL_ADMIN_ID not in await passes(tenant)


async def test_an_existing_pass_is_only_replaced_after_confirmation(
    manager_chat: PlaygroundClient, tenant: aiohttp.ClientSession
) -> None:
    card_id, form = await open_form(manager_chat)
    await manager_chat.invoke(card_id, "request.submit", pass_inputs(form, org.GRACE_ID))
    first = (await passes(tenant))[org.GRACE_ID]

    card_id, form = await open_form(manager_chat)
    asked = await manager_chat.invoke(card_id, "request.submit", pass_inputs(form, org.GRACE_ID))
    assert "Replace the existing pass?" in json.dumps(asked)
    assert (await passes(tenant))[org.GRACE_ID]["id"] == first["id"]

    replace = next(a for a in asked["value"]["actions"] if a["verb"] == "request.replace")
    done = await manager_chat.invoke(card_id, "request.replace", replace["data"])
    assert "Pass issued for Grace Kim" in json.dumps(done)
    assert (await passes(tenant))[org.GRACE_ID]["id"] != first["id"]


async def _fault(tenant: aiohttp.ClientSession, **spec: object) -> None:
    async with tenant.post("/_sandbox/faults", json=spec) as response:
        assert response.status < 300, await response.text()


async def test_graph_throttling_that_outlasts_the_retries_is_explained_and_issues_nothing(
    manager_chat: PlaygroundClient, tenant: aiohttp.ClientSession
) -> None:
    await _fault(tenant, route="create_pass", kind="throttle", count=5, retry_after="0.05")
    card_id, form = await open_form(manager_chat)
    answer = await manager_chat.invoke(card_id, "request.submit", pass_inputs(form, org.SOPHIE_ID))
    text = json.dumps(answer)
    assert "The pass could not be issued" in text
    assert "busy" in text
    assert org.SOPHIE_ID not in await passes(tenant)


async def test_a_short_graph_outage_is_ridden_out_by_retries(
    manager_chat: PlaygroundClient, tenant: aiohttp.ClientSession
) -> None:
    await _fault(tenant, route="*", kind="error", status=503, count=2, retry_after="0.05")
    card_id, form = await open_form(manager_chat)
    answer = await manager_chat.invoke(card_id, "request.submit", pass_inputs(form, org.SOPHIE_ID))
    assert "Pass issued for Sophie Turner" in json.dumps(answer)
    assert org.SOPHIE_ID in await passes(tenant)


async def test_the_pass_is_removed_from_the_chat_when_its_time_is_up(
    manager_chat: PlaygroundClient, tenant: aiohttp.ClientSession
) -> None:
    card_id, form = await open_form(manager_chat)
    await manager_chat.invoke(card_id, "request.submit", pass_inputs(form, org.SOPHIE_ID))
    delivered = await manager_chat.next_message(lambda e: "Show pass" in json.dumps(e))
    message_id = delivered["message"]["messageId"]
    # PASS_REDACT_AFTER_MINUTES=1 in this suite: the bot edits the message in place. (Passes
    # from earlier tests are being redacted too; only this message's edit counts.)
    redacted = await manager_chat.next_message(
        lambda e: (
            e.get("action") == "updateMessage" and e["message"].get("messageId") == message_id
        ),
        wait_seconds=90,
    )
    assert "has been removed from this chat" in json.dumps(redacted)
    assert "Show pass" not in json.dumps(redacted)
