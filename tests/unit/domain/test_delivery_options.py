"""The delivery methods offered for a person: only those that work, destinations masked."""

from __future__ import annotations

import pytest

from bot.domain.delivery_options import (
    ChatReach,
    DeliveryOption,
    DeliverySetup,
    MailTo,
    delivery_options,
    mail_address,
    mask_email,
)
from bot.domain.model import DeliveryMethod
from tests.twins.directory import person

EVERYTHING = DeliverySetup(
    sms=True, email=True, chat_to_target=True, install_for_target=True, default_region="GB"
)
LIAM = person(
    "Liam Carter",
    mobile_phone="07911 123456",
    other_mails=("liam.carter.home@example.net",),
)


def _by_method(options: tuple[DeliveryOption, ...]) -> dict[DeliveryMethod, DeliveryOption]:
    return {option.method: option for option in options}


def test_every_method_is_listed_in_order() -> None:
    options = delivery_options(LIAM, EVERYTHING, ChatReach())
    assert [o.method for o in options] == [
        DeliveryMethod.CHAT_TO_REQUESTER,
        DeliveryMethod.CHAT_TO_TARGET,
        DeliveryMethod.SMS,
        DeliveryMethod.EMAIL,
    ]
    assert all(o.available for o in options)


def test_destinations_are_masked() -> None:
    options = _by_method(delivery_options(LIAM, EVERYTHING, ChatReach()))
    assert options[DeliveryMethod.SMS].destination == "+44 •••• ••34 56"
    assert options[DeliveryMethod.EMAIL].destination == "l•••@example.net"
    assert options[DeliveryMethod.CHAT_TO_REQUESTER].destination == ""


def test_no_text_message_without_a_mobile_that_can_take_one() -> None:
    landline = person("Ann Lee", mobile_phone="+44 20 7946 0111")
    sms = _by_method(delivery_options(landline, EVERYTHING, ChatReach()))[DeliveryMethod.SMS]
    assert not sms.available
    assert sms.why_not == (
        "Ann's mobile number in the directory can't be used: it is a landline or service "
        "number, which cannot receive texts"
    )
    assert "7946" not in sms.why_not
    nothing = person("Bo Li")
    assert not _by_method(delivery_options(nothing, EVERYTHING, ChatReach()))[
        DeliveryMethod.SMS
    ].available


def test_a_typed_number_is_offered_when_allowed_even_without_a_directory_number() -> None:
    setup = DeliverySetup(sms=True, email=True, chat_to_target=False, typed_numbers=True)
    sms = _by_method(delivery_options(person("Bo Li"), setup, ChatReach()))[DeliveryMethod.SMS]
    assert (sms.available, sms.destination, sms.typed_number) == (True, "", True)


def test_no_email_without_an_address_of_the_configured_kind() -> None:
    work_only = person("Ann Lee")  # mail set, no otherMails
    personal = _by_method(delivery_options(work_only, EVERYTHING, ChatReach()))
    assert not personal[DeliveryMethod.EMAIL].available
    assert "personal email address" in personal[DeliveryMethod.EMAIL].why_not
    work = DeliverySetup(sms=False, email=True, chat_to_target=False, mail_to=MailTo.WORK)
    email = _by_method(delivery_options(work_only, work, ChatReach()))[DeliveryMethod.EMAIL]
    assert (email.available, email.destination) == (True, "a•••@contoso.example")


def test_methods_that_are_not_set_up_are_not_offered() -> None:
    none = DeliverySetup(sms=False, email=False, chat_to_target=False)
    options = _by_method(delivery_options(LIAM, none, ChatReach(has_conversation=True)))
    assert [m for m, o in options.items() if o.available] == [DeliveryMethod.CHAT_TO_REQUESTER]
    assert options[DeliveryMethod.SMS].why_not == "text messages are not set up"


@pytest.mark.parametrize(
    ("reach", "install", "available"),
    [
        (ChatReach(has_conversation=True), False, True),
        (ChatReach(app_installed=True), False, True),
        (ChatReach(app_installed=False), True, True),
        (ChatReach(app_installed=False), False, False),
        (ChatReach(app_installed=None), True, False),
    ],
)
def test_chat_to_the_person_only_when_tapbot_can_reach_them(
    reach: ChatReach, install: bool, available: bool
) -> None:
    setup = DeliverySetup(sms=False, email=False, chat_to_target=True, install_for_target=install)
    option = _by_method(delivery_options(LIAM, setup, reach))[DeliveryMethod.CHAT_TO_TARGET]
    assert option.available is available
    assert bool(option.why_not) is not available


def test_chat_to_the_requester_needs_their_chat() -> None:
    options = delivery_options(LIAM, EVERYTHING, ChatReach(), requester_reachable=False)
    assert not options[0].available


@pytest.mark.parametrize(
    ("address", "masked"),
    [
        ("liam.carter.home@example.net", "l•••@example.net"),
        ("a@b.example", "a•••@b.example"),
        ("odd@at@example.org", "o•••@example.org"),
        ("no-at-sign", "•••"),
        ("@example.org", "•••"),
    ],
)
def test_masked_addresses_show_the_first_letter_and_the_domain(address: str, masked: str) -> None:
    assert mask_email(address) == masked


def test_the_personal_address_is_the_first_non_empty_other_mail() -> None:
    user = person("Ann Lee", other_mails=(" ", "ann@example.org", "x@example.org"))
    assert mail_address(user, MailTo.PERSONAL) == "ann@example.org"
    assert mail_address(user, MailTo.WORK) == "ann.lee@contoso.example"
