"""Clicks that read Microsoft Entra are counted per person in the store before any read: "team",
"Revoke", help, Review and "audit". Past the limit nothing is read and the person is told to
slow down; what reads nothing (a refusal the card already tells) is never counted."""

from __future__ import annotations

import pytest

from bot.domain.audit import Auditor
from bot.domain.audit_view import AuditViewer, AuditViewRefused
from bot.domain.deciding import (
    APPROVALS_SLOW_DOWN,
    DECISIONS_PER_PERSON_PER_HOUR,
    decision_refusal_text,
)
from bot.domain.outcomes import AwaitingApproval, Refused
from bot.domain.policy import Refusal
from bot.domain.rates import (
    AUDIT_VIEWS_PER_PERSON_PER_HOUR,
    HELP_PER_PERSON_PER_HOUR,
    REVIEWS_PER_PERSON_PER_HOUR,
    REVOKE_CLICKS_PER_PERSON_PER_HOUR,
    SLOW_DOWN,
    TEAM_PAGES_PER_PERSON_PER_HOUR,
    SlowedDown,
)
from bot.domain.refusals import message
from bot.domain.requester import Profiles
from bot.domain.team import RevokeQuestion, RevokeRefused, TeamPage
from tests.twins.store import use_up
from tests.unit.domain.world import (
    HELPDESK,
    LIAM,
    MANAGER,
    PRIYA,
    TOM,
    World,
    as_person,
    team_passes,
)


async def _exhaust(world: World, bucket: str, person_id: str, count: int) -> None:
    await use_up(world.store, bucket, person_id, count, at=world.clock.now())


# "team"


async def test_team_pages_past_the_limit_read_nothing(world: World) -> None:
    team = team_passes(world)
    await _exhaust(world, "team", MANAGER.id, TEAM_PAGES_PER_PERSON_PER_HOUR - 1)
    assert isinstance(await team.page(MANAGER.id), TeamPage)
    reads = len(world.directory.calls)

    assert await team.page(MANAGER.id) == SlowedDown()

    assert len(world.directory.calls) == reads


async def test_the_team_limit_is_per_person_and_per_hour(world: World) -> None:
    team = team_passes(world)
    await _exhaust(world, "team", MANAGER.id, TEAM_PAGES_PER_PERSON_PER_HOUR)

    assert isinstance(await team.page(PRIYA.id), TeamPage)
    world.clock.advance(minutes=61)
    assert isinstance(await team.page(MANAGER.id), TeamPage)


async def test_revoke_clicks_past_the_limit_are_refused_audited_and_read_nothing(
    world: World,
) -> None:
    team = team_passes(world)
    issued = await world.directory.create_pass(
        LIAM.id, lifetime_minutes=60, is_usable_once=True, start_at=None
    )
    assert isinstance(await team.ask_revoke(MANAGER.id, LIAM.id, issued.info.id), RevokeQuestion)
    await _exhaust(world, "revoke", MANAGER.id, REVOKE_CLICKS_PER_PERSON_PER_HOUR - 1)
    reads = len(world.directory.calls)

    outcome = await team.revoke(MANAGER.id, LIAM.id, issued.info.id, tell_them=False)

    assert outcome == RevokeRefused(Refusal.RATE_LIMIT_REQUESTER, SLOW_DOWN)
    assert len(world.directory.calls) == reads
    assert world.directory.pass_of(LIAM.id) is not None
    assert ("revoke", "refused", "rate_limit_requester") in await world.audit()


# help


async def test_help_past_the_limit_is_given_without_reading_the_directory(world: World) -> None:
    profiles = Profiles(
        directory=world.directory, store=world.store, clock=world.clock, helpdesk_group_id=HELPDESK
    )
    first = await profiles.of(MANAGER.id, fallback_name="Olivia")
    assert (first.known, first.slowed_down, first.direct_reports) == (True, False, 4)
    await _exhaust(world, "help", MANAGER.id, HELP_PER_PERSON_PER_HOUR - 1)
    reads = len(world.directory.calls)

    slowed = await profiles.of(MANAGER.id, fallback_name="Olivia")

    assert (slowed.known, slowed.slowed_down, slowed.display_name) == (False, True, "Olivia")
    assert len(world.directory.calls) == reads


# Review and decisions


async def _waiting(world: World) -> AwaitingApproval:
    asked = await world.submit(by=as_person(PRIYA))
    assert isinstance(asked, AwaitingApproval)
    return asked


async def test_review_past_the_limit_reads_nothing_and_says_slow_down(world: World) -> None:
    asked = await _waiting(world)
    await _exhaust(world, "review", TOM.id, REVIEWS_PER_PERSON_PER_HOUR)
    reads = len(world.directory.calls)

    refusal = await world.requests.may_decide(as_person(TOM), asked.request)

    assert refusal is Refusal.RATE_LIMIT_REQUESTER
    assert decision_refusal_text(refusal) == APPROVALS_SLOW_DOWN
    assert len(world.directory.calls) == reads


async def test_what_the_card_tells_is_answered_without_counting(world: World) -> None:
    asked = await _waiting(world)
    await _exhaust(world, "review", PRIYA.id, REVIEWS_PER_PERSON_PER_HOUR)

    # Her own request: refused from the stored request alone, before the count.
    assert await world.requests.may_decide(as_person(PRIYA), asked.request) is (
        Refusal.SELF_APPROVAL
    )
    assert await world.requests.may_decide(as_person(TOM), asked.request) is None


async def test_a_decision_past_the_limit_says_slow_down_in_approval_words(world: World) -> None:
    asked = await _waiting(world)
    await _exhaust(world, "decide", TOM.id, DECISIONS_PER_PERSON_PER_HOUR)

    outcome = await world.requests.decide(as_person(TOM), asked.request.id, 1, approve=True)

    assert isinstance(outcome, Refused)
    assert (outcome.reason, outcome.text) == (Refusal.RATE_LIMIT_REQUESTER, APPROVALS_SLOW_DOWN)
    assert "requests" not in outcome.text


@pytest.mark.parametrize("refusal", [Refusal.SELF_APPROVAL, Refusal.NOT_AN_APPROVER])
def test_other_decision_refusals_keep_their_words(refusal: Refusal) -> None:
    assert decision_refusal_text(refusal) == message(refusal)


# "audit"


async def test_audit_views_past_the_limit_are_refused_audited_and_read_nothing(
    world: World,
) -> None:
    viewer = AuditViewer(
        directory=world.directory,
        store=world.store,
        auditor=Auditor(world.store, world.clock),
        clock=world.clock,
        helpdesk_group_id=HELPDESK,
    )
    assert await viewer.allowed(TOM.id) is None
    await _exhaust(world, "audit", TOM.id, AUDIT_VIEWS_PER_PERSON_PER_HOUR - 1)
    reads = world.directory.called("member_of_groups")

    refused = await viewer.allowed(TOM.id)

    assert refused == AuditViewRefused(SLOW_DOWN)
    assert world.directory.called("member_of_groups") == reads
    assert ("audit", "refused", "rate_limit_requester") in await world.audit()
