"""Role and group ids compare without case: Graph, Teams and the settings may spell the same
GUID in different cases, and a difference in case must never switch a protection off."""

from __future__ import annotations

from collections.abc import Sequence

from bot.domain.model import RoleAssignment, RoleAssignmentKind
from bot.domain.policy import PolicyConfig, Refusal, TargetFacts, check_target
from bot.domain.refusals import role_name
from bot.domain.requester import profile_of
from tests.twins.clock import ManualClock
from tests.twins.directory import FakeDirectory, person

GLOBAL_ADMIN = "62e90394-69f5-4237-9190-012177145e10"
CUSTOM_ROLE = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
GROUP = "a1b2c3d4-0002-4a5b-8c9d-0e1f2a3b4c02"
MANAGER = person("Ava Manager")
TARGET = person("Noah Patel")


def facts(**changes: object) -> TargetFacts:
    return TargetFacts(user=TARGET, manager_id=MANAGER.id, in_policy_scope=True, **changes)  # type: ignore[arg-type]


def test_a_role_from_graph_in_upper_case_is_still_privileged() -> None:
    held = (RoleAssignment(GLOBAL_ADMIN.upper(), RoleAssignmentKind.ACTIVE),)
    assert check_target(MANAGER.id, facts(role_assignments=held), PolicyConfig()) is (
        Refusal.PRIVILEGED_ROLE
    )
    assert role_name(GLOBAL_ADMIN.upper()) == "Global Administrator"


def test_configured_ids_in_upper_case_still_protect() -> None:
    config = PolicyConfig(
        privileged_role_ids=frozenset({CUSTOM_ROLE.upper()}), blocked_group_ids=(GROUP.upper(),)
    )
    eligible = (RoleAssignment(CUSTOM_ROLE, RoleAssignmentKind.ELIGIBLE),)
    assert check_target(MANAGER.id, facts(role_assignments=eligible), config) is (
        Refusal.PRIVILEGED_ROLE_ELIGIBLE
    )
    assert check_target(MANAGER.id, facts(blocked_groups=frozenset({GROUP})), config) is (
        Refusal.BLOCKED_GROUP
    )
    assert check_target(MANAGER.id, facts(blocked_groups=frozenset({GROUP.upper()})), config) is (
        Refusal.BLOCKED_GROUP
    )
    assert check_target(MANAGER.id, facts(), config) is None


class UpperCaseGroups(FakeDirectory):
    """A directory that answers group membership with ids in upper case."""

    async def member_of_groups(self, user_id: str, group_ids: Sequence[str]) -> set[str]:
        return {group_id.upper() for group_id in await super().member_of_groups(user_id, group_ids)}


async def test_a_helpdesk_member_is_recognised_whatever_the_case_of_the_answer() -> None:
    directory = UpperCaseGroups(ManualClock())
    directory.add_user(MANAGER)
    directory.add_group(GROUP, MANAGER.id)
    profile = await profile_of(directory, MANAGER.id, fallback_name="", helpdesk_group_id=GROUP)
    assert profile.is_helpdesk
