"""Delivery per person through the request lifecycle: what the card offers (read side), the
typed number kept on the request, availability checked again right before the pass is made,
and the requester told where the pass went or why it could not go."""

from __future__ import annotations

import json

import pytest

from bot.domain.delivery_options import ChatReach, DeliverySetup
from bot.domain.errors import DirectoryUnavailable
from bot.domain.model import DeliveryMethod, RequestState, TapRequest
from bot.domain.offers import RequestDetails, RequestOffers
from bot.domain.outcomes import AwaitingApproval, Failed, Issued, Refused
from tests.twins.directory import person
from tests.unit.domain.world import MANAGER, PRIYA, TOM, World, as_person

EVERYTHING = DeliverySetup(
    sms=True, email=True, chat_to_target=True, install_for_target=False, default_region="GB"
)
MOBILE = person(
    "Mo Bile",
    id="10000000-0000-4000-8000-000000000061",
    mobile_phone="07911 123456",
    other_mails=("mo.home@example.net",),
)
LANDLINE = person(
    "Lana Line",
    id="10000000-0000-4000-8000-000000000062",
    mobile_phone="+44 20 8366 1177",
)


class Reach:
    """`ChatReachability` answering from a table, recording who was asked about."""

    def __init__(self, **reach: ChatReach) -> None:
        self.reach = reach
        self.asked: list[str] = []

    async def chat_reach(self, user_id: str) -> ChatReach:
        self.asked.append(user_id)
        return self.reach.get(user_id, ChatReach())


def offers(
    world: World, setup: DeliverySetup = EVERYTHING, reach: Reach | None = None
) -> RequestOffers:
    return RequestOffers(
        directory=world.directory,
        pass_issuer=world.directory,
        checks=world.checks,
        store=world.store,
        clock=world.clock,
        config=world.config,
        setup=setup,
        reach=reach or Reach(),
    )


@pytest.fixture
async def world() -> World:
    """The organisation with two more of Olivia's reports, before tapbot's baseline."""
    created = World()
    for user in (MOBILE, LANDLINE):
        created.directory.add_user(user, manager_id=MANAGER.id)
    await created.baseline()
    return created


async def _details(world: World, target_id: str, **kwargs: object) -> RequestDetails:
    details = await offers(world, **kwargs).details(MANAGER.id, target_id)  # type: ignore[arg-type]
    assert isinstance(details, RequestDetails)
    return details


# What the card offers


async def test_each_person_is_offered_what_works_for_them_with_destinations_masked(
    world: World,
) -> None:
    mobile = {o.method: o for o in (await _details(world, MOBILE.id)).deliveries}
    assert mobile[DeliveryMethod.SMS].available
    assert mobile[DeliveryMethod.SMS].destination == "+44 •••• ••34 56"
    assert mobile[DeliveryMethod.EMAIL].destination == "m•••@example.net"
    assert not mobile[DeliveryMethod.CHAT_TO_TARGET].available  # not installed, no install

    landline = {o.method: o for o in (await _details(world, LANDLINE.id)).deliveries}
    assert not landline[DeliveryMethod.SMS].available
    assert "landline" in landline[DeliveryMethod.SMS].why_not
    assert not landline[DeliveryMethod.EMAIL].available
    assert "personal email address" in landline[DeliveryMethod.EMAIL].why_not
    assert "07911" not in json.dumps([o.destination + o.why_not for o in mobile.values()])


async def test_the_persons_own_chat_is_offered_when_tapbot_can_reach_them(world: World) -> None:
    reach = Reach(**{MOBILE.id: ChatReach(has_conversation=True)})
    options = {o.method: o for o in (await _details(world, MOBILE.id, reach=reach)).deliveries}
    assert options[DeliveryMethod.CHAT_TO_TARGET].available
    assert reach.asked == [MOBILE.id]


async def test_nothing_but_this_chat_without_delivery_settings(world: World) -> None:
    none = DeliverySetup(sms=False, email=False, chat_to_target=False)
    reach = Reach()
    details = await _details(world, MOBILE.id, setup=none, reach=reach)
    available = [o.method for o in details.deliveries if o.available]
    assert available == [DeliveryMethod.CHAT_TO_REQUESTER]
    assert reach.asked == []  # no Graph call for a method that is not set up


async def test_typing_a_number_is_offered_only_when_the_setting_allows_it(world: World) -> None:
    typed = DeliverySetup(sms=True, email=False, chat_to_target=False, typed_numbers=True)
    sms = {o.method: o for o in (await _details(world, LANDLINE.id, setup=typed)).deliveries}[
        DeliveryMethod.SMS
    ]
    assert (sms.available, sms.typed_number, sms.destination) == (True, True, "")
    off = {o.method: o for o in (await _details(world, LANDLINE.id)).deliveries}
    assert not off[DeliveryMethod.SMS].typed_number


async def test_a_submit_for_this_chat_reads_nothing(world: World) -> None:
    before = len(world.directory.calls)
    options = await offers(world).deliveries(MOBILE.id, asked=DeliveryMethod.CHAT_TO_REQUESTER)
    assert [(o.method, o.available) for o in options] == [(DeliveryMethod.CHAT_TO_REQUESTER, True)]
    assert len(world.directory.calls) == before


async def test_a_submit_is_checked_against_the_asked_method_as_it_stands_now(world: World) -> None:
    reach = Reach()
    (sms,) = await offers(world, reach=reach).deliveries(MOBILE.id, asked=DeliveryMethod.SMS)
    assert (sms.method, sms.available) == (DeliveryMethod.SMS, True)
    assert reach.asked == []  # the person's chat was not asked about


async def test_a_directory_that_cannot_be_read_makes_the_methods_unavailable_in_words(
    world: World,
) -> None:
    world.directory.fail("get_user", DirectoryUnavailable("down"), times=None)
    options = await offers(world).deliveries(MOBILE.id)
    assert [o.method for o in options if o.available] == [DeliveryMethod.CHAT_TO_REQUESTER]
    others = [o for o in options if o.method is not DeliveryMethod.CHAT_TO_REQUESTER]
    assert len(others) == 3
    assert all("couldn't read" in o.why_not for o in others)
    (sms,) = await offers(world).deliveries(MOBILE.id, asked=DeliveryMethod.SMS)
    assert not sms.available


# Through the lifecycle


async def test_a_typed_number_is_kept_on_the_request_and_audited_masked(world: World) -> None:
    outcome = await world.submit(
        target=MOBILE.id, delivery=DeliveryMethod.SMS, typed_number="+447400123999"
    )
    assert isinstance(outcome, Issued)
    assert outcome.request.typed_number == "+447400123999"
    stored = await world.store.get_request(outcome.request.id)
    assert stored is not None
    assert stored.typed_number == "+447400123999"
    created = [e for e in await world.store.list_audit() if e.outcome == "created"]
    assert created[0].detail["typed_number"] == "+44 •••• ••39 99"
    assert "+447400123999" not in json.dumps(
        [dict(e.detail) for e in await world.store.list_audit()]
    )


async def test_where_the_pass_went_is_kept_on_the_delivered_request(world: World) -> None:
    world.delivery.destination = "+44 •••• ••34 56"
    outcome = await world.submit(target=MOBILE.id, delivery=DeliveryMethod.SMS)
    assert isinstance(outcome, Issued)
    assert outcome.request.delivered_to == "+44 •••• ••34 56"


async def test_a_delivery_that_stopped_working_fails_the_request_before_any_pass_exists(
    world: World,
) -> None:
    world.delivery.undeliverable = "the directory has no personal email address for Mo Bile"
    outcome = await world.submit(target=MOBILE.id, delivery=DeliveryMethod.EMAIL)
    assert isinstance(outcome, Failed)
    assert "by email" in outcome.text
    assert "no personal email address for Mo Bile" in outcome.text
    assert "No pass was issued" in outcome.text
    assert world.directory.pass_of(MOBILE.id) is None
    assert world.directory.called("create_pass") == 0
    assert outcome.request is not None
    assert outcome.request.state is RequestState.FAILED
    assert ("request", "failed", "undeliverable") in await world.audit()


async def test_availability_is_checked_again_when_an_approval_ends(world: World) -> None:
    asked = await world.submit(by=as_person(PRIYA), delivery=DeliveryMethod.SMS)
    assert isinstance(asked, AwaitingApproval)
    # While the approval waited, the person's number left the directory.
    world.delivery.undeliverable = "Liam Carter has no mobile number in the directory"
    await world.requests.decide(as_person(TOM), asked.request.id, 1, approve=True)
    checked: list[TapRequest] = world.delivery.asked
    assert [r.id for r in checked] == [asked.request.id]
    request = await world.store.get_request(asked.request.id)
    assert request is not None
    assert request.state is RequestState.FAILED
    assert world.directory.called("create_pass") == 0
    assert any(
        to == PRIYA.id and "no mobile number" in text and "by text message" in text
        for to, text in world.delivery.notices
    )


async def test_after_approval_the_requester_hears_which_channel_carried_the_pass(
    world: World,
) -> None:
    world.delivery.destination = "l•••@example.net"
    asked = await world.submit(by=as_person(PRIYA), delivery=DeliveryMethod.EMAIL)
    assert isinstance(asked, AwaitingApproval)
    await world.requests.decide(as_person(TOM), asked.request.id, 1, approve=True)
    assert (
        PRIYA.id,
        "The pass for Liam Carter was issued and emailed to l•••@example.net.",
    ) in world.delivery.notices


async def test_a_permanent_delivery_failure_names_the_channel_and_leaves_no_pass(
    world: World,
) -> None:
    world.delivery.fail_with("Twilio could not send the text message: the person replied STOP")
    outcome = await world.submit(target=MOBILE.id, delivery=DeliveryMethod.SMS)
    assert isinstance(outcome, Failed)
    assert outcome.text.startswith(
        "I created the pass but could not deliver it by text message (Twilio could not send "
        "the text message: the person replied STOP), so I deleted it again."
    )
    assert world.directory.pass_of(MOBILE.id) is None
    assert outcome.request is not None
    assert outcome.request.state is RequestState.FAILED
    assert ("request", "failed", "delivery_failed") in await world.audit()


async def test_a_refused_request_is_never_asked_about_delivery(world: World) -> None:
    outcome = await world.submit(target=PRIYA.id, delivery=DeliveryMethod.SMS)
    assert isinstance(outcome, Refused)
    assert world.delivery.asked == []
