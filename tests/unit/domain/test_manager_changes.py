"""The pure decision: has a person's manager changed recently in a way tapbot does not trust?"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.manager_changes import (
    ACCOUNT_CREATION_TOLERANCE,
    ManagerEvidence,
    needs_account_creation,
    recent_manager_change,
    record_after_check,
    record_after_sighting,
)
from bot.domain.model import (
    AccountCreation,
    Actor,
    ActorKind,
    ChangeEvidence,
    ManagerChange,
    ManagerRecord,
    RecentManagerChange,
)

NOW = datetime(2024, 6, 10, 9, 0, tzinfo=UTC)
WINDOW = timedelta(days=14)
BASELINE_AT = NOW - timedelta(days=30)
HR_APP = Actor(ActorKind.APP, "sp-hr", "HR inbound provisioning", app_id="app-hr")
OTHER_APP = Actor(ActorKind.APP, "sp-other", "Some script", app_id="app-other")
ROBERT = Actor(ActorKind.USER, "robert", "Robert Lang")
OLIVIA = Actor(ActorKind.USER, "olivia", "Olivia Bennett")
TRUSTED = frozenset({"app-hr"})


def baseline(manager: str | None = "olivia", **fields: object) -> ManagerRecord:
    values: dict[str, object] = {"user_id": "ethan", "manager_id": manager, "seen_at": BASELINE_AT}
    values.update(fields)
    return ManagerRecord(**values)  # type: ignore[arg-type]  # fields given per test


def event(
    days_ago: float,
    old: str | None,
    new: str | None,
    by: Actor | None = ROBERT,
    **fields: object,
) -> ManagerChange:
    when = NOW - timedelta(days=days_ago)
    return ManagerChange("ethan", when, old, new, by, **fields)  # type: ignore[arg-type]  # flags per test


def decide(
    evidence: ManagerEvidence, trusted: frozenset[str] = TRUSTED
) -> RecentManagerChange | None:
    return recent_manager_change(evidence, now=NOW, window=WINDOW, trusted_provisioning_ids=trusted)


# tapbot's record


def test_a_manager_other_than_the_recorded_one_is_a_change_made_now() -> None:
    found = decide(ManagerEvidence("mallory", baseline()))
    assert found == RecentManagerChange(
        NOW, "olivia", "mallory", None, ChangeEvidence.TAPBOT_RECORD
    )


def test_the_recorded_manager_unchanged_since_the_baseline_is_no_change() -> None:
    assert decide(ManagerEvidence("olivia", baseline())) is None


@pytest.mark.parametrize(("days_ago", "counts"), [(0, True), (13.9, True), (14.1, False)])
def test_a_change_tapbot_recorded_counts_for_the_window(days_ago: float, counts: bool) -> None:
    changed = NOW - timedelta(days=days_ago)
    record = baseline("mallory", changed_at=changed, previous_manager_id="olivia")
    found = decide(ManagerEvidence("mallory", record))
    if counts:
        assert found == RecentManagerChange(
            changed, "olivia", "mallory", None, ChangeEvidence.TAPBOT_RECORD
        )
    else:
        assert found is None


def test_a_person_never_seen_counts_as_changed_now() -> None:
    found = decide(ManagerEvidence("olivia", None))
    assert found == RecentManagerChange(NOW, None, "olivia", None, ChangeEvidence.NEVER_SEEN)


def test_a_person_first_seen_recently_still_counts_as_never_seen() -> None:
    first = NOW - timedelta(days=2)
    record = baseline(changed_at=first, first_seen=True)
    found = decide(ManagerEvidence("olivia", record))
    assert found == RecentManagerChange(first, None, "olivia", None, ChangeEvidence.NEVER_SEEN)


def test_a_zero_window_switches_the_check_off() -> None:
    evidence = ManagerEvidence("mallory", baseline())
    assert recent_manager_change(evidence, now=NOW, window=timedelta(0)) is None


# The audit log


def test_a_change_in_the_audit_log_says_when_from_whom_and_by_whom() -> None:
    found = decide(ManagerEvidence("olivia", baseline(), (event(2, "daniel", "olivia"),)))
    assert found == RecentManagerChange(
        NOW - timedelta(days=2), "daniel", "olivia", ROBERT, ChangeEvidence.AUDIT_LOG
    )


def test_the_same_manager_set_again_is_no_change() -> None:
    assert decide(ManagerEvidence("olivia", baseline(), (event(2, "olivia", "olivia"),))) is None


def test_the_newest_untrusted_change_wins() -> None:
    older, newer = event(9, "a", "b"), event(3, "b", "olivia")
    found = decide(ManagerEvidence("olivia", baseline(), (newer, older)))
    assert found is not None
    assert found.changed_at == NOW - timedelta(days=3)


def test_an_event_dated_after_now_still_counts() -> None:
    # Clocks disagree by seconds; a change "from the future" is a change all the same.
    found = decide(ManagerEvidence("olivia", baseline(), (event(-0.001, "daniel", "olivia"),)))
    assert found is not None
    assert found.evidence is ChangeEvidence.AUDIT_LOG


@pytest.mark.parametrize(
    "unreadable",
    [
        event(1, None, None, old_manager_known=False, readable=False),
        ManagerChange("ethan", None, None, None, None, old_manager_known=False, readable=False),
        event(1, None, None, by=None, old_manager_known=False, readable=False),
    ],
)
def test_an_audit_event_of_unreadable_shape_is_a_change_of_unknown_origin(
    unreadable: ManagerChange,
) -> None:
    found = decide(ManagerEvidence("olivia", baseline(), (unreadable,)))
    assert found is not None
    assert found.evidence is ChangeEvidence.UNREADABLE_AUDIT
    assert found.previous_manager_id is None
    assert found.changed_at == (unreadable.changed_at or NOW)


def test_an_unreadable_first_assignment_by_the_hr_app_is_never_trusted() -> None:
    garbled = event(1, None, "olivia", by=HR_APP, readable=False)
    found = decide(ManagerEvidence("olivia", baseline(), (garbled,)))
    assert found is not None
    assert found.evidence is ChangeEvidence.UNREADABLE_AUDIT


# Audit lag: tapbot's record catches what the audit log does not show yet


def test_a_manager_set_a_moment_ago_is_a_change_before_the_audit_log_shows_it() -> None:
    found = decide(ManagerEvidence("mallory", baseline("daniel"), ()))
    assert found == RecentManagerChange(
        NOW, "daniel", "mallory", None, ChangeEvidence.TAPBOT_RECORD
    )


def test_once_the_audit_log_shows_the_change_it_names_who_made_it() -> None:
    seen = NOW - timedelta(minutes=3)
    record = baseline("mallory", changed_at=seen, previous_manager_id="daniel")
    late = event(0.004, "daniel", "mallory", by=Actor(ActorKind.USER, "mallory", "Mallory"))
    found = decide(ManagerEvidence("mallory", record, (late,)))
    assert found is not None
    assert found.evidence is ChangeEvidence.AUDIT_LOG
    assert found.changed_by == Actor(ActorKind.USER, "mallory", "Mallory")
    assert found.previous_manager_id == "daniel"


def test_an_older_event_does_not_stand_in_for_a_change_tapbot_just_saw() -> None:
    # Mallory was Ethan's manager ten days ago, then Daniel again (baseline since), and now
    # Mallory is back: the old event is not this change.
    record = baseline("daniel", seen_at=NOW - timedelta(days=5))
    old = event(10, "daniel", "mallory")
    found = decide(ManagerEvidence("mallory", record, (old,)))
    assert found == RecentManagerChange(
        NOW, "daniel", "mallory", None, ChangeEvidence.TAPBOT_RECORD
    )


# Joiners: a first manager set with the account, or by the listed HR provisioning


def joiner(
    by: Actor, *, set_after: timedelta = timedelta(0), created_days_ago: float = 4
) -> tuple[AccountCreation, ManagerChange]:
    created = NOW - timedelta(days=created_days_ago)
    creation = AccountCreation("ethan", created, by)
    first = ManagerChange("ethan", created + set_after, None, "olivia", by)
    return creation, first


def test_a_first_manager_set_by_the_listed_hr_provisioning_is_trusted() -> None:
    _, first = joiner(HR_APP)
    assert decide(ManagerEvidence("olivia", baseline(), (first,))) is None


@pytest.mark.parametrize("listed", ["sp-hr", "SP-HR", "app-hr", "APP-HR"])
def test_the_hr_app_is_known_by_app_id_or_service_principal_id(listed: str) -> None:
    _, first = joiner(HR_APP)
    assert decide(ManagerEvidence("olivia", baseline(), (first,)), frozenset({listed})) is None


def test_a_first_manager_set_when_the_account_was_created_is_trusted() -> None:
    # Robert created the account and set its manager in the same go: not a change.
    creation, first = joiner(ROBERT, set_after=timedelta(seconds=2))
    evidence = ManagerEvidence("olivia", baseline(), (first,), creation)
    assert decide(evidence, frozenset()) is None


def test_a_first_manager_set_later_by_a_person_is_a_change() -> None:
    # HR provisioning created the account without a manager; Olivia set herself later.
    creation = AccountCreation("ethan", NOW - timedelta(days=4), HR_APP)
    later = ManagerChange("ethan", NOW - timedelta(days=1), None, "olivia", OLIVIA)
    found = decide(ManagerEvidence("olivia", baseline(), (later,), creation))
    assert found == RecentManagerChange(
        NOW - timedelta(days=1), None, "olivia", OLIVIA, ChangeEvidence.AUDIT_LOG
    )


def test_a_first_manager_set_by_the_creator_long_after_creation_is_a_change() -> None:
    creation, first = joiner(ROBERT, set_after=ACCOUNT_CREATION_TOLERANCE + timedelta(seconds=1))
    found = decide(ManagerEvidence("olivia", baseline(), (first,), creation), frozenset())
    assert found is not None
    assert found.changed_by == ROBERT


def test_an_app_not_listed_is_not_trusted() -> None:
    creation = AccountCreation("ethan", NOW - timedelta(days=4), HR_APP)
    first = ManagerChange("ethan", NOW - timedelta(days=4), None, "olivia", OTHER_APP)
    found = decide(ManagerEvidence("olivia", baseline(), (first,), creation))
    assert found is not None
    assert found.changed_by == OTHER_APP


def test_the_hr_app_changing_an_existing_manager_is_still_a_change() -> None:
    moved = event(3, "daniel", "olivia", by=HR_APP)
    found = decide(ManagerEvidence("olivia", baseline(), (moved,)))
    assert found is not None
    assert found.changed_by == HR_APP


def test_a_first_manager_whose_previous_manager_is_unknown_is_not_trusted() -> None:
    unclear = event(3, None, "olivia", by=HR_APP, old_manager_known=False)
    assert decide(ManagerEvidence("olivia", baseline(), (unclear,))) is not None


def test_removing_the_manager_before_a_trusted_first_assignment_is_still_a_change() -> None:
    removed = event(2, "daniel", None, by=ROBERT)
    first = event(1, None, "olivia", by=HR_APP)
    found = decide(ManagerEvidence("olivia", baseline("daniel"), (first, removed)))
    assert found is not None
    # tapbot saw Daniel; Olivia now: that is a change from Daniel the trust cannot explain.
    assert found.previous_manager_id == "daniel"


def test_a_trusted_first_manager_explains_a_person_tapbot_never_saw() -> None:
    _, first = joiner(HR_APP, created_days_ago=0.01)
    assert decide(ManagerEvidence("olivia", None, (first,))) is None
    recorded_new = baseline(changed_at=NOW - timedelta(minutes=5), first_seen=True)
    assert decide(ManagerEvidence("olivia", recorded_new, (first,))) is None


def test_a_trusted_first_manager_does_not_explain_a_different_manager_now() -> None:
    # HR set Olivia; someone set Mallory since, and the audit log has not shown it yet.
    _, first = joiner(HR_APP, created_days_ago=0.01)
    found = decide(ManagerEvidence("mallory", None, (first,)))
    assert found == RecentManagerChange(NOW, None, "mallory", None, ChangeEvidence.NEVER_SEEN)


def test_the_account_creation_is_wanted_only_when_it_could_make_a_difference() -> None:
    _, by_hr = joiner(HR_APP)
    _, by_person = joiner(ROBERT)
    moved = event(3, "daniel", "olivia")
    assert not needs_account_creation(ManagerEvidence("olivia", None, (by_hr,)), TRUSTED)
    assert needs_account_creation(ManagerEvidence("olivia", None, (by_person,)), TRUSTED)
    assert not needs_account_creation(ManagerEvidence("olivia", None, (moved,)), TRUSTED)


# The security property: a difference from the record is never explained away


managers = st.sampled_from(["olivia", "daniel", "mallory", None])
actors = st.sampled_from([HR_APP, OTHER_APP, ROBERT, OLIVIA, None])
events = st.builds(
    ManagerChange,
    target_id=st.just("ethan"),
    changed_at=st.one_of(
        st.none(), st.integers(0, 20 * 24).map(lambda h: NOW - timedelta(hours=h))
    ),
    old_manager_id=managers,
    new_manager_id=managers,
    changed_by=actors,
    old_manager_known=st.booleans(),
    readable=st.booleans(),
)


@given(
    recorded=st.sampled_from(["olivia", "daniel"]),
    current=managers,
    audit=st.lists(events, max_size=4),
    created_by=actors,
)
def test_a_manager_other_than_a_known_previous_one_always_needs_the_helpdesk(
    recorded: str, current: str | None, audit: list[ManagerChange], created_by: Actor | None
) -> None:
    creation = AccountCreation("ethan", NOW - timedelta(days=1), created_by)
    evidence = ManagerEvidence(current, baseline(recorded), tuple(audit), creation)
    found = decide(evidence)
    if current != recorded:
        assert found is not None
        assert found.changed_at >= NOW - WINDOW


# What tapbot's record becomes


def test_a_check_records_a_different_manager_as_changed_now() -> None:
    stored = baseline(version=3)
    update = record_after_check(stored, "ethan", "mallory", now=NOW, baseline_exists=True)
    assert update == ManagerRecord(
        "ethan", "mallory", NOW, NOW, "olivia", first_seen=False, version=3
    )
    assert record_after_check(stored, "ethan", "olivia", now=NOW, baseline_exists=True) is None


def test_a_check_records_a_new_person_only_once_the_baseline_exists() -> None:
    assert record_after_check(None, "ethan", "olivia", now=NOW, baseline_exists=False) is None
    update = record_after_check(None, "ethan", "olivia", now=NOW, baseline_exists=True)
    assert update == ManagerRecord("ethan", "olivia", NOW, NOW, None, first_seen=True)


def test_the_baseline_round_records_managers_without_a_change_time() -> None:
    first = record_after_sighting(None, "ethan", "olivia", now=NOW, baseline_round=True)
    assert first == ManagerRecord("ethan", "olivia", NOW)
    later = record_after_sighting(None, "ethan", "olivia", now=NOW, baseline_round=False)
    assert later == ManagerRecord("ethan", "olivia", NOW, NOW, None, first_seen=True)


def test_a_sighting_of_the_same_manager_writes_nothing_and_a_new_one_is_a_change() -> None:
    stored = baseline()
    assert record_after_sighting(stored, "ethan", "olivia", now=NOW, baseline_round=False) is None
    moved = record_after_sighting(stored, "ethan", None, now=NOW, baseline_round=True)
    assert moved is not None
    assert (moved.manager_id, moved.previous_manager_id, moved.changed_at) == (None, "olivia", NOW)
