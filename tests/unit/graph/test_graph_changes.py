"""Reading audit events and users delta pages: every shape about the person is either read or
kept as unreadable (fail closed), never dropped; and the client's delta calls."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from bot.domain.errors import DirectoryDeltaExpired, DirectoryUnavailable
from bot.domain.model import AccountCreation, Actor, ActorKind, ManagerSighting
from bot.graph.changes import account_creation, actor, manager_change, users_delta_page
from bot.graph.parse import InvalidResponse

WHEN = "2024-06-01T09:00:00.1234567Z"
AT = datetime(2024, 6, 1, 9, 0, 0, 123456, tzinfo=UTC)
PERSON = {"user": {"id": "admin-1", "displayName": "Robert Lang"}, "app": None}
HR_APP = {
    "user": None,
    "app": {"appId": "app-hr", "servicePrincipalId": "sp-hr", "displayName": "HR sync"},
}


def target(user_id: str, *properties: dict[str, Any], kind: str = "User") -> dict[str, Any]:
    return {"id": user_id, "type": kind, "modifiedProperties": list(properties)}


def manager_property(old: object, new: object, name: str = "Manager.ObjectID") -> dict[str, Any]:
    return {"displayName": name, "oldValue": old, "newValue": new}


def audit(*targets: dict[str, Any], **fields: Any) -> dict[str, Any]:
    item = {
        "activityDisplayName": "Set user manager",
        "activityDateTime": WHEN,
        "result": "success",
        "initiatedBy": PERSON,
        "targetResources": list(targets),
    }
    item.update(fields)
    return item


# Set user manager


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ('"m1"', '"m2"', ("m1", True, "m2")),
        ('["m1"]', '["m2"]', ("m1", True, "m2")),
        (None, '"m2"', (None, True, "m2")),
        ('""', '"m2"', (None, True, "m2")),
        ("[]", '"m2"', (None, True, "m2")),
        ('"m1"', None, ("m1", True, None)),  # a removal
        ("m1", "m2", ("m1", True, "m2")),  # not JSON-encoded: taken as it is
        ('["m1","m3"]', '"m2"', (None, False, "m2")),  # two old managers: unknown
    ],
)
def test_the_manager_property_gives_old_and_new(
    old: object, new: object, expected: tuple[object, ...]
) -> None:
    change = manager_change(audit(target("u1", manager_property(old, new))), "u1")
    assert change is not None
    assert (change.old_manager_id, change.old_manager_known, change.new_manager_id) == expected
    assert change.readable
    assert change.changed_at == AT
    assert change.changed_by == Actor(ActorKind.USER, "admin-1", "Robert Lang")


def test_a_missing_new_value_is_the_other_user_target() -> None:
    prop = {"displayName": "Manager", "oldValue": '"m1"'}
    change = manager_change(audit(target("u1", prop), target("m2")), "u1")
    assert change is not None
    assert (change.new_manager_id, change.readable) == ("m2", True)


def test_two_user_targets_without_properties_are_the_person_then_the_manager() -> None:
    change = manager_change(audit(target("u1"), target("m2")), "u1")
    assert change is not None
    assert (change.old_manager_known, change.new_manager_id, change.readable) == (False, "m2", True)
    # For the manager it is someone else's change.
    assert manager_change(audit(target("u1"), target("m2")), "m2") is None


def test_the_person_as_new_manager_of_someone_else_is_not_their_change() -> None:
    item = audit(target("u1", manager_property(None, '"m2"')), target("m2"))
    assert manager_change(item, "m2") is None


@pytest.mark.parametrize(
    "item",
    [
        audit(target("u1")),  # one target, nothing says what changed
        audit(target("u1"), target("m2"), target("m3")),  # three users
        audit(target("u1"), target("g1", kind="Group")),
        audit(target("u1", {"displayName": "Manager.ObjectID", "oldValue": '"m1"'})),  # no new
        audit(target("u1", manager_property('"m1"', "{}"))),  # a value of another shape
        audit(target("u1", manager_property('"m1"', '"m2"')), activityDateTime="yesterday"),
        audit(target("u1", manager_property('"m1"', '"m2"')), activityDateTime=None),
    ],
)
def test_an_event_about_the_person_in_an_unknown_shape_is_unreadable_not_dropped(
    item: dict[str, Any],
) -> None:
    change = manager_change(item, "u1")
    assert change is not None
    assert not change.readable
    assert change.target_id == "u1"


def test_failed_events_and_events_about_others_are_left_out() -> None:
    assert (
        manager_change(audit(target("u1", manager_property(None, '"m2"')), result="failure"), "u1")
        is None
    )
    assert manager_change(audit(target("u9", manager_property(None, '"m2"'))), "u1") is None
    assert manager_change(audit(targetResources=None), "u1") is None


def test_a_timed_out_event_still_counts() -> None:
    change = manager_change(
        audit(target("u1", manager_property('"m1"', '"m2"')), result="timeout"), "u1"
    )
    assert change is not None
    assert change.readable


@pytest.mark.parametrize(
    ("initiated_by", "expected"),
    [
        (PERSON, Actor(ActorKind.USER, "admin-1", "Robert Lang")),
        (HR_APP, Actor(ActorKind.APP, "sp-hr", "HR sync", "app-hr")),
        ({"user": None, "app": {"appId": "app-9"}}, Actor(ActorKind.APP, "app-9", "", "app-9")),
        # A person named beside an app is a person: never taken for the (maybe trusted) app.
        (
            {"user": PERSON["user"], "app": HR_APP["app"]},
            Actor(ActorKind.USER, "admin-1", "Robert Lang"),
        ),
        ({"user": None, "app": None}, None),
        ({"user": {"displayName": "no id"}}, None),
        ("garbage", None),
        (None, None),
    ],
)
def test_who_made_a_change(initiated_by: object, expected: Actor | None) -> None:
    assert actor(initiated_by) == expected


# Add user


def test_account_creation() -> None:
    item = {"activityDateTime": WHEN, "initiatedBy": HR_APP, "targetResources": [target("u1")]}
    assert account_creation(item, "u1") == AccountCreation(
        "u1", AT, Actor(ActorKind.APP, "sp-hr", "HR sync", "app-hr")
    )
    assert account_creation(item, "u2") is None
    assert account_creation(item | {"result": "failure"}, "u1") is None
    assert account_creation(item | {"activityDateTime": "soon"}, "u1") is None


# Users delta pages


def test_a_delta_page_gives_each_users_manager() -> None:
    body = {
        "@odata.nextLink": "https://graph.test/v1.0/users/delta?$skiptoken=x",
        "value": [
            {"id": "u1", "manager@delta": [{"@odata.type": "#microsoft.graph.user", "id": "m1"}]},
            {"id": "u2", "manager@delta": [{"id": "m1", "@removed": {"reason": "deleted"}}]},
            {"id": "u3", "displayName": "Only the name changed"},
            {"id": "u4", "@removed": {"reason": "changed"}},
            {"id": "u5", "manager@delta": "garbled"},
        ],
    }
    page = users_delta_page(body)
    assert page.users == (
        ManagerSighting("u1", "m1"),
        ManagerSighting("u2", None),
        ManagerSighting("u3", None, manager_known=False),
        ManagerSighting("u4", None, removed=True),
        ManagerSighting("u5", None, manager_known=False),
    )
    assert (page.next_link, page.delta_link) == (body["@odata.nextLink"], None)


@pytest.mark.parametrize(
    "body",
    [
        {"value": []},  # neither link
        {"@odata.deltaLink": "x"},  # no value list
        {"@odata.deltaLink": "x", "value": [{"displayName": "no id"}]},
    ],
)
def test_an_unusable_delta_page_is_invalid(body: dict[str, Any]) -> None:
    with pytest.raises(InvalidResponse):
        users_delta_page(body)


# The client


BASE = "https://graph.test/v1.0"


async def test_the_first_delta_page_selects_the_manager_and_links_are_followed(harness) -> None:
    pages = {
        "/v1.0/users/delta": {
            "@odata.nextLink": f"{BASE}/users/delta?$skiptoken=abc",
            "value": [{"id": "u1", "manager@delta": [{"id": "m1"}]}],
        },
    }

    def handler(request: httpx.Request) -> httpx.Response:
        if "$skiptoken" in str(request.url):
            return harness.ok(
                {"@odata.deltaLink": f"{BASE}/users/delta?$deltatoken=d", "value": []}
            )
        return harness.ok(pages[request.url.path])

    client = harness.client(handler)
    first = await client.users_delta_page(None)
    assert harness.params(0) == {"$select": "id,manager"}
    assert first.next_link == f"{BASE}/users/delta?$skiptoken=abc"
    last = await client.users_delta_page(first.next_link)
    assert str(harness.requests[1].url) == f"{BASE}/users/delta?$skiptoken=abc"
    assert last.delta_link == f"{BASE}/users/delta?$deltatoken=d"


async def test_410_means_start_again(harness) -> None:
    client = harness.client(
        lambda r: harness.graph_error(410, "resyncRequired", "Resync required.")
    )
    with pytest.raises(DirectoryDeltaExpired) as raised:
        await client.users_delta_page(f"{BASE}/users/delta?$deltatoken=old")
    assert raised.value.status == 410


async def test_a_saved_link_for_another_endpoint_is_not_followed(harness) -> None:
    client = harness.client(lambda r: harness.ok({}))
    with pytest.raises(DirectoryDeltaExpired):
        await client.users_delta_page("https://elsewhere.test/v1.0/users/delta?$deltatoken=x")
    assert harness.requests == []  # the token never left for another host


async def test_a_link_to_another_host_in_a_page_is_refused(harness) -> None:
    body = {"@odata.deltaLink": "https://evil.test/v1.0/users/delta?$deltatoken=x", "value": []}
    client = harness.client(lambda r: harness.ok(body))
    with pytest.raises(DirectoryUnavailable):
        await client.users_delta_page(None)


async def test_account_creation_is_looked_up_by_activity_window_and_target(harness) -> None:
    events = [
        {
            "activityDateTime": "2024-06-01T09:00:00Z",
            "initiatedBy": HR_APP,
            "targetResources": [target("u1")],
        },
        {
            "activityDateTime": "2024-06-02T09:00:00Z",
            "initiatedBy": PERSON,
            "targetResources": [target("u1")],
        },
    ]
    client = harness.client(lambda r: harness.ok({"value": events}))
    found = await client.find_account_creation("u1", datetime(2024, 5, 18, tzinfo=UTC))
    assert harness.params()["$filter"] == (
        "activityDisplayName eq 'Add user' and activityDateTime ge 2024-05-18T00:00:00Z"
        " and targetResources/any(t:t/id eq 'u1')"
    )
    assert found is not None
    assert found.created_by == Actor(ActorKind.USER, "admin-1", "Robert Lang")  # the newest


def test_json_values_stay_strings() -> None:
    # Guard against a manager id that parses as a JSON number or object being taken as an id.
    change = manager_change(audit(target("u1", manager_property('"m1"', json.dumps(42)))), "u1")
    assert change is not None
    assert not change.readable
