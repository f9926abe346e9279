"""Where a pass goes and went, as the approval and status cards show it: the "Delivered" fact
and the outcome line, with destinations masked and addresses only in TextRuns."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.domain.model import ApproverKind, DeliveryMethod, RequestState, Stage, TapRequest, Unseen
from bot.domain.policy import Refusal
from bot.domain.refusals import message
from bot.domain.status import FAILURES, UNKNOWN_FAILURE
from bot.domain.telling import nobody_shown
from bot.teams.views import approval_view, delivery_label
from cards.approval import approval_card, request_status_card
from cards.text import readable_text
from cards.validation import card_problems

LONDON = ZoneInfo("Europe/London")
T0 = datetime(2026, 7, 1, 8, 0, tzinfo=UTC)
REQUEST = TapRequest(
    id="r1",
    requester_id="olivia",
    requester_name="Olivia Bennett",
    target_id="liam",
    target_name="Liam Carter",
    lifetime_minutes=60,
    is_usable_once=True,
    start_at=None,
    delivery=DeliveryMethod.SMS,
    justification="Lost phone",
    state=RequestState.PENDING_APPROVAL,
    created_at=T0,
    updated_at=T0,
)


def request(**changes: object) -> TapRequest:
    return dataclasses.replace(REQUEST, **changes)  # type: ignore[arg-type]


def delivered(method: DeliveryMethod, to: str) -> TapRequest:
    return request(
        delivery=method,
        state=RequestState.DELIVERED,
        delivered_to=to,
        pass_id="p1",
        pass_ends_at=T0 + timedelta(hours=1),
    )


def _facts(card: dict[str, object]) -> dict[str, str]:
    found: dict[str, str] = {}
    for block in card["body"]:  # type: ignore[attr-defined]
        if block.get("type") == "FactSet":
            found |= {f["title"]: f["value"] for f in block["facts"]}
    return found


def test_a_waiting_text_message_goes_to_the_persons_mobile() -> None:
    assert delivery_label(request()) == "By text message to the person's mobile number"


def test_a_typed_number_is_shown_masked_and_said_to_be_typed() -> None:
    label = delivery_label(request(typed_number="+447400123999"))
    assert label == "By text message to +44 •••• ••39 99 (a number the requester typed)"
    card = approval_card(approval_view(request(typed_number="+447400123999"), LONDON))
    assert card_problems(card) == []
    assert "+447400123999" not in readable_text(card)
    assert _facts(card)["Delivered"] == label


@pytest.mark.parametrize(
    ("method", "to", "fact", "line"),
    [
        (
            DeliveryMethod.SMS,
            "+44 •••• ••34 56",
            "Sent by text message to +44 •••• ••34 56",
            "and sent by text message to +44 •••• ••34 56.",
        ),
        (
            DeliveryMethod.EMAIL,
            "l•••@example.net",
            "Emailed to the person",
            "and emailed to l•••@example.net.",
        ),
        (
            DeliveryMethod.CHAT_TO_TARGET,
            "",
            "Sent to the person, in their own Teams chat",
            "and sent to Liam Carter in Teams.",
        ),
        (
            DeliveryMethod.CHAT_TO_REQUESTER,
            "",
            "Sent to the requester, in their Teams chat",
            "and sent to Olivia Bennett in Teams.",
        ),
    ],
)
def test_a_delivered_request_says_which_channel_carried_the_pass(
    method: DeliveryMethod, to: str, fact: str, line: str
) -> None:
    for card in (
        approval_card(approval_view(delivered(method, to), LONDON)),
        request_status_card(approval_view(delivered(method, to), LONDON)),
    ):
        assert card_problems(card) == []
        assert _facts(card)["Delivered"] == fact
        assert line in readable_text(card)


def test_an_address_never_goes_into_a_fact_which_teams_reads_as_markdown() -> None:
    card = approval_card(
        approval_view(delivered(DeliveryMethod.EMAIL, "l•••@evil.example"), LONDON)
    )
    assert "evil.example" not in _facts(card)["Delivered"]
    runs = [
        run["text"]
        for block in card["body"]
        if block.get("type") == "RichTextBlock"
        for run in block["inlines"]
    ]
    assert any("l•••@evil.example" in run for run in runs)


@pytest.mark.parametrize("reason", sorted(FAILURES))
def test_what_went_wrong_reads_the_same_on_every_copy_and_on_status(reason: str) -> None:
    """One source of the words: the approval card, the requester's card and "status"."""
    failed = request(state=RequestState.FAILED, reason=reason)
    for card in (
        approval_card(approval_view(failed, LONDON)),
        request_status_card(approval_view(failed, LONDON)),
    ):
        assert FAILURES[reason] in readable_text(card)


def test_a_delivery_that_failed_says_so_and_how_it_was_meant_to_go() -> None:
    for reason in ("undeliverable", "delivery_failed"):
        card = approval_card(
            approval_view(request(state=RequestState.FAILED, reason=reason), LONDON)
        )
        assert _facts(card)["Delivered"] == "By text message to the person's mobile number"
        assert "no pass" in readable_text(card).lower()


def test_a_rule_that_stopped_it_before_issuing_is_said_with_the_persons_name() -> None:
    failed = request(state=RequestState.FAILED, reason=Refusal.DISABLED.value)
    words = readable_text(request_status_card(approval_view(failed, LONDON)))
    assert "No pass was issued: " + message(Refusal.DISABLED, name="Liam Carter") in words


@pytest.mark.parametrize("reason", [None, "something_new"])
def test_an_unknown_failure_is_said_plainly_never_as_a_code(reason: str | None) -> None:
    failed = request(state=RequestState.FAILED, reason=reason)
    assert UNKNOWN_FAILURE in readable_text(approval_card(approval_view(failed, LONDON)))


def test_a_waiting_request_nobody_was_shown_says_so_and_offers_post_it_again() -> None:
    waiting = request(stages=(Stage(ApproverKind.HELPDESK, 240),), stage=1)
    view = approval_view(waiting, LONDON)
    words = nobody_shown(waiting, Unseen.NO_HELPDESK_CHANNEL, button_here=True)

    card = request_status_card(view, unseen=words)
    plain = request_status_card(view)

    assert card_problems(card) == []
    assert words in readable_text(card)
    assert [a["title"] for a in card["actions"]] == ["Post it again", "Cancel request"]
    assert card["actions"][0]["data"] == {"request_id": "r1"}
    assert [a["title"] for a in plain["actions"]] == ["Cancel request"]
    ended = request_status_card(
        approval_view(request(state=RequestState.DENIED), LONDON), unseen=words
    )
    assert words not in readable_text(ended)
