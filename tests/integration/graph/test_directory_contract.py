"""The `Directory` contract (bot/domain/ports.py), against the twin and the Graph adapters.

Every test runs on both sides of `side` over the same seeded organisation (sandbox/org.py).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from bot.domain.errors import DirectoryObjectNotFound
from bot.domain.joiners import Joiner
from bot.domain.model import (
    Actor,
    ActorKind,
    DirectoryUser,
    ManagerChange,
)
from sandbox import org
from tests.integration.graph.conftest import Side

UNKNOWN_ID = "99999999-0000-4000-8000-000000000099"
OLIVIA_REPORTS = {
    *org.ELIGIBLE_REPORT_IDS,
    org.PIM_ELIGIBLE_ADMIN_ID,
    org.DISABLED_ID,
    org.RECENT_MANAGER_CHANGE_ID,
    org.GROUP_ADMIN_ID,
    org.PIM_GROUP_ELIGIBLE_ID,
    *org.JOINER_IDS,
}


def seeded_hire_date(side: Side, user_id: str) -> datetime:
    # org.seed: the n-th person was hired 400 + 37 n days before the seed.
    index = list(org.PEOPLE).index(user_id)
    return side.seeded_at - timedelta(days=400 + 37 * index)


# get_user


async def test_get_user_returns_every_field(side: Side) -> None:
    liam = await side.directory.get_user(org.LIAM_ID)

    assert liam == DirectoryUser(
        id=org.LIAM_ID,
        display_name="Liam Carter",
        user_principal_name="liam.carter@contoso.example",
        account_enabled=True,
        user_type="Member",
        job_title="Accounts Payable Specialist",
        mail="liam.carter@contoso.example",
        other_mails=("liam.carter.home@example.net",),
        mobile_phone="+61 491 570 006",
        employee_hire_date=seeded_hire_date(side, org.LIAM_ID),
        given_name="Liam",
    )


async def test_get_user_reports_disabled_guests_and_missing_optional_fields(side: Side) -> None:
    disabled = await side.directory.get_user(org.DISABLED_ID)
    guest = await side.directory.get_user(org.GUEST_ID)
    break_glass = await side.directory.get_user(org.BREAK_GLASS_ID)

    assert disabled.account_enabled is False
    assert guest.is_guest
    assert guest.user_type == "Guest"
    assert guest.mail == "jordan.ellis@fabrikam.example"
    assert guest.employee_hire_date is None
    assert (break_glass.job_title, break_glass.mobile_phone, break_glass.other_mails) == (
        None,
        None,
        (),
    )


async def test_get_user_by_upn_in_any_case(side: Side) -> None:
    by_upn = await side.directory.get_user(org.MANAGER_UPN.upper())

    assert by_upn == await side.directory.get_user(org.MANAGER_ID)


@pytest.mark.parametrize("unknown", [UNKNOWN_ID, "nobody@contoso.example"])
async def test_get_user_unknown_is_not_found(side: Side, unknown: str) -> None:
    with pytest.raises(DirectoryObjectNotFound):
        await side.directory.get_user(unknown)


# The org chart


async def test_get_manager(side: Side) -> None:
    manager = await side.directory.get_manager(org.LIAM_ID)
    # Zoe's manager is the one set two days ago.
    zoe_manager = await side.directory.get_manager(org.RECENT_MANAGER_CHANGE_ID)

    assert manager == await side.directory.get_user(org.MANAGER_ID)
    assert zoe_manager is not None
    assert zoe_manager.id == org.MANAGER_ID


@pytest.mark.parametrize("user_id", [org.CEO_ID, org.GUEST_ID, UNKNOWN_ID])
async def test_get_manager_none(side: Side, user_id: str) -> None:
    # No manager is None; so is an unknown user (Graph answers 404 for both).
    assert await side.directory.get_manager(user_id) is None


async def test_list_direct_reports_returns_every_page(side: Side) -> None:
    # The fake tenant pages by 3, so Olivia's 9 reports take 3 pages.
    reports = await side.directory.list_direct_reports(org.MANAGER_ID)

    assert sorted(r.id for r in reports) == sorted(OLIVIA_REPORTS)
    for report in reports:
        assert report == await side.directory.get_user(report.id)


async def test_list_direct_reports_by_upn_and_of_nobody(side: Side) -> None:
    by_upn = await side.directory.list_direct_reports(org.SECOND_MANAGER_UPN)

    assert {r.id for r in by_upn} == {*org.HELPDESK_MEMBER_IDS, org.LUCAS_ID, org.AVA_ID}
    assert await side.directory.list_direct_reports(org.LIAM_ID) == []
    with pytest.raises(DirectoryObjectNotFound):
        await side.directory.list_direct_reports(UNKNOWN_ID)


# Search


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Pri", [org.HELPDESK_MEMBER_IDS[0]]),  # display name
        ("  liam  ", [org.LIAM_ID]),  # trimmed, any case
        ("Kim", [org.GRACE_ID]),  # surname
        ("olivia.bennett@", [org.MANAGER_ID]),  # UPN and mail
        ("jordan.ellis@fab", [org.GUEST_ID]),  # mail only (the UPN differs)
        ("Ellis", [org.GUEST_ID]),  # surname "Ellis (Fabrikam)"
        ("Glass", [org.BREAK_GLASS_ID]),  # surname "Glass 01"
        ("tapbot", [org.MAILBOX_ID]),
        ("Carter", [org.LIAM_ID]),
        ("arter", []),  # "starts with", not "contains"
        ("liam.carter.home", []),  # otherMails are not searched
        ("", []),
    ],
)
async def test_search_users_by_prefix(side: Side, text: str, expected: list[str]) -> None:
    found = await side.directory.search_users(text)

    assert [u.id for u in found] == expected


async def test_search_users_sorted_by_name_and_limited(side: Side) -> None:
    everyone_o = await side.directory.search_users("o")
    limited = await side.directory.search_users("o", limit=1)

    # Daniel by his surname (Okafor), then Olivia and Oscar by their given names.
    assert [u.display_name for u in everyone_o] == [
        "Daniel Okafor",
        "Olivia Bennett",
        "Oscar Nguyen",
    ]
    assert len(limited) == 1
    assert limited[0] in everyone_o
    assert await side.directory.search_users("o", limit=0) == []
    found = await side.directory.search_users("Liam")
    assert found == [await side.directory.get_user(org.LIAM_ID)]


# Sponsors, groups, roles


async def test_list_sponsors(side: Side) -> None:
    sponsors = await side.directory.list_sponsors(org.GUEST_ID)

    assert sponsors == [await side.directory.get_user(org.MANAGER_ID)]
    assert await side.directory.list_sponsors(org.LIAM_ID) == []
    with pytest.raises(DirectoryObjectNotFound):
        await side.directory.list_sponsors(UNKNOWN_ID)


@pytest.mark.parametrize(
    ("user_id", "asked", "expected"),
    [
        # direct
        (org.HELPDESK_MEMBER_IDS[0], [org.HELPDESK_GROUP_ID, org.BLOCKED_GROUP_ID], {0}),
        # nested: Break Glass is in Emergency, which is in Blocked
        (org.BREAK_GLASS_ID, [org.HELPDESK_GROUP_ID, org.BLOCKED_GROUP_ID], {1}),
        (org.BREAK_GLASS_ID, [org.EMERGENCY_GROUP_ID, org.BLOCKED_GROUP_ID], {0, 1}),
        # none
        (org.LIAM_ID, [org.HELPDESK_GROUP_ID, org.BLOCKED_GROUP_ID], set()),
        (org.LIAM_ID, [], set()),
        # by UPN, and a group asked twice
        (org.SECOND_MANAGER_UPN, [org.HELPDESK_GROUP_ID], set()),
        (org.HELPDESK_MEMBER_IDS[1], [org.HELPDESK_GROUP_ID] * 2, {0}),
    ],
)
async def test_member_of_groups(
    side: Side, user_id: str, asked: list[str], expected: set[int]
) -> None:
    found = await side.directory.member_of_groups(user_id, asked)

    assert found == {asked[i] for i in expected}


async def test_member_of_groups_asks_more_than_twenty(side: Side) -> None:
    # Graph's checkMemberGroups takes 20 ids at a time; the port takes any number.
    others = [f"b0000000-0000-4000-8000-{n:012d}" for n in range(24)]
    asked = [*others[:21], org.BLOCKED_GROUP_ID, *others[21:], org.HELPDESK_GROUP_ID]

    assert await side.directory.member_of_groups(org.BREAK_GLASS_ID, asked) == {
        org.BLOCKED_GROUP_ID
    }


async def test_member_of_groups_unknown_user_is_not_found(side: Side) -> None:
    with pytest.raises(DirectoryObjectNotFound):
        await side.directory.member_of_groups(UNKNOWN_ID, [org.HELPDESK_GROUP_ID])


async def test_group_members_are_listed_through_nested_groups(side: Side) -> None:
    helpdesk = await side.directory.list_group_members(org.HELPDESK_GROUP_ID)
    blocked = await side.directory.list_group_members(org.BLOCKED_GROUP_ID)  # nests a group

    assert set(helpdesk) == set(org.HELPDESK_MEMBER_IDS)
    assert blocked == [org.BREAK_GLASS_ID]
    assert len(await side.directory.list_group_members(org.HELPDESK_GROUP_ID, limit=2)) == 2


async def test_group_members_of_an_unknown_group_is_not_found(side: Side) -> None:
    with pytest.raises(DirectoryObjectNotFound):
        await side.directory.list_group_members(UNKNOWN_ID)


# Roles: test_role_contract.py


# Audit: manager changes


async def test_manager_changes_returns_the_recent_change(side: Side) -> None:
    now = side.seeded_at

    changes = await side.directory.manager_changes(
        org.RECENT_MANAGER_CHANGE_ID, now - timedelta(days=14)
    )

    assert changes == [
        ManagerChange(
            target_id=org.RECENT_MANAGER_CHANGE_ID,
            changed_at=now - timedelta(days=2),
            old_manager_id=org.SECOND_MANAGER_ID,
            new_manager_id=org.MANAGER_ID,
            changed_by=Actor(ActorKind.USER, org.GLOBAL_ADMIN_ID, "Robert Lang"),
        )
    ]


@pytest.mark.parametrize("joiner", org.JOINER_IDS)
async def test_a_joiners_first_manager_was_set_with_the_account_by_hr_provisioning(
    side: Side, joiner: str
) -> None:
    since = side.seeded_at - timedelta(days=14)
    hr = Actor(
        ActorKind.APP,
        org.HR_PROVISIONING_SP_ID,
        org.HR_PROVISIONING_NAME,
        org.HR_PROVISIONING_APP_ID,
    )

    [change] = await side.directory.manager_changes(joiner, since)
    creation = await side.directory.account_created(joiner, since)

    assert change.first_assignment
    assert (change.new_manager_id, change.changed_by) == (org.MANAGER_ID, hr)
    assert creation is not None
    assert (creation.created_at, creation.created_by) == (change.changed_at, hr)


@pytest.mark.parametrize("user_id", [org.LIAM_ID, UNKNOWN_ID])
async def test_no_account_creation_for_people_created_long_ago(side: Side, user_id: str) -> None:
    since = side.seeded_at - timedelta(days=14)
    assert await side.directory.account_created(user_id, since) is None


@pytest.mark.parametrize("user_id", [org.LIAM_ID, org.CEO_ID, org.LUCAS_ID, UNKNOWN_ID])
async def test_manager_changes_none_for_others(side: Side, user_id: str) -> None:
    # Lucas's change was 90 days ago, before the window.
    since = side.seeded_at - timedelta(days=14)

    assert await side.directory.manager_changes(user_id, since) == []


@pytest.mark.parametrize("manager_id", [org.MANAGER_ID, org.SECOND_MANAGER_ID])
async def test_manager_changes_ignore_events_where_the_user_is_the_new_manager(
    side: Side, manager_id: str
) -> None:
    # Olivia became Zoe's manager 2 days ago and Daniel Lucas's 90 days ago: neither had their
    # own manager changed.
    since = side.seeded_at - timedelta(days=100)

    assert await side.directory.manager_changes(manager_id, since) == []


async def test_manager_changes_newest_first_within_the_window(side: Side) -> None:
    now = side.seeded_at
    side.set_manager(org.LUCAS_ID, org.MANAGER_ID, at=now - timedelta(hours=1), by=org.CEO_ID)

    all_changes = await side.directory.manager_changes(org.LUCAS_ID, now - timedelta(days=100))
    recent = await side.directory.manager_changes(org.LUCAS_ID, now - timedelta(hours=2))

    assert [(c.changed_at, c.old_manager_id, c.new_manager_id) for c in all_changes] == [
        (now - timedelta(hours=1), org.SECOND_MANAGER_ID, org.MANAGER_ID),
        (now - timedelta(days=90), org.SECOND_MANAGER_ID, org.SECOND_MANAGER_ID),
    ]
    assert recent == all_changes[:1]
    assert {c.changed_by.id for c in all_changes if c.changed_by} == {org.CEO_ID}
    assert all(c.readable and c.old_manager_known for c in all_changes)
    manager = await side.directory.get_manager(org.LUCAS_ID)
    assert manager is not None
    assert manager.id == org.MANAGER_ID


# Joiners


async def _joiners(side: Side, start: datetime, end: datetime, **scope: Any) -> list[Joiner]:
    return [j async for j in side.directory.list_joiners(start, end, **scope)]


async def test_list_joiners_in_the_window(side: Side) -> None:
    now = side.seeded_at

    upcoming = await _joiners(side, now, now + timedelta(days=11))

    assert {j.user.id for j in upcoming} == set(org.JOINER_IDS)
    ordered = sorted(upcoming, key=lambda j: j.user.id)
    assert [j.user.employee_hire_date for j in ordered] == [
        org.hire_date(now, days) for days in org.JOINER_DAYS
    ]
    assert [j.user.job_title for j in ordered] == [org.PEOPLE[i][1] for i in org.JOINER_IDS]
    assert {(j.department, j.company_name, j.hire_date_text) for j in upcoming} == {
        ("Finance", org.COMPANY, None)
    }


async def test_list_joiners_says_when_each_account_was_created(side: Side) -> None:
    """HR provisioning created the joiners' accounts days ago; Graph's createdDateTime comes
    back in whole seconds, in UTC."""
    now = side.seeded_at

    upcoming = await _joiners(side, now, now + timedelta(days=11))

    created = {j.user.id: j.created_at for j in upcoming}
    assert created == {
        joiner: now - timedelta(days=days)
        for joiner, days in zip(org.JOINER_IDS, org.JOINER_CREATED_DAYS_AGO, strict=True)
    }
    assert all(at is not None and at.utcoffset() == timedelta(0) for at in created.values())


async def test_list_joiners_without_a_creation_time_says_none(side: Side) -> None:
    """Graph's null createdDateTime (some accounts made before June 2018) is an unknown."""
    now = side.seeded_at
    side.set_created(org.JOINER_IDS[0], None)

    upcoming = await _joiners(side, now, now + timedelta(days=11))

    created = {j.user.id: j.created_at for j in upcoming}
    assert created[org.JOINER_IDS[0]] is None
    assert created[org.JOINER_IDS[1]] == now - timedelta(days=org.JOINER_CREATED_DAYS_AGO[1])


async def test_list_joiners_bounds_are_inclusive(side: Side) -> None:
    now = side.seeded_at
    day3, day6, day10 = (org.hire_date(now, d) for d in org.JOINER_DAYS)

    first_two = await _joiners(side, day3, day6)
    after_first = await _joiners(side, day3 + timedelta(seconds=1), day10 - timedelta(seconds=1))
    none = await _joiners(side, day3 + timedelta(seconds=1), day6 - timedelta(seconds=1))

    assert {j.user.id for j in first_two} == set(org.JOINER_IDS[:2])
    assert [j.user.id for j in after_first] == [org.JOINER_IDS[1]]
    assert none == []


async def test_list_joiners_follows_every_page(side: Side) -> None:
    """Everyone with a hire date, across many pages on the Graph side (3 to a page)."""
    now = side.seeded_at
    hired = {
        user_id
        for user_id in org.PEOPLE
        if user_id not in (org.GUEST_ID, org.BREAK_GLASS_ID, org.MAILBOX_ID, org.DISABLED_ID)
    }

    everyone = await _joiners(side, now - timedelta(days=5000), now + timedelta(days=30))

    assert sorted(j.user.id for j in everyone) == sorted(hired)


async def test_list_joiners_only_enabled_members(side: Side) -> None:
    now = side.seeded_at
    side.set_user(org.JOINER_IDS[0], account_enabled=False)
    side.set_user(org.JOINER_IDS[1], user_type="Guest")

    upcoming = await _joiners(side, now, now + timedelta(days=11))

    assert [j.user.id for j in upcoming] == [org.JOINER_IDS[2]]


@pytest.mark.parametrize(
    ("scope", "found"),
    [
        ({"departments": ["finance"]}, True),
        ({"departments": ["IT", "Finance"]}, True),
        ({"departments": ["IT"]}, False),
        ({"companies": [org.COMPANY.upper()]}, True),
        ({"companies": ["Fabrikam"]}, False),
        ({"departments": ["Finance"], "companies": ["Fabrikam"]}, False),
    ],
)
async def test_list_joiners_within_a_scope(
    side: Side, scope: dict[str, list[str]], found: bool
) -> None:
    now = side.seeded_at

    upcoming = await _joiners(side, now, now + timedelta(days=11), **scope)

    assert {j.user.id for j in upcoming} == (set(org.JOINER_IDS) if found else set())


async def test_list_joiners_in_the_past(side: Side) -> None:
    hired = seeded_hire_date(side, org.CEO_ID)

    found = await _joiners(side, hired - timedelta(days=1), hired + timedelta(days=1))

    assert [j.user.id for j in found] == [org.CEO_ID]
    # A long-standing account, created before its holder's first day.
    assert found[0].created_at == hired - org.ACCOUNT_MADE_BEFORE_HIRE


# Teams app


async def test_install_app_is_idempotent(side: Side) -> None:
    directory = side.directory

    assert await directory.is_app_installed_for(org.LIAM_ID, org.TEAMS_APP_ID) is False
    await directory.install_app_for(org.LIAM_ID, org.TEAMS_APP_ID)
    await directory.install_app_for(org.LIAM_ID, org.TEAMS_APP_ID)

    assert await directory.is_app_installed_for(org.LIAM_ID, org.TEAMS_APP_ID) is True
    assert await directory.is_app_installed_for(org.GRACE_ID, org.TEAMS_APP_ID) is False


async def test_app_for_unknown_user_is_not_found(side: Side) -> None:
    with pytest.raises(DirectoryObjectNotFound):
        await side.directory.is_app_installed_for(UNKNOWN_ID, org.TEAMS_APP_ID)
    with pytest.raises(DirectoryObjectNotFound):
        await side.directory.install_app_for(UNKNOWN_ID, org.TEAMS_APP_ID)


async def test_the_personal_chat_exists_only_once_the_app_is_installed(side: Side) -> None:
    directory = side.directory

    assert await directory.personal_chat_id(org.LIAM_ID, org.TEAMS_APP_ID) is None
    await directory.install_app_for(org.LIAM_ID, org.TEAMS_APP_ID)

    chat_id = await directory.personal_chat_id(org.LIAM_ID, org.TEAMS_APP_ID)
    assert chat_id == f"19:{org.TEAMS_APP_ID}_{org.LIAM_ID}@unq.gbl.spaces"
    assert await directory.personal_chat_id(org.GRACE_ID, org.TEAMS_APP_ID) is None
