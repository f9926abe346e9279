"""Reading a target's facts through the `FakeDirectory` twin: what is read, concurrently, and
how a missing user or manager and other directory failures come out."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from bot.domain.eligibility import gather_target_facts
from bot.domain.errors import (
    DirectoryAccessDenied,
    DirectoryError,
    DirectoryObjectNotFound,
    DirectoryThrottled,
    DirectoryUnavailable,
    StoreError,
)
from bot.domain.manager_check import ManagerCheck
from bot.domain.manager_sync import ManagerSync
from bot.domain.model import (
    ChangeEvidence,
    RoleAssignment,
    RoleAssignmentKind,
    RoleSource,
    TapPolicy,
)
from bot.domain.policy import (
    PolicyConfig,
    Refusal,
    TargetFacts,
    check_target,
    needs_helpdesk_approval,
)
from tests.twins.directory import DEFAULT_POLICY, FakeDirectory, person
from tests.twins.store import MemoryStore

NOW = datetime(2024, 6, 10, 9, 0, tzinfo=UTC)
BREAK_GLASS = "group-break-glass"
CONFIG = PolicyConfig(blocked_group_ids=(BREAK_GLASS,))
GLOBAL_ADMIN = "62e90394-69f5-4237-9190-012177145e10"
# The reads that do not depend on one another, when the policy is not cached and guests are off.
FIRST_ROUND = {
    "get_user",
    "get_manager",
    "list_role_assignments",
    "member_of_groups",
    "manager_changes",
    "list_passes",
    "get_policy",
}


class FixedClock:
    def now(self) -> datetime:
        return NOW


class CheckedDirectory(FakeDirectory):
    """The twin, with the manager check the tests read facts through (None: one without a
    baseline, made per read)."""

    manager_check: ManagerCheck | None = None
    records: MemoryStore | None = None


class GatedDirectory(CheckedDirectory):
    """Holds every call until *expected* different methods have been entered: a caller that
    awaited them one by one would never get past the first and time out."""

    def __init__(self, expected: int) -> None:
        super().__init__(FixedClock())
        self.expected = expected
        self.entered: set[str] = set()
        self.all_entered = asyncio.Event()

    async def _enter(self, method: str, *args: object) -> None:
        self.entered.add(method)
        if len(self.entered) >= self.expected:
            self.all_entered.set()
        await asyncio.wait_for(self.all_entered.wait(), timeout=2)
        await super()._enter(method, *args)


def seed(directory: CheckedDirectory) -> None:
    directory.add_user(person("Gil Director", id="director"))
    directory.add_user(person("Ava Manager", id="manager"), manager_id="director")
    directory.add_user(person("Noah Patel", id="noah"), manager_id="manager")


def check_for(directory: CheckedDirectory, store: MemoryStore | None = None) -> ManagerCheck:
    return ManagerCheck(
        directory=directory, store=store or MemoryStore(), window=timedelta(days=14)
    )


async def with_baseline(directory: CheckedDirectory) -> ManagerCheck:
    """A check whose store (kept in ``directory.records``) holds the baseline of *directory*
    as it is now."""
    store = directory.records = MemoryStore()
    await ManagerSync(directory=directory, store=store, clock=FixedClock(), owner="test").poll()
    directory.calls.clear()
    return check_for(directory, store)


@pytest.fixture
async def directory() -> CheckedDirectory:
    fake = CheckedDirectory(FixedClock())
    seed(fake)
    fake.manager_check = await with_baseline(fake)
    return fake


async def facts_of(
    directory: CheckedDirectory,
    target: str = "noah",
    config: PolicyConfig = CONFIG,
    *,
    policy: TapPolicy | None = None,
    check: ManagerCheck | None = None,
) -> TargetFacts:
    check = check or directory.manager_check or check_for(directory)
    return await gather_target_facts(
        directory, directory, target, config, NOW, policy=policy, manager_check=check
    )


async def test_facts_of_a_plain_direct_report(directory: CheckedDirectory) -> None:
    facts = await facts_of(directory)
    assert facts.user is not None
    assert facts.user.display_name == "Noah Patel"
    assert facts.manager_id == "manager"
    assert facts.manager_chain == ("manager",)
    assert facts.role_assignments == ()
    assert facts.blocked_groups == frozenset()
    assert facts.in_policy_scope is True
    assert facts.recent_manager_change is None
    assert facts.passes == ()
    assert facts.policy == DEFAULT_POLICY
    assert check_target("manager", facts, CONFIG) is None


async def test_everything_the_rules_look_at_is_read(directory: CheckedDirectory) -> None:
    directory.assign_role("noah", GLOBAL_ADMIN, RoleAssignmentKind.ELIGIBLE)
    directory.add_group(BREAK_GLASS, "noah")
    directory.set_manager("noah", "director", at=NOW - timedelta(days=30))
    directory.set_manager("noah", "manager", at=NOW - timedelta(days=2), by="someone")
    await directory.create_pass("noah", lifetime_minutes=60, is_usable_once=False, start_at=None)
    facts = await facts_of(directory)
    assert [r.role_definition_id for r in facts.role_assignments] == [GLOBAL_ADMIN]
    assert facts.blocked_groups == {BREAK_GLASS}
    change = facts.recent_manager_change
    assert change is not None
    assert (change.previous_manager_id, change.new_manager_id) == ("director", "manager")
    assert [p.user_id for p in facts.passes] == ["noah"]
    assert check_target("manager", facts, CONFIG) is Refusal.PRIVILEGED_ROLE_ELIGIBLE
    assert needs_helpdesk_approval(facts, CONFIG, NOW) == change


async def test_independent_reads_run_concurrently() -> None:
    directory = GatedDirectory(expected=len(FIRST_ROUND))
    seed(directory)
    facts = await facts_of(directory)
    assert facts.user is not None
    assert directory.entered == FIRST_ROUND


async def test_sponsors_are_read_concurrently_too_when_guests_are_allowed() -> None:
    directory = GatedDirectory(expected=len(FIRST_ROUND) + 1)
    seed(directory)
    directory.add_user(person("Gina Guest", id="gina", user_type="Guest"))
    directory.add_sponsor("gina", "manager")
    config = dataclasses.replace(CONFIG, allow_guests=True)
    facts = await facts_of(directory, "gina", config)
    assert facts.sponsor_ids == {"manager"}
    assert check_target("manager", facts, config) is None


async def test_calls_that_cannot_matter_are_skipped(directory: CheckedDirectory) -> None:
    config = PolicyConfig(manager_change_window_days=0)
    facts = await facts_of(directory, config=config, policy=DEFAULT_POLICY)
    assert facts.user is not None
    for method in (
        "member_of_groups",
        "manager_changes",
        "account_created",
        "get_policy",
        "list_sponsors",
    ):
        assert directory.called(method) == 0, method


async def test_the_account_creation_is_read_only_for_a_first_manager(
    directory: CheckedDirectory,
) -> None:
    await facts_of(directory)
    assert directory.called("account_created") == 0
    directory.add_user(
        person("Jo Joiner", id="jo"), manager_id="manager", created_at=NOW, created_by="hr"
    )
    await facts_of(directory, "jo")
    assert directory.called("account_created") == 1


async def test_an_unknown_target_gives_no_user_not_an_error(directory: CheckedDirectory) -> None:
    facts = await facts_of(directory, "nobody")
    assert facts.user is None
    assert facts.policy == DEFAULT_POLICY
    assert check_target("manager", facts, CONFIG) is Refusal.TARGET_NOT_FOUND


async def test_an_unknown_target_wins_over_other_failures(directory: CheckedDirectory) -> None:
    directory.fail("list_role_assignments", DirectoryThrottled("slow down", retry_after=5))
    facts = await facts_of(directory, "nobody")
    assert facts.user is None


async def test_a_target_without_a_manager(directory: CheckedDirectory) -> None:
    facts = await facts_of(directory, "director")
    assert facts.user is not None
    assert facts.manager_id is None
    assert check_target("manager", facts, CONFIG) is Refusal.NO_MANAGER


async def test_a_manager_lookup_answering_not_found_means_no_manager(
    directory: CheckedDirectory,
) -> None:
    directory.fail("get_manager", DirectoryObjectNotFound("no manager", status=404))
    facts = await facts_of(directory)
    assert facts.user is not None
    assert facts.manager_id is None


@pytest.mark.parametrize(
    ("method", "error"),
    [
        ("get_user", DirectoryUnavailable("timeout", code="timeout")),
        ("get_manager", DirectoryAccessDenied("no permission", status=403)),
        ("member_of_groups", DirectoryUnavailable("503", status=503)),
        ("manager_changes", DirectoryAccessDenied("AuditLog.Read.All missing", status=403)),
        ("list_passes", DirectoryUnavailable("503", status=503)),
        ("get_policy", DirectoryAccessDenied("Policy.Read.All missing", status=403)),
    ],
)
async def test_other_directory_failures_propagate(
    directory: FakeDirectory, method: str, error: Exception
) -> None:
    directory.fail(method, error)  # type: ignore[arg-type]
    with pytest.raises(type(error)) as raised:
        await facts_of(directory)
    assert raised.value is error


@pytest.mark.parametrize(
    ("error", "recorded"),
    [
        (DirectoryAccessDenied("no permission", code="UnknownError", status=403),
         "DirectoryAccessDenied 403 UnknownError"),
        (DirectoryThrottled("slow down", retry_after=5, code="TooManyRequests"),
         "DirectoryThrottled 429 TooManyRequests"),
        (DirectoryUnavailable("503", code="serviceNotAvailable", status=503),
         "DirectoryUnavailable 503 serviceNotAvailable"),
        (DirectoryUnavailable("timed out", code="timeout"), "DirectoryUnavailable timeout"),
        (DirectoryUnavailable("not JSON", code="invalid_response", status=200),
         "DirectoryUnavailable 200 invalid_response"),
        (DirectoryObjectNotFound("gone since", status=404), "DirectoryObjectNotFound 404"),
    ],
)  # fmt: skip
async def test_roles_that_cannot_be_read_are_recorded_and_refused_not_raised(
    directory: CheckedDirectory, error: DirectoryError, recorded: str
) -> None:
    directory.fail("list_role_assignments", error)
    facts = await facts_of(directory)
    assert facts.role_check_failure == recorded
    assert facts.role_assignments == ()
    assert check_target("manager", facts, CONFIG) is Refusal.ROLE_CHECK_FAILED
    # Someone who is not theirs learns nothing, not even that the check failed.
    assert check_target("stranger", facts, CONFIG) is Refusal.NOT_DIRECT_REPORT


async def test_a_failing_group_read_inside_the_role_check_is_a_role_check_failure(
    directory: CheckedDirectory,
) -> None:
    directory.add_role_group("tier0", "Tier 0 Administrators")
    directory.fail("list_pim_group_eligibilities", DirectoryUnavailable("503", status=503))
    facts = await facts_of(directory)
    assert facts.role_check_failure == "DirectoryUnavailable 503"
    assert check_target("manager", facts, CONFIG) is Refusal.ROLE_CHECK_FAILED


async def test_the_recorded_failure_never_carries_graphs_message(
    directory: CheckedDirectory,
) -> None:
    directory.fail("list_role_assignments", DirectoryUnavailable("echo of 'noah' input"))
    facts = await facts_of(directory)
    assert facts.role_check_failure == "DirectoryUnavailable"


async def test_roles_held_through_a_group_are_read(directory: CheckedDirectory) -> None:
    directory.add_role_group("tier0", "Tier 0 Administrators", "noah")
    directory.assign_role("tier0", GLOBAL_ADMIN)
    facts = await facts_of(directory)
    assert facts.role_assignments == (
        RoleAssignment(
            GLOBAL_ADMIN,
            RoleAssignmentKind.ACTIVE,
            via=RoleSource.GROUP_MEMBER,
            via_group_id="tier0",
            via_group_name="Tier 0 Administrators",
        ),
    )
    assert facts.role_check_failure is None
    assert check_target("manager", facts, CONFIG) is Refusal.PRIVILEGED_ROLE


async def test_a_failure_waits_for_the_other_calls(directory: CheckedDirectory) -> None:
    directory.fail("get_user", DirectoryUnavailable("timeout", code="timeout"))
    with pytest.raises(DirectoryUnavailable):
        await facts_of(directory)
    # Nothing was left running: every read had entered and finished.
    assert {name for name, _ in directory.calls} == FIRST_ROUND


async def test_the_chain_above_is_read_only_for_indirect_reports(
    directory: CheckedDirectory,
) -> None:
    directory.add_user(person("Tia Trainee", id="tia"), manager_id="noah")
    direct = await facts_of(directory, "tia")
    assert direct.manager_chain == ("noah",)
    assert check_target("manager", direct, CONFIG) is Refusal.NOT_DIRECT_REPORT
    config = dataclasses.replace(CONFIG, allow_indirect_reports=True)
    indirect = await facts_of(directory, "tia", config)
    assert indirect.manager_chain == ("noah", "manager", "director")
    assert check_target("director", indirect, config) is None


async def test_a_management_loop_stops(directory: CheckedDirectory) -> None:
    directory.set_manager("director", "noah", at=NOW - timedelta(days=100))
    config = dataclasses.replace(CONFIG, allow_indirect_reports=True)
    facts = await facts_of(directory, "noah", config)
    assert facts.manager_chain == ("manager", "director", "noah")
    assert check_target("stranger", facts, config) is Refusal.NOT_DIRECT_REPORT


async def test_only_manager_changes_inside_the_window_count(directory: CheckedDirectory) -> None:
    directory.set_manager("noah", "director", at=NOW - timedelta(days=20))
    directory.set_manager("noah", "manager", at=NOW - timedelta(days=5))
    facts = await facts_of(directory)
    found = needs_helpdesk_approval(facts, CONFIG, NOW)
    assert found is not None
    assert found.changed_at == NOW - timedelta(days=5)
    assert found.previous_manager_id == "director"
    assert found.evidence is ChangeEvidence.AUDIT_LOG


async def test_a_manager_set_a_moment_ago_is_caught_before_the_audit_log_shows_it(
    directory: CheckedDirectory,
) -> None:
    directory.managers["noah"] = "director"  # no audit event yet: the log lags
    facts = await facts_of(directory)
    change = facts.recent_manager_change
    assert change is not None
    assert change.evidence is ChangeEvidence.TAPBOT_RECORD
    assert (change.previous_manager_id, change.new_manager_id) == ("manager", "director")
    assert change.changed_at == NOW


async def test_the_check_records_what_it_saw(directory: CheckedDirectory) -> None:
    check = directory.manager_check
    assert check is not None
    directory.managers["noah"] = "director"
    await facts_of(directory)
    directory.calls.clear()
    # Asked again, the record has caught up but still shows the change of a moment ago.
    again = await facts_of(directory, check=check)
    assert again.recent_manager_change is not None
    assert again.recent_manager_change.evidence is ChangeEvidence.TAPBOT_RECORD
    assert again.recent_manager_change.previous_manager_id == "manager"


async def test_without_a_record_store_everyone_counts_as_never_seen(
    directory: CheckedDirectory,
) -> None:
    facts = await gather_target_facts(directory, directory, "noah", CONFIG, NOW)
    assert facts.recent_manager_change is not None
    assert facts.recent_manager_change.evidence is ChangeEvidence.NEVER_SEEN


async def test_nothing_is_recorded_for_an_unknown_target(directory: CheckedDirectory) -> None:
    check = directory.manager_check
    assert check is not None
    facts = await facts_of(directory, "nobody", check=check)
    assert facts.user is None
    assert directory.records is not None
    assert await directory.records.manager_records(["nobody"]) == {}


@pytest.mark.parametrize(
    ("changes", "member_of", "in_scope"),
    [
        ({}, set(), True),
        ({"all_users": False, "include_group_ids": ("tap-users",)}, {"tap-users"}, True),
        ({"all_users": False, "include_group_ids": ("tap-users",)}, set(), False),
        ({"exclude_group_ids": ("no-tap",)}, {"no-tap"}, False),
        ({"exclude_group_ids": ("no-tap",)}, set(), True),
        (
            {"all_users": False, "include_group_ids": ("tap-users",), "exclude_group_ids": ("x",)},
            {"tap-users", "x"},
            False,
        ),
    ],
)
async def test_policy_scope_follows_include_and_exclude_groups(
    directory: FakeDirectory, changes: dict[str, object], member_of: set[str], in_scope: bool
) -> None:
    directory.policy = dataclasses.replace(DEFAULT_POLICY, **changes)  # type: ignore[arg-type]
    for group in member_of:
        directory.add_group(group, "noah")
    facts = await facts_of(directory)
    assert facts.in_policy_scope is in_scope
    refusal = check_target("manager", facts, CONFIG)
    assert (refusal is Refusal.NOT_IN_POLICY_SCOPE) is not in_scope


async def test_scope_membership_is_transitive_through_nested_groups(
    directory: CheckedDirectory,
) -> None:
    directory.policy = dataclasses.replace(
        DEFAULT_POLICY, all_users=False, include_group_ids=("tap-users",)
    )
    directory.add_group("team", "noah")
    directory.add_group("tap-users", "team")
    assert (await facts_of(directory)).in_policy_scope is True


async def test_a_cached_policy_is_used_instead_of_reading_it(directory: CheckedDirectory) -> None:
    cached = dataclasses.replace(DEFAULT_POLICY, exclude_group_ids=("no-tap",))
    directory.add_group("no-tap", "noah")
    facts = await facts_of(directory, policy=cached)
    assert directory.called("get_policy") == 0
    assert facts.policy == cached
    assert facts.in_policy_scope is False


async def test_naive_now_is_a_programming_error(directory: CheckedDirectory) -> None:
    naive = datetime(2024, 6, 10, 9, 0)  # noqa: DTZ001
    with pytest.raises(ValueError, match="timezone-aware"):
        await gather_target_facts(directory, directory, "noah", CONFIG, naive)


async def test_a_store_outage_in_the_manager_check_waits_for_the_other_calls(
    directory: CheckedDirectory,
) -> None:
    assert directory.records is not None
    directory.records.unavailable = True
    with pytest.raises(StoreError):
        await facts_of(directory)
    assert {name for name, _ in directory.calls} >= FIRST_ROUND - {"manager_changes"}
