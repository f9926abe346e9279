"""Step two of a request card: the pass for one person, offering only the deliveries that work
for them, destinations masked, names never read as Markdown."""

from __future__ import annotations

from typing import Any

from cards.request import DeliveryChoices
from cards.search import DetailsView, details_card
from cards.text import readable_text
from cards.validation import card_problems

HOSTILE = "[click](https://evil.example) **Liam**"
EVERYTHING = DeliveryChoices(
    offered=[
        ("chat_requester", "To me, in this chat"),
        ("chat_target", "To Liam, in their own Teams chat"),
        ("sms", "By text message to +44 •••• ••34 56"),
        ("email", "By email to l•••@example.net"),
    ]
)


def view(**changes: Any) -> DetailsView:
    values: dict[str, Any] = {
        "form_id": "f0000000-0000-4000-8000-000000000001",
        "target_id": "10000000-0000-4000-8000-000000000011",
        "target_name": "Liam Carter",
        "target_detail": "Accounts Payable Specialist, liam.carter@contoso.example",
        "lifetimes": [60, 120, 480],
        "default_lifetime": 60,
        "one_time_forced": False,
        "deliveries": EVERYTHING,
        "timezone": "Europe/London",
    }
    values.update(changes)
    return DetailsView(**values)


def _input(card: dict[str, Any], input_id: str) -> dict[str, Any] | None:
    def walk(node: object) -> dict[str, Any] | None:
        if isinstance(node, dict):
            if node.get("id") == input_id:
                return node
            for value in node.values():
                if (found := walk(value)) is not None:
                    return found
        elif isinstance(node, list):
            for item in node:
                if (found := walk(item)) is not None:
                    return found
        return None

    return walk(card)


def test_every_working_delivery_is_offered_with_its_masked_destination() -> None:
    card = details_card(view())
    assert card_problems(card) == []
    delivery = _input(card, "delivery")
    assert delivery is not None
    assert [c["value"] for c in delivery["choices"]] == [
        "chat_requester",
        "chat_target",
        "sms",
        "email",
    ]
    assert delivery["value"] == "chat_requester"
    text = readable_text(card)
    assert "+44 •••• ••34 56" in text
    assert "l•••@example.net" in text
    assert _input(card, "sms_number") is None


def test_the_ways_that_do_not_work_are_said_with_why_in_text_runs() -> None:
    why = f"Text message: not possible, {HOSTILE}'s mobile number can't be used."
    card = details_card(
        view(deliveries=DeliveryChoices([("chat_requester", "To me")], not_offered=[why]))
    )
    assert card_problems(card) == []
    blocks = [b for b in card["body"] if b.get("type") == "TextBlock"]
    assert all(HOSTILE not in b["text"] for b in blocks)
    runs = [
        run["text"]
        for b in card["body"]
        if b.get("type") == "RichTextBlock"
        for run in b["inlines"]
    ]
    assert why in runs
    delivery = _input(card, "delivery")
    assert delivery is not None
    assert [c["value"] for c in delivery["choices"]] == ["chat_requester"]


def test_a_number_box_appears_only_where_typing_is_allowed() -> None:
    choices = DeliveryChoices(
        [("chat_requester", "To me"), ("sms", "By text message to a number I type")],
        number_label="Mobile number for the text message",
    )
    card = details_card(view(deliveries=choices))
    assert card_problems(card) == []
    box = _input(card, "sms_number")
    assert box is not None
    assert box["type"] == "Input.Text"
    assert box["style"] == "tel"
    assert box["label"] == "Mobile number for the text message"
    assert "value" not in box


def test_a_card_shown_again_keeps_what_was_typed() -> None:
    choices = DeliveryChoices(
        [("chat_requester", "To me"), ("sms", "By text message")], number_label="Number"
    )
    typed = {
        "lifetime": "120",
        "one_time": "false",
        "start": "later",
        "start_date": "2026-07-01",
        "start_time": "09:00",
        "delivery": "sms",
        "sms_number": "+44 12",
        "justification": "Lost phone",
    }
    card = details_card(view(deliveries=choices, values=typed, notice="Check the number."))
    assert card_problems(card) == []
    for key, value in typed.items():
        field = _input(card, key)
        assert field is not None, key
        assert field["value"] == value, key
    assert "Check the number." in readable_text(card)


def test_prefilled_values_that_are_not_offered_fall_back_to_the_defaults() -> None:
    card = details_card(view(values={"lifetime": "9999", "delivery": "carrier_pigeon"}))
    lifetime, delivery = _input(card, "lifetime"), _input(card, "delivery")
    assert lifetime is not None
    assert delivery is not None
    assert lifetime["value"] == "60"
    assert delivery["value"] == "chat_requester"


def test_a_forced_one_time_pass_offers_no_toggle_and_sends_the_flag() -> None:
    card = details_card(view(one_time_forced=True))
    assert card_problems(card) == []
    assert _input(card, "one_time") is None
    assert card["actions"][0]["data"]["one_time"] == "true"
    assert card["actions"][0]["data"]["form_id"] == "f0000000-0000-4000-8000-000000000001"
