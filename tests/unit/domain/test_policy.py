"""The pure rules of `bot.domain.policy`: who may get a pass, with what parameters, how often."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.model import (
    ChangeEvidence,
    DirectoryUser,
    PassInfo,
    RecentManagerChange,
    RoleAssignment,
    RoleAssignmentKind,
    RoleSource,
    TapPolicy,
)
from bot.domain.policy import (
    FRIENDLY_LIFETIMES,
    PRIVILEGED_ROLE_IDS,
    PRIVILEGED_ROLES,
    START_SKEW,
    PolicyConfig,
    Refusal,
    TargetFacts,
    allowed_lifetimes,
    check_justification,
    check_pass_parameters,
    check_policy,
    check_rate_limits,
    check_target,
    default_lifetime,
    existing_pass_needs_confirmation,
    lifetime_bounds,
    needs_helpdesk_approval,
    one_time_forced,
    pass_is_live,
)
from bot.domain.refusals import describe_minutes, message, refusal_message
from tests.twins.directory import DEFAULT_POLICY, person

NOW = datetime(2024, 6, 10, 9, 0, tzinfo=UTC)
GLOBAL_ADMIN = "62e90394-69f5-4237-9190-012177145e10"
SECURITY_ADMIN = "194ae4cb-b126-40b2-bd5b-6091b380977d"
PLAIN_ROLE = "88d8e3e3-8f55-4a1e-953a-9b9898b8876b"  # Directory Readers: not privileged
BREAK_GLASS = "group-break-glass"
CONFIG = PolicyConfig(blocked_group_ids=(BREAK_GLASS,))

ACTIVE, ELIGIBLE = RoleAssignmentKind.ACTIVE, RoleAssignmentKind.ELIGIBLE
IN_TIER0 = RoleAssignment(
    GLOBAL_ADMIN, ACTIVE, "/", RoleSource.GROUP_MEMBER, "tier0", "Tier 0 Administrators"
)

MANAGER = person("Ava Manager", id="manager")
GRAND_MANAGER = person("Gil Director", id="director")
NOAH = person("Noah Patel", id="noah")


def facts_for(user: DirectoryUser | None = NOAH, **changes: object) -> TargetFacts:
    values: dict[str, object] = {
        "user": user,
        "manager_id": MANAGER.id,
        "manager_chain": (MANAGER.id, GRAND_MANAGER.id),
        "in_policy_scope": True,
        "policy": DEFAULT_POLICY,
    }
    values.update(changes)
    return TargetFacts(**values)  # type: ignore[arg-type]


def policy(**changes: object) -> TapPolicy:
    return dataclasses.replace(DEFAULT_POLICY, **changes)  # type: ignore[arg-type]


def tap(
    *,
    start: datetime = NOW - timedelta(minutes=30),
    minutes: int = 60,
    reason: str = "EnabledByPolicy",
    once: bool = False,
    ident: str = "p1",
) -> PassInfo:
    return PassInfo(
        id=ident,
        user_id=NOAH.id,
        created_at=start,
        start_at=start,
        lifetime_minutes=minutes,
        is_usable_once=once,
        is_usable=reason == "EnabledByPolicy",
        usability_reason=reason,
    )


# Privileged roles


def test_privileged_roles_include_the_ones_that_can_take_over_a_tenant() -> None:
    for role in (
        GLOBAL_ADMIN,
        "e8611ab8-c189-46e8-94e1-60213ab1f814",  # Privileged Role Administrator
        "7be44c8a-adaf-4e2a-84d6-ab2649e08a13",  # Privileged Authentication Administrator
        "c4e39bd9-1100-46d3-8c65-fb160da0071f",  # Authentication Administrator
        "fe930be7-5e62-47db-91af-98c3a49a38b1",  # User Administrator
        "729827e3-9c14-49f7-bb1b-9608f156bbb8",  # Helpdesk Administrator
        "8ac3fc64-6eca-42ea-9e69-59f4c7b60eb2",  # Hybrid Identity Administrator
    ):
        assert role in PRIVILEGED_ROLE_IDS
    assert PLAIN_ROLE not in PRIVILEGED_ROLE_IDS
    assert PolicyConfig().privileged_role_ids == PRIVILEGED_ROLE_IDS


def test_role_ids_are_lowercase_guids() -> None:
    for role in PRIVILEGED_ROLE_IDS:
        assert role == role.lower()
        assert [len(part) for part in role.split("-")] == [8, 4, 4, 4, 12]
    assert len(set(PRIVILEGED_ROLES.values())) == len(PRIVILEGED_ROLES)


# PolicyConfig


@pytest.mark.parametrize(
    "changes",
    [
        {"max_lifetime_minutes": 9},
        {"max_lifetime_minutes": 43201},
        {"requests_per_requester_per_hour": 0},
        {"requests_per_target_per_day": 0},
        {"manager_change_window_days": -1},
        {"max_start_days_ahead": -1},
        {"max_justification_length": 0},
    ],
)
def test_config_rejects_impossible_values(changes: dict[str, int]) -> None:
    with pytest.raises(ValueError, match="must"):
        PolicyConfig(**changes)  # type: ignore[arg-type]


def test_config_defaults_match_the_product() -> None:
    config = PolicyConfig()
    assert (config.max_lifetime_minutes, config.require_one_time) == (480, False)
    assert (config.requests_per_requester_per_hour, config.requests_per_target_per_day) == (10, 3)
    assert config.manager_change_window_days == 14
    assert not config.allow_guests
    assert not config.allow_indirect_reports


# check_target: one test per reason, then the order


def test_a_direct_report_is_eligible() -> None:
    assert check_target(MANAGER.id, facts_for(), CONFIG) is None


def test_target_not_found() -> None:
    assert check_target(MANAGER.id, facts_for(None), CONFIG) is Refusal.TARGET_NOT_FOUND


def test_self() -> None:
    facts = facts_for(MANAGER, manager_id=GRAND_MANAGER.id)
    assert check_target(MANAGER.id, facts, CONFIG) is Refusal.SELF
    assert check_target(MANAGER.id, facts, CONFIG, via_helpdesk=True) is Refusal.SELF


def test_no_manager() -> None:
    facts = facts_for(manager_id=None, manager_chain=())
    assert check_target(MANAGER.id, facts, CONFIG) is Refusal.NO_MANAGER
    assert check_target("helpdesk", facts, CONFIG, via_helpdesk=True) is None


def test_not_direct_report() -> None:
    assert check_target("someone-else", facts_for(), CONFIG) is Refusal.NOT_DIRECT_REPORT


def test_the_managers_manager_only_when_indirect_reports_are_allowed() -> None:
    assert check_target(GRAND_MANAGER.id, facts_for(), CONFIG) is Refusal.NOT_DIRECT_REPORT
    indirect = dataclasses.replace(CONFIG, allow_indirect_reports=True)
    assert check_target(GRAND_MANAGER.id, facts_for(), indirect) is None
    assert check_target("stranger", facts_for(), indirect) is Refusal.NOT_DIRECT_REPORT


def test_helpdesk_needs_no_reporting_line() -> None:
    assert check_target("helpdesk", facts_for(), CONFIG, via_helpdesk=True) is None


def test_disabled() -> None:
    facts = facts_for(dataclasses.replace(NOAH, account_enabled=False))
    assert check_target(MANAGER.id, facts, CONFIG) is Refusal.DISABLED


GUEST = person("Gina Guest", id="guest", user_type="Guest")


def test_guest_refused_unless_guests_are_allowed() -> None:
    facts = facts_for(GUEST, sponsor_ids=frozenset({MANAGER.id}))
    assert check_target(MANAGER.id, facts, CONFIG) is Refusal.GUEST
    assert check_target("helpdesk", facts, CONFIG, via_helpdesk=True) is Refusal.GUEST


def test_allowed_guests_only_by_their_sponsor_or_the_helpdesk() -> None:
    config = dataclasses.replace(CONFIG, allow_guests=True)
    facts = facts_for(GUEST, sponsor_ids=frozenset({"sponsor"}))
    assert check_target("sponsor", facts, config) is None
    assert check_target(MANAGER.id, facts, config) is Refusal.NOT_SPONSOR
    assert check_target("helpdesk", facts, config, via_helpdesk=True) is None


def test_privileged_role_active() -> None:
    facts = facts_for(role_assignments=(RoleAssignment(GLOBAL_ADMIN, RoleAssignmentKind.ACTIVE),))
    assert check_target(MANAGER.id, facts, CONFIG) is Refusal.PRIVILEGED_ROLE


def test_privileged_role_eligible() -> None:
    facts = facts_for(
        role_assignments=(RoleAssignment(SECURITY_ADMIN, RoleAssignmentKind.ELIGIBLE),)
    )
    assert check_target(MANAGER.id, facts, CONFIG) is Refusal.PRIVILEGED_ROLE_ELIGIBLE


def test_a_role_scoped_to_an_administrative_unit_still_counts() -> None:
    scoped = RoleAssignment(GLOBAL_ADMIN, RoleAssignmentKind.ACTIVE, "/administrativeUnits/au1")
    facts = facts_for(role_assignments=(scoped,))
    assert check_target(MANAGER.id, facts, CONFIG) is Refusal.PRIVILEGED_ROLE


def test_unprivileged_roles_and_a_custom_role_list() -> None:
    plain = facts_for(role_assignments=(RoleAssignment(PLAIN_ROLE, RoleAssignmentKind.ACTIVE),))
    assert check_target(MANAGER.id, plain, CONFIG) is None
    stricter = dataclasses.replace(CONFIG, privileged_role_ids=frozenset({PLAIN_ROLE}))
    assert check_target(MANAGER.id, plain, stricter) is Refusal.PRIVILEGED_ROLE


def test_blocked_group() -> None:
    facts = facts_for(blocked_groups=frozenset({BREAK_GLASS}))
    assert check_target(MANAGER.id, facts, CONFIG) is Refusal.BLOCKED_GROUP
    # Membership of a group no longer configured as blocked does not count.
    assert check_target(MANAGER.id, facts, PolicyConfig()) is None


def test_not_in_policy_scope_and_unknown_scope() -> None:
    assert (
        check_target(MANAGER.id, facts_for(in_policy_scope=False), CONFIG)
        is Refusal.NOT_IN_POLICY_SCOPE
    )
    assert check_target(MANAGER.id, facts_for(in_policy_scope=None), CONFIG) is None


def test_reporting_line_is_checked_before_anything_about_the_target() -> None:
    # A manager learns nothing about someone who is not theirs.
    facts = facts_for(
        dataclasses.replace(NOAH, account_enabled=False),
        role_assignments=(RoleAssignment(GLOBAL_ADMIN, RoleAssignmentKind.ACTIVE),),
        blocked_groups=frozenset({BREAK_GLASS}),
    )
    assert check_target("stranger", facts, CONFIG) is Refusal.NOT_DIRECT_REPORT
    assert check_target(MANAGER.id, facts, CONFIG) is Refusal.DISABLED


def test_active_role_wins_over_eligible_and_roles_over_groups_and_scope() -> None:
    facts = facts_for(
        role_assignments=(
            RoleAssignment(SECURITY_ADMIN, RoleAssignmentKind.ELIGIBLE),
            RoleAssignment(GLOBAL_ADMIN, RoleAssignmentKind.ACTIVE),
        ),
        blocked_groups=frozenset({BREAK_GLASS}),
        in_policy_scope=False,
    )
    assert check_target(MANAGER.id, facts, CONFIG) is Refusal.PRIVILEGED_ROLE
    no_roles = dataclasses.replace(facts, role_assignments=())
    assert check_target(MANAGER.id, no_roles, CONFIG) is Refusal.BLOCKED_GROUP


def test_roles_that_could_not_be_read_refuse_the_pass() -> None:
    facts = facts_for(role_check_failure="DirectoryThrottled 429 TooManyRequests")
    assert check_target(MANAGER.id, facts, CONFIG) is Refusal.ROLE_CHECK_FAILED
    assert check_target("helpdesk", facts, CONFIG, via_helpdesk=True) is Refusal.ROLE_CHECK_FAILED


@pytest.mark.parametrize(
    ("requester", "changes", "expected"),
    [
        ("stranger", {}, Refusal.NOT_DIRECT_REPORT),
        (MANAGER.id, {"manager_id": None, "manager_chain": ()}, Refusal.NO_MANAGER),
        (NOAH.id, {}, Refusal.SELF),
        (MANAGER.id, {"user": None}, Refusal.TARGET_NOT_FOUND),
        (MANAGER.id, {"user": dataclasses.replace(NOAH, user_type="Guest")}, Refusal.GUEST),
        (MANAGER.id, {"user": dataclasses.replace(NOAH, account_enabled=False)}, Refusal.DISABLED),
    ],
)
def test_a_failed_role_check_comes_after_the_relationship_and_certain_facts(
    requester: str, changes: dict[str, object], expected: Refusal
) -> None:
    # A manager must learn nothing about someone who is not theirs, not even that tapbot
    # could not read their roles.
    facts = dataclasses.replace(facts_for(role_check_failure="DirectoryUnavailable 503"), **changes)
    assert check_target(requester, facts, CONFIG) is expected


def test_a_failed_role_check_wins_over_blocked_groups_and_scope() -> None:
    facts = facts_for(
        role_check_failure="DirectoryAccessDenied 403",
        blocked_groups=frozenset({BREAK_GLASS}),
        in_policy_scope=False,
    )
    assert check_target(MANAGER.id, facts, CONFIG) is Refusal.ROLE_CHECK_FAILED


def test_role_ids_are_compared_without_regard_to_case() -> None:
    upper = facts_for(role_assignments=(RoleAssignment(GLOBAL_ADMIN.upper(), ACTIVE),))
    assert check_target(MANAGER.id, upper, CONFIG) is Refusal.PRIVILEGED_ROLE
    custom = dataclasses.replace(CONFIG, privileged_role_ids=frozenset({PLAIN_ROLE.upper()}))
    plain = facts_for(role_assignments=(RoleAssignment(PLAIN_ROLE, ELIGIBLE),))
    assert check_target(MANAGER.id, plain, custom) is Refusal.PRIVILEGED_ROLE_ELIGIBLE


@pytest.mark.parametrize(
    ("assignment", "expected"),
    [
        (IN_TIER0, Refusal.PRIVILEGED_ROLE),
        (dataclasses.replace(IN_TIER0, kind=ELIGIBLE, via=RoleSource.GROUP_OWNER),
         Refusal.PRIVILEGED_ROLE_ELIGIBLE),
        (dataclasses.replace(IN_TIER0, kind=ELIGIBLE, via=RoleSource.GROUP_ELIGIBLE_MEMBER),
         Refusal.PRIVILEGED_ROLE_ELIGIBLE),
        (dataclasses.replace(IN_TIER0, kind=ELIGIBLE, via=RoleSource.NESTED_GROUP),
         Refusal.PRIVILEGED_ROLE_ELIGIBLE),
    ],
)  # fmt: skip
def test_roles_through_groups_refuse_like_direct_ones(
    assignment: RoleAssignment, expected: Refusal
) -> None:
    assert check_target(MANAGER.id, facts_for(role_assignments=(assignment,)), CONFIG) is expected


# needs_helpdesk_approval


def change(days_ago: float, old: str | None = "old-manager") -> RecentManagerChange:
    return RecentManagerChange(
        NOW - timedelta(days=days_ago), old, MANAGER.id, None, ChangeEvidence.AUDIT_LOG
    )


def test_a_recent_manager_change_needs_the_helpdesk_and_names_the_previous_manager() -> None:
    recent = change(3)
    found = needs_helpdesk_approval(facts_for(recent_manager_change=recent), CONFIG, NOW)
    assert found == recent
    assert found is not None
    assert found.previous_manager_id == "old-manager"


def test_no_recent_change_needs_nothing() -> None:
    assert needs_helpdesk_approval(facts_for(), CONFIG, NOW) is None


def test_a_zero_window_never_needs_the_helpdesk() -> None:
    config = dataclasses.replace(CONFIG, manager_change_window_days=0)
    facts = facts_for(recent_manager_change=change(0))
    assert needs_helpdesk_approval(facts, config, NOW) is None


def test_naive_now_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        needs_helpdesk_approval(facts_for(), CONFIG, datetime(2024, 6, 10))  # noqa: DTZ001


# Lifetimes


@pytest.mark.parametrize(
    ("tenant", "org_max", "expected", "default"),
    [
        # Entra's defaults: 60..480, default 60
        ({}, 480, [60, 120, 240, 480], 60),
        # The organisation is stricter than the tenant
        ({"maximum_lifetime_minutes": 43200}, 480, [60, 120, 240, 480], 60),
        ({}, 200, [60, 120, 200], 60),
        # A default that is not a friendly length is offered too
        ({"default_lifetime_minutes": 90}, 480, [60, 90, 120, 240, 480], 90),
        # A wide tenant policy
        (
            {"minimum_lifetime_minutes": 10, "maximum_lifetime_minutes": 43200},
            43200,
            list(FRIENDLY_LIFETIMES),
            60,
        ),
        # A narrow range with no friendly length in it still offers something
        ({"minimum_lifetime_minutes": 70, "maximum_lifetime_minutes": 100}, 480, [100], 100),
        # The tenant default lies above what the organisation allows: nearest allowed
        ({"default_lifetime_minutes": 1440, "maximum_lifetime_minutes": 2880}, 480, None, 480),
    ],
)
def test_allowed_and_default_lifetimes(
    tenant: dict[str, int], org_max: int, expected: list[int] | None, default: int
) -> None:
    tap_policy = policy(**tenant)
    config = PolicyConfig(max_lifetime_minutes=org_max)
    if expected is not None:
        assert allowed_lifetimes(tap_policy, config) == expected
    assert default_lifetime(tap_policy, config) == default


def test_no_lifetime_when_the_ranges_do_not_meet() -> None:
    tap_policy = policy(minimum_lifetime_minutes=600, maximum_lifetime_minutes=1440)
    config = PolicyConfig(max_lifetime_minutes=480)
    assert lifetime_bounds(tap_policy, config) is None
    assert allowed_lifetimes(tap_policy, config) == []
    assert check_policy(tap_policy, config) is Refusal.NO_ALLOWED_LIFETIME
    with pytest.raises(ValueError, match="no lifetime"):
        default_lifetime(tap_policy, config)


lifetimes = st.integers(min_value=10, max_value=43200)


@given(low=lifetimes, high=lifetimes, default=lifetimes, org_max=lifetimes)
def test_lifetime_choices_invariants(low: int, high: int, default: int, org_max: int) -> None:
    tap_policy = policy(
        minimum_lifetime_minutes=low,
        maximum_lifetime_minutes=high,
        default_lifetime_minutes=default,
    )
    config = PolicyConfig(max_lifetime_minutes=org_max)
    choices = allowed_lifetimes(tap_policy, config)
    bounds = lifetime_bounds(tap_policy, config)
    if bounds is None:
        assert choices == []
        return
    lo, hi = bounds
    assert lo >= max(low, 10)
    assert hi <= min(high, org_max)
    assert choices == sorted(set(choices))
    assert all(lo <= c <= hi for c in choices)
    assert hi in choices
    if lo <= default <= hi:
        assert default in choices
        assert default_lifetime(tap_policy, config) == default
    assert default_lifetime(tap_policy, config) in choices
    # Every offered choice passes the server-side check.
    for minutes in choices:
        assert (
            check_pass_parameters(
                lifetime_minutes=minutes,
                is_usable_once=True,
                start_at=None,
                policy=tap_policy,
                config=config,
                now=NOW,
            )
            is None
        )


def test_one_time_forced_by_the_tenant_or_the_organisation() -> None:
    assert not one_time_forced(DEFAULT_POLICY, PolicyConfig())
    assert one_time_forced(policy(is_usable_once=True), PolicyConfig())
    assert one_time_forced(DEFAULT_POLICY, PolicyConfig(require_one_time=True))


# check_pass_parameters


def check(
    *,
    lifetime: int = 60,
    once: bool = False,
    start: datetime | None = None,
    tap_policy: TapPolicy = DEFAULT_POLICY,
    config: PolicyConfig = CONFIG,
) -> Refusal | None:
    return check_pass_parameters(
        lifetime_minutes=lifetime,
        is_usable_once=once,
        start_at=start,
        policy=tap_policy,
        config=config,
        now=NOW,
    )


def test_policy_disabled() -> None:
    assert check(tap_policy=policy(enabled=False)) is Refusal.TAP_POLICY_DISABLED
    assert check_policy(policy(enabled=False), CONFIG) is Refusal.TAP_POLICY_DISABLED
    assert check_policy(DEFAULT_POLICY, CONFIG) is None


def test_no_allowed_lifetime() -> None:
    narrow = PolicyConfig(max_lifetime_minutes=30)
    assert check(config=narrow) is Refusal.NO_ALLOWED_LIFETIME


@pytest.mark.parametrize(
    ("lifetime", "refusal"),
    [
        (9, Refusal.LIFETIME_OUT_OF_RANGE),
        (59, Refusal.LIFETIME_OUT_OF_RANGE),
        (60, None),
        (61, None),  # any whole number inside the range, not only the card's choices
        (480, None),
        (481, Refusal.LIFETIME_OUT_OF_RANGE),
        (43201, Refusal.LIFETIME_OUT_OF_RANGE),
    ],
)
def test_lifetime_boundaries(lifetime: int, refusal: Refusal | None) -> None:
    assert check(lifetime=lifetime) is refusal


def test_the_organisations_maximum_is_stricter_than_the_tenants() -> None:
    config = dataclasses.replace(CONFIG, max_lifetime_minutes=120)
    assert check(lifetime=120, config=config) is None
    assert check(lifetime=121, config=config) is Refusal.LIFETIME_OUT_OF_RANGE


def test_a_lifetime_that_is_not_an_integer_is_invalid_input() -> None:
    assert check(lifetime=True) is Refusal.INVALID_INPUT
    assert check(lifetime=60.0) is Refusal.INVALID_INPUT  # type: ignore[arg-type]


def test_one_time_required() -> None:
    assert check(tap_policy=policy(is_usable_once=True)) is Refusal.ONE_TIME_REQUIRED
    assert check(tap_policy=policy(is_usable_once=True), once=True) is None
    forced = dataclasses.replace(CONFIG, require_one_time=True)
    assert check(config=forced) is Refusal.ONE_TIME_REQUIRED
    assert check(config=forced, once=True) is None


@pytest.mark.parametrize(
    ("start", "refusal"),
    [
        (None, None),
        (NOW - START_SKEW - timedelta(seconds=1), Refusal.START_IN_PAST),
        (NOW - START_SKEW, None),
        (NOW, None),
        (NOW + timedelta(days=30), None),
        (NOW + timedelta(days=30, seconds=1), Refusal.START_TOO_FAR),
        (NOW - timedelta(days=1), Refusal.START_IN_PAST),
    ],
)
def test_start_boundaries(start: datetime | None, refusal: Refusal | None) -> None:
    assert check(start=start) is refusal


def test_start_times_in_other_time_zones_compare_as_instants() -> None:
    paris = timezone(timedelta(hours=2))
    assert check(start=NOW.astimezone(paris)) is None
    assert check(start=(NOW - timedelta(hours=1)).astimezone(paris)) is Refusal.START_IN_PAST


def test_a_naive_start_is_invalid_input() -> None:
    assert check(start=datetime(2024, 6, 11, 9, 0)) is Refusal.INVALID_INPUT  # noqa: DTZ001


def test_max_start_days_ahead_is_configurable() -> None:
    config = dataclasses.replace(CONFIG, max_start_days_ahead=7)
    assert check(start=NOW + timedelta(days=7), config=config) is None
    assert check(start=NOW + timedelta(days=8), config=config) is Refusal.START_TOO_FAR


# Rate limits


@pytest.mark.parametrize(
    ("by_requester", "for_target", "refusal"),
    [
        (0, 0, None),
        (9, 2, None),
        (10, 0, Refusal.RATE_LIMIT_REQUESTER),
        (0, 3, Refusal.RATE_LIMIT_TARGET),
        (10, 3, Refusal.RATE_LIMIT_REQUESTER),
    ],
)
def test_rate_limits(by_requester: int, for_target: int, refusal: Refusal | None) -> None:
    assert (
        check_rate_limits(
            by_requester_last_hour=by_requester, for_target_last_day=for_target, config=CONFIG
        )
        is refusal
    )


# Justification


@pytest.mark.parametrize(
    ("text", "refusal"),
    [
        ("New laptop, lost phone", None),
        (None, Refusal.JUSTIFICATION_MISSING),
        ("   ", Refusal.JUSTIFICATION_MISSING),
        ("x" * 500, None),
        ("  " + "x" * 500 + "  ", None),
        ("x" * 501, Refusal.JUSTIFICATION_TOO_LONG),
    ],
)
def test_justification(text: str | None, refusal: Refusal | None) -> None:
    assert check_justification(text, CONFIG) is refusal


def test_justification_can_be_optional() -> None:
    assert check_justification("", dataclasses.replace(CONFIG, require_justification=False)) is None


# Existing passes


def test_a_usable_pass_needs_confirmation() -> None:
    live = tap()
    assert existing_pass_needs_confirmation([live], NOW) == live


def test_a_pass_not_yet_started_needs_confirmation() -> None:
    joiner = tap(start=NOW + timedelta(days=3), reason="NotYetValid")
    assert existing_pass_needs_confirmation([joiner], NOW) == joiner


@pytest.mark.parametrize(
    "info",
    [
        tap(start=NOW - timedelta(minutes=60), minutes=60),  # ends exactly now
        tap(start=NOW - timedelta(hours=3), minutes=60, reason="Expired"),
        tap(reason="Expired"),  # Graph says expired even though our arithmetic does not
        tap(once=True, reason="OneTimeUsed"),
    ],
)
def test_an_expired_or_used_pass_is_replaced_without_asking(info: PassInfo) -> None:
    assert not pass_is_live(info, NOW)
    assert existing_pass_needs_confirmation([info], NOW) is None


def test_the_pass_ending_last_is_the_one_named() -> None:
    short, long = tap(ident="a", minutes=60), tap(ident="b", minutes=240)
    assert existing_pass_needs_confirmation([short, long], NOW) == long
    assert existing_pass_needs_confirmation([], NOW) is None


# Messages


@pytest.mark.parametrize("refusal", list(Refusal))
def test_every_refusal_has_a_plain_sentence(refusal: Refusal) -> None:
    text = message(refusal)
    assert text
    assert text.endswith(".")
    assert "_" not in text  # no codes, no ids
    filled = message(refusal, name="Noah Patel", role="Global Administrator", limit=3, days=30)
    assert filled


def test_messages_name_the_person_and_the_facts() -> None:
    assert message(Refusal.PRIVILEGED_ROLE_ELIGIBLE, name="Noah Patel") == (
        "Noah Patel can be made an administrator (a privileged role) through Privileged "
        "Identity Management, so a pass must come from the helpdesk, not this bot."
    )
    assert "Global Administrator" in message(
        Refusal.PRIVILEGED_ROLE, name="Noah Patel", role="Global Administrator"
    )
    assert "between 1 hour and 8 hours" in message(
        Refusal.LIFETIME_OUT_OF_RANGE, minimum=60, maximum=480
    )
    assert "30 days" in message(Refusal.START_TOO_FAR, days=30)
    assert "10 requests" in message(Refusal.RATE_LIMIT_REQUESTER, limit=10)


def test_refusal_message_fills_in_from_facts_and_config() -> None:
    facts = facts_for(role_assignments=(RoleAssignment(GLOBAL_ADMIN, RoleAssignmentKind.ELIGIBLE),))
    text = refusal_message(Refusal.PRIVILEGED_ROLE_ELIGIBLE, facts)
    assert text.startswith("Noah Patel can be made an administrator")
    assert "Global Administrator" in text
    assert "between 1 hour and 8 hours" in refusal_message(
        Refusal.LIFETIME_OUT_OF_RANGE, facts, CONFIG
    )
    assert "3 pass requests" in refusal_message(Refusal.RATE_LIMIT_TARGET, facts, CONFIG)
    assert "500 characters" in refusal_message(Refusal.JUSTIFICATION_TOO_LONG, None, CONFIG)
    # Without the organisation's settings the sentence stays general.
    assert "between" not in refusal_message(Refusal.LIFETIME_OUT_OF_RANGE, facts)
    assert refusal_message(Refusal.INVALID_INPUT, None) == message(Refusal.INVALID_INPUT)


def test_a_failed_role_check_says_so_plainly() -> None:
    facts = facts_for(role_check_failure="DirectoryThrottled 429 TooManyRequests")
    text = refusal_message(Refusal.ROLE_CHECK_FAILED, facts, CONFIG)
    assert text == (
        "I couldn't check whether Noah Patel is or can become an administrator, so I can't "
        "issue a pass for them. Try again in a few minutes, or ask the helpdesk."
    )
    assert "429" not in text
    assert message(Refusal.ROLE_CHECK_FAILED).startswith("I couldn't check whether this person")


def test_roles_through_a_group_are_explained_without_naming_the_group() -> None:
    active = refusal_message(Refusal.PRIVILEGED_ROLE, facts_for(role_assignments=(IN_TIER0,)))
    assert active == (
        "Noah Patel holds an administrator role (Global Administrator) through a group, a "
        "privileged role, so a pass must come from the helpdesk, not this bot."
    )
    owner = dataclasses.replace(IN_TIER0, kind=ELIGIBLE, via=RoleSource.GROUP_OWNER)
    eligible = refusal_message(
        Refusal.PRIVILEGED_ROLE_ELIGIBLE, facts_for(role_assignments=(owner,))
    )
    assert eligible.startswith(
        "Noah Patel can become an administrator (a privileged role, Global Administrator) "
        "through a group"
    )
    for text in (active, eligible):
        assert "Tier 0" not in text
        assert "tier0" not in text


def test_blocked_group_message_never_names_the_group() -> None:
    facts = facts_for(blocked_groups=frozenset({BREAK_GLASS}))
    assert BREAK_GLASS not in refusal_message(Refusal.BLOCKED_GROUP, facts, CONFIG)


@pytest.mark.parametrize(
    ("minutes", "words"),
    [
        (1, "1 minute"),
        (10, "10 minutes"),
        (45, "45 minutes"),
        (60, "1 hour"),
        (90, "1.5 hours"),
        (480, "8 hours"),
        (1440, "1 day"),
        (43200, "30 days"),
    ],
)
def test_describe_minutes(minutes: int, words: str) -> None:
    assert describe_minutes(minutes) == words
