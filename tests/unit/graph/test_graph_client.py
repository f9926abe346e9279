"""GraphClient against handlers that answer as Graph does (shapes from the Graph facts file)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import httpx
import pytest

from bot.domain.errors import (
    DirectoryAccessDenied,
    DirectoryError,
    DirectoryObjectNotFound,
    DirectoryRejected,
    DirectoryThrottled,
    DirectoryUnavailable,
)
from bot.domain.model import Actor, ActorKind, MailMessage, RoleAssignmentKind
from bot.graph.errors import INVALID_RESPONSE, OUTCOME_UNKNOWN, TIMEOUT
from bot.graph.parse import USER_FIELDS

BASE = "https://graph.test/v1.0"
ADELE = {
    "id": "87d349ed-44d7-43e1-9a83-5f2406dee5bd",
    "userPrincipalName": "AdeleV@contoso.com",
    "displayName": "Adele Vance",
    "givenName": "Adele",
    "mail": "AdeleV@contoso.com",
    "otherMails": ["adele.private@example.com"],
    "mobilePhone": "+1 425 555 0109",
    "employeeHireDate": "2024-03-01T00:00:00Z",
    "userType": "Member",
    "accountEnabled": True,
    "jobTitle": "Retail Manager",
}
CREATED_PASS = {
    "@odata.type": "#microsoft.graph.temporaryAccessPassAuthenticationMethod",
    "id": "6f1967b7-15e8-4935-ac26-d50770ed07a7",
    "temporaryAccessPass": "+drkzqAD",
    "createdDateTime": "2022-06-02T16:21:09.765173Z",
    "startDateTime": "2022-06-05T00:00:00Z",
    "lifetimeInMinutes": 60,
    "isUsableOnce": False,
    "isUsable": False,
    "methodUsabilityReason": "NotYetValid",
}


def user(n: int, **extra: object) -> dict[str, object]:
    return {
        "id": f"u{n}",
        "displayName": f"User {n:03}",
        "userPrincipalName": f"u{n}@c.test",
    } | extra


# Users


async def test_get_user_selects_exactly_the_fields_the_domain_reads(harness) -> None:
    client = harness.client(lambda r: harness.ok(ADELE))
    adele = await client.get_user(ADELE["id"])
    request = harness.requests[0]
    assert request.method == "GET"
    assert request.url.path == f"/v1.0/users/{ADELE['id']}"
    assert harness.params()["$select"].split(",") == list(USER_FIELDS)
    assert adele.display_name == "Adele Vance"
    assert adele.other_mails == ("adele.private@example.com",)
    assert adele.employee_hire_date == datetime(2024, 3, 1, tzinfo=UTC)
    assert adele.employee_hire_date.tzinfo is UTC
    assert (adele.account_enabled, adele.is_guest, adele.job_title) == (
        True,
        False,
        "Retail Manager",
    )


async def test_a_guest_upn_is_quoted_into_the_path(harness) -> None:
    client = harness.client(lambda r: harness.ok(user(1, userType="Guest")))
    guest = await client.get_user("ext_a.com#EXT#@c.test")
    assert harness.requests[0].url.raw_path.startswith(b"/v1.0/users/ext_a.com%23EXT%23@c.test?")
    assert guest.is_guest


async def test_a_missing_user_is_directory_object_not_found(harness) -> None:
    message = (
        "Resource 'nobody' does not exist or one of its queried reference-property objects are"
        " not present."
    )
    client = harness.client(lambda r: harness.graph_error(404, "Request_ResourceNotFound", message))
    with pytest.raises(DirectoryObjectNotFound) as caught:
        await client.get_user("nobody")
    assert (caught.value.code, caught.value.status) == ("Request_ResourceNotFound", 404)
    assert "get user" in str(caught.value)
    assert "does not exist" in str(caught.value)


async def test_no_manager_is_none_and_a_manager_is_a_user(harness) -> None:
    answers = iter(
        [
            harness.graph_error(
                404, "Request_ResourceNotFound", "Resource 'manager' does not exist"
            ),
            harness.ok(ADELE | {"@odata.type": "#microsoft.graph.user"}),
        ]
    )
    client = harness.client(lambda r: next(answers))
    assert await client.get_manager("u1") is None
    manager = await client.get_manager("u2")
    assert manager is not None
    assert manager.id == ADELE["id"]
    assert harness.requests[1].url.path == "/v1.0/users/u2/manager"
    assert "$select" in harness.params(1)


async def test_direct_reports_follow_next_links_and_skip_contacts(harness) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params.get("$skiptoken", "0"))
        body: dict[str, object] = {"value": [user(page * 2), user(page * 2 + 1)]}
        if page == 1:
            body["value"].append({"@odata.type": "#microsoft.graph.orgContact", "id": "c1"})  # type: ignore[attr-defined]
        if page < 2:
            body["@odata.nextLink"] = f"{BASE}/users/m/directReports?$skiptoken={page + 1}"
        return harness.ok(body)

    client = harness.client(handler)
    reports = await client.list_direct_reports("m")
    assert [r.id for r in reports] == ["u0", "u1", "u2", "u3", "u4", "u5"]
    assert len(harness.requests) == 3
    assert str(harness.requests[2].url) == f"{BASE}/users/m/directReports?$skiptoken=2"


async def test_a_next_link_to_another_host_is_refused(harness) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return harness.ok(
            {"value": [user(1)], "@odata.nextLink": "https://evil.test/v1.0/users?x=1"}
        )

    client = harness.client(handler)
    with pytest.raises(DirectoryUnavailable) as caught:
        await client.list_direct_reports("m")
    assert caught.value.code == INVALID_RESPONSE
    assert len(harness.requests) == 1


async def test_search_filters_by_prefix_on_names_upn_and_mail_and_stops_at_limit(harness) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return harness.ok(
            {"value": [user(3), user(1), user(2)], "@odata.nextLink": f"{BASE}/users?$skiptoken=x"}
        )

    client = harness.client(handler)
    found = await client.search_users(" O'Br ", limit=2)
    params = harness.params()
    for field in ("displayName", "givenName", "surname", "userPrincipalName", "mail"):
        assert f"startswith({field},'O''Br')" in params["$filter"]
    assert params["$top"] == "2"
    assert "ConsistencyLevel" not in harness.requests[0].headers
    assert [u.id for u in found] == ["u1", "u3"]  # the first two found, sorted by name
    assert len(harness.requests) == 1
    assert await client.search_users("   ") == []
    assert len(harness.requests) == 1


async def test_joiners_use_advanced_query_on_every_page(harness) -> None:
    hired = ["2024-06-10T00:00:00Z", "2024-06-16T23:00:00Z", "2024-06-17T00:00:00Z"]

    def handler(request: httpx.Request) -> httpx.Response:
        if "$skiptoken" in request.url.params:
            return harness.ok({"value": [user(2, employeeHireDate=hired[2])], "@odata.count": 3})
        return harness.ok(
            {
                "value": [user(0, employeeHireDate=hired[0]), user(1, employeeHireDate=hired[1])],
                "@odata.count": 3,
                "@odata.nextLink": f"{BASE}/users?$count=true&$skiptoken=p2",
            }
        )

    client = harness.client(handler)
    joiners = [
        j
        async for j in client.iter_joiners(
            datetime(2024, 6, 10, tzinfo=UTC), datetime(2024, 6, 17, tzinfo=UTC)
        )
    ]
    assert [j.user.id for j in joiners] == ["u0", "u1", "u2"]
    assert all(r.headers["ConsistencyLevel"] == "eventual" for r in harness.requests)
    first = harness.params(0)
    assert first["$count"] == "true"
    assert first["$top"] == "999"
    assert first["$filter"] == (
        "employeeHireDate ge 2024-06-10T00:00:00Z and employeeHireDate le 2024-06-17T00:00:00Z"
        " and accountEnabled eq true and userType eq 'Member'"
    )
    assert first["$select"].split(",") == [
        *USER_FIELDS,
        "department",
        "companyName",
        "createdDateTime",
    ]


async def test_joiners_are_read_one_page_at_a_time(harness) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params.get("$skiptoken", "0"))
        body: dict[str, object] = {"value": [user(page)]}
        if page < 2:
            body["@odata.nextLink"] = f"{BASE}/users?$count=true&$skiptoken={page + 1}"
        return harness.ok(body)

    client = harness.client(handler)
    seen = []
    async for joiner in client.iter_joiners(
        datetime(2024, 6, 10, tzinfo=UTC), datetime(2024, 6, 17, tzinfo=UTC)
    ):
        seen.append((joiner.user.id, len(harness.requests)))

    assert seen == [("u0", 1), ("u1", 2), ("u2", 3)]


async def test_joiner_scope_goes_into_the_filter_quoted(harness) -> None:
    client = harness.client(lambda r: harness.ok({"value": []}))
    found = [
        j
        async for j in client.iter_joiners(
            datetime(2024, 6, 10, tzinfo=UTC),
            datetime(2024, 6, 17, tzinfo=UTC),
            departments=["Finance", "R&D", "Finance"],
            companies=["O'Brien Ltd"],
        )
    ]
    assert found == []
    assert harness.params()["$filter"].endswith(
        " and department in ('Finance','R&D') and companyName in ('O''Brien Ltd')"
    )


async def test_a_joiner_with_an_unreadable_hire_date_comes_without_one(harness) -> None:
    items = [
        user(
            0,
            employeeHireDate="16/06/2024",
            department="Finance",
            companyName="Contoso",
            createdDateTime="2024-05-30T08:01:02Z",
        ),
        user(1, employeeHireDate="2024-06-16T00:00:00Z", createdDateTime=None),
    ]
    client = harness.client(lambda r: harness.ok({"value": items}))
    first, second = [
        j
        async for j in client.iter_joiners(
            datetime(2024, 6, 10, tzinfo=UTC), datetime(2024, 6, 17, tzinfo=UTC)
        )
    ]
    assert first.user.employee_hire_date is None
    assert first.hire_date_text == "16/06/2024"
    assert (first.department, first.company_name) == ("Finance", "Contoso")
    assert second.user.employee_hire_date == datetime(2024, 6, 16, tzinfo=UTC)
    assert second.hire_date_text is None
    assert first.created_at == datetime(2024, 5, 30, 8, 1, 2, tzinfo=UTC)
    assert second.created_at is None


async def test_a_joiner_page_that_fails_raises_from_the_iteration(harness) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if "$skiptoken" in request.url.params:
            return harness.graph_error(500, "generalException")
        return harness.ok(
            {"value": [user(0)], "@odata.nextLink": f"{BASE}/users?$count=true&$skiptoken=p2"}
        )

    client = harness.client(handler, max_retries=0)
    seen: list[str] = []

    async def read_all() -> None:
        async for joiner in client.iter_joiners(
            datetime(2024, 6, 10, tzinfo=UTC), datetime(2024, 6, 17, tzinfo=UTC)
        ):
            seen.append(joiner.user.id)

    with pytest.raises(DirectoryUnavailable):
        await read_all()
    assert seen == ["u0"]


# Retries and throttling


@pytest.mark.parametrize(("header", "expected"), [("1", 1.0), ("2.5", 2.5), ("0.128", 0.128)])
async def test_retry_after_seconds_are_honoured(harness, header: str, expected: float) -> None:
    answers = iter(
        [
            harness.graph_error(429, "TooManyRequests", headers={"Retry-After": header}),
            harness.ok(ADELE),
        ]
    )
    client = harness.client(lambda r: next(answers))
    assert (await client.get_user("a")).id == ADELE["id"]
    assert harness.sleeps == [expected]


async def test_503_and_504_are_retried_with_backoff_when_no_retry_after(harness) -> None:
    answers = iter(
        [
            harness.graph_error(503, "serviceNotAvailable"),
            harness.graph_error(504, "gatewayTimeout"),
            harness.graph_error(503, "serviceNotAvailable"),
            harness.ok(ADELE),
        ]
    )
    client = harness.client(lambda r: next(answers), backoff_base=0.5)
    await client.get_user("a")
    # Half fixed, half jitter (random() is 0.5 here): 0.5·2ⁿ·¾.
    assert harness.sleeps == [0.375, 0.75, 1.5]


async def test_backoff_never_exceeds_the_wait_cap(harness) -> None:
    client = harness.client(
        lambda r: harness.graph_error(503, "x"),
        max_retries=6,
        max_retry_wait=2.0,
        random=lambda: 0.999,
    )
    with pytest.raises(DirectoryUnavailable):
        await client.get_user("a")
    assert len(harness.sleeps) == 6
    assert max(harness.sleeps) <= 2.0


async def test_throttling_that_outlasts_the_retries_is_directory_throttled(harness) -> None:
    client = harness.client(
        lambda r: harness.graph_error(429, "TooManyRequests", headers={"Retry-After": "3"}),
        max_retries=2,
    )
    with pytest.raises(DirectoryThrottled) as caught:
        await client.get_user("a")
    assert caught.value.retry_after == 3.0
    assert (caught.value.status, caught.value.code) == (429, "TooManyRequests")
    assert len(harness.requests) == 3
    assert harness.sleeps == [3.0, 3.0]


async def test_a_retry_after_beyond_the_cap_is_not_slept(harness) -> None:
    client = harness.client(
        lambda r: harness.graph_error(429, "TooManyRequests", headers={"Retry-After": "120"}),
        max_retry_wait=30.0,
    )
    with pytest.raises(DirectoryThrottled) as caught:
        await client.get_user("a")
    assert caught.value.retry_after == 120.0
    assert harness.sleeps == []
    assert len(harness.requests) == 1


async def test_connect_errors_and_read_timeouts_on_reads_are_retried(harness) -> None:
    failures = iter([httpx.ConnectError("refused"), httpx.ReadTimeout("slow")])

    def handler(request: httpx.Request) -> httpx.Response:
        failure = next(failures, None)
        if failure is not None:
            raise failure
        return harness.ok(ADELE)

    client = harness.client(handler)
    assert (await client.get_user("a")).id == ADELE["id"]
    assert len(harness.requests) == 3


async def test_reads_that_keep_timing_out_are_directory_unavailable(harness) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    client = harness.client(handler, max_retries=2)
    with pytest.raises(DirectoryUnavailable) as caught:
        await client.get_user("a")
    assert (caught.value.code, caught.value.status) == (TIMEOUT, 0)
    assert len(harness.requests) == 3


# Error mapping


@pytest.mark.parametrize(
    ("status", "code", "error"),
    [
        (400, "Request_BadRequest", DirectoryRejected),
        (401, "InvalidAuthenticationToken", DirectoryAccessDenied),
        (403, "Authorization_RequestDenied", DirectoryAccessDenied),
        (404, "Request_ResourceNotFound", DirectoryObjectNotFound),
        (405, "methodNotAllowed", DirectoryRejected),
        (409, "conflict", DirectoryRejected),
        (422, "unprocessableEntity", DirectoryRejected),
        (500, "generalException", DirectoryUnavailable),
        (501, "notImplemented", DirectoryUnavailable),
        (502, "badGateway", DirectoryUnavailable),
    ],
)
async def test_graph_errors_map_to_domain_errors_without_retry(
    harness, status: int, code: str, error: type[DirectoryError]
) -> None:
    client = harness.client(lambda r: harness.graph_error(status, code, "Graph says no."))
    with pytest.raises(error) as caught:
        await client.get_user("a")
    assert type(caught.value) is error
    assert (caught.value.status, caught.value.code) == (status, code)
    assert "Graph says no." in str(caught.value)
    assert len(harness.requests) == 1


async def test_a_non_json_error_page_still_maps_by_status(harness) -> None:
    client = harness.client(lambda r: httpx.Response(502, text="<html>Bad gateway</html>"))
    with pytest.raises(DirectoryUnavailable) as caught:
        await client.get_user("a")
    assert (caught.value.status, caught.value.code) == (502, "")


async def test_an_unreadable_success_is_directory_unavailable(harness) -> None:
    client = harness.client(lambda r: httpx.Response(200, text="not json"))
    with pytest.raises(DirectoryUnavailable) as caught:
        await client.get_user("a")
    assert caught.value.code == INVALID_RESPONSE


async def test_error_messages_never_carry_a_token(harness) -> None:
    jwt = "eyJ0eXAiOiJKV1QiLCJhbGciOi.eyJhdWQiOiJodHRwczovL2dyYXBo.c2lnbmF0dXJlc2lnbmF0dXJl"
    client = harness.client(
        lambda r: harness.graph_error(
            401, "InvalidAuthenticationToken", f"Token Bearer {jwt} expired"
        )
    )
    with pytest.raises(DirectoryAccessDenied) as caught:
        await client.get_user("a")
    assert jwt not in str(caught.value)
    assert "eyJ" not in str(caught.value)


# Temporary Access Passes


async def test_create_pass_sends_the_parameters_and_returns_the_secret_once(harness) -> None:
    client = harness.client(lambda r: harness.ok(CREATED_PASS, status=201))
    issued = await client.create_pass(
        "u1",
        lifetime_minutes=60,
        is_usable_once=False,
        start_at=datetime(2022, 6, 5, 2, 0, tzinfo=UTC).astimezone(),
    )
    request = harness.requests[0]
    assert request.method == "POST"
    assert request.url.path == "/v1.0/users/u1/authentication/temporaryAccessPassMethods"
    assert harness.body_of(request) == {
        "lifetimeInMinutes": 60,
        "isUsableOnce": False,
        "startDateTime": "2022-06-05T02:00:00Z",
    }
    assert issued.secret.reveal() == "+drkzqAD"
    assert "+drkzqAD" not in repr(issued)
    assert issued.info.start_at == datetime(2022, 6, 5, tzinfo=UTC)
    assert issued.info.ends_at == datetime(2022, 6, 5, 1, 0, tzinfo=UTC)
    assert issued.info.created_at == datetime(2022, 6, 2, 16, 21, 9, 765173, tzinfo=UTC)
    assert issued.info.usability_reason == "NotYetValid"


async def test_create_pass_without_start_omits_it(harness) -> None:
    client = harness.client(
        lambda r: harness.ok(CREATED_PASS | {"startDateTime": None}, status=201)
    )
    issued = await client.create_pass("u1", lifetime_minutes=60, is_usable_once=True, start_at=None)
    assert "startDateTime" not in harness.body_of(harness.requests[0])
    assert issued.info.start_at == issued.info.created_at


@pytest.mark.parametrize(
    "failure",
    [httpx.ReadTimeout("slow"), httpx.RemoteProtocolError("dropped"), httpx.WriteTimeout("w")],
)
async def test_create_pass_is_not_repeated_once_sent(harness, failure: Exception) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise failure

    client = harness.client(handler)
    with pytest.raises(DirectoryUnavailable) as caught:
        await client.create_pass("u1", lifetime_minutes=60, is_usable_once=True, start_at=None)
    assert caught.value.code == OUTCOME_UNKNOWN
    assert len(harness.requests) == 1
    assert harness.sleeps == []


async def test_create_pass_gateway_timeout_is_not_repeated(harness) -> None:
    client = harness.client(lambda r: harness.graph_error(504, "gatewayTimeout"))
    with pytest.raises(DirectoryUnavailable) as caught:
        await client.create_pass("u1", lifetime_minutes=60, is_usable_once=True, start_at=None)
    assert (caught.value.code, caught.value.status) == (OUTCOME_UNKNOWN, 504)
    assert len(harness.requests) == 1


async def test_create_pass_is_repeated_when_graph_refused_it_unprocessed(harness) -> None:
    answers = iter(
        [
            httpx.ConnectError("refused"),
            harness.graph_error(429, "TooManyRequests", headers={"Retry-After": "0.5"}),
            harness.graph_error(503, "serviceNotAvailable", headers={"Retry-After": "1"}),
            harness.ok(CREATED_PASS, status=201),
        ]
    )

    def handler(request: httpx.Request) -> httpx.Response:
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    client = harness.client(handler)
    issued = await client.create_pass("u1", lifetime_minutes=60, is_usable_once=True, start_at=None)
    assert issued.info.id == CREATED_PASS["id"]
    assert len(harness.requests) == 4
    assert harness.sleeps == [0.375, 0.5, 1.0]


async def test_a_pass_outside_the_policy_is_rejected_with_graphs_code(harness) -> None:
    message = "Invalid LifetimeInMinutes specified. The valid range between 60 and 480."
    client = harness.client(lambda r: harness.graph_error(400, "badRequest", message))
    with pytest.raises(DirectoryRejected) as caught:
        await client.create_pass("u1", lifetime_minutes=5000, is_usable_once=False, start_at=None)
    assert (caught.value.code, caught.value.status) == ("badRequest", 400)
    assert "valid range between 60 and 480" in str(caught.value)


async def test_a_created_pass_without_its_value_is_deleted_at_once(harness) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            return harness.ok(CREATED_PASS | {"temporaryAccessPass": None}, status=201)
        return httpx.Response(204)

    client = harness.client(handler)
    with pytest.raises(DirectoryUnavailable) as caught:
        await client.create_pass("u1", lifetime_minutes=60, is_usable_once=True, start_at=None)
    assert caught.value.code == INVALID_RESPONSE
    assert harness.requests[1].method == "DELETE"
    assert harness.requests[1].url.path.endswith(
        f"/temporaryAccessPassMethods/{CREATED_PASS['id']}"
    )


async def test_list_and_delete_passes(harness) -> None:
    listed = CREATED_PASS | {
        "temporaryAccessPass": None,
        "createdDateTime": "2022-06-06T16:43:04.6438213Z",
        "startDateTime": "2022-06-06T16:48:03.027Z",
    }

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "DELETE":
            return httpx.Response(204)
        return harness.ok({"value": [listed]})

    client = harness.client(handler)
    (info,) = await client.list_passes("u1")
    assert info.user_id == "u1"
    assert info.created_at == datetime(2022, 6, 6, 16, 43, 4, 643821, tzinfo=UTC)
    assert info.start_at == datetime(2022, 6, 6, 16, 48, 3, 27000, tzinfo=UTC)
    await client.delete_pass("u1", info.id)
    assert harness.requests[1].method == "DELETE"


async def test_tap_policy_is_parsed_with_its_targets(harness) -> None:
    policy = {
        "id": "TemporaryAccessPass",
        "state": "enabled",
        "defaultLifetimeInMinutes": 60,
        "defaultLength": 8,
        "minimumLifetimeInMinutes": 60,
        "maximumLifetimeInMinutes": 480,
        "isUsableOnce": False,
        "includeTargets": [
            {"targetType": "group", "id": "all_users", "isRegistrationRequired": False},
            {"targetType": "group", "id": "g-1", "isRegistrationRequired": False},
        ],
        "excludeTargets": [{"targetType": "group", "id": "g-admins"}],
    }
    client = harness.client(lambda r: harness.ok(policy))
    parsed = await client.get_tap_policy()
    assert harness.requests[0].url.path.endswith(
        "/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/TemporaryAccessPass"
    )
    assert parsed.enabled
    assert parsed.all_users
    assert (parsed.minimum_lifetime_minutes, parsed.maximum_lifetime_minutes) == (60, 480)
    assert (parsed.include_group_ids, parsed.exclude_group_ids) == (("g-1",), ("g-admins",))


# Membership, roles, audit


async def test_check_member_groups_goes_in_batches_of_twenty(harness) -> None:
    ids = [f"g{i}" for i in range(45)]

    def handler(request: httpx.Request) -> httpx.Response:
        asked = harness.body_of(request)["groupIds"]
        return harness.ok({"value": [g for g in asked if g in {"g3", "g25", "g44"}]})

    client = harness.client(handler)
    assert await client.check_member_groups("u1", ids) == {"g3", "g25", "g44"}
    sizes = sorted(len(harness.body_of(r)["groupIds"]) for r in harness.requests)
    assert sizes == [5, 20, 20]
    assert all(r.url.path == "/v1.0/users/u1/checkMemberGroups" for r in harness.requests)


async def test_check_member_objects_sends_ids(harness) -> None:
    client = harness.client(
        lambda r: harness.ok({"value": ["62e90394-69f5-4237-9190-012177145e10"]})
    )
    found = await client.check_member_objects("u1", ["62e90394-69f5-4237-9190-012177145e10", "x"])
    assert found == {"62e90394-69f5-4237-9190-012177145e10"}
    assert harness.body_of(harness.requests[0]) == {
        "ids": ["62e90394-69f5-4237-9190-012177145e10", "x"]
    }


async def test_active_and_eligible_roles_are_read_by_principal(harness) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return harness.ok(
            {
                "value": [
                    {
                        "id": "a",
                        "principalId": "u1",
                        "directoryScopeId": "/",
                        "roleDefinitionId": "r1",
                    }
                ]
            }
        )

    client = harness.client(handler)
    active = await client.list_active_role_assignments("u1")
    eligible = await client.list_eligible_role_assignments("u1")
    assert [r.kind for r in active + eligible] == [
        RoleAssignmentKind.ACTIVE,
        RoleAssignmentKind.ELIGIBLE,
    ]
    paths = [r.url.path for r in harness.requests]
    assert paths == [
        "/v1.0/roleManagement/directory/roleAssignments",
        "/v1.0/roleManagement/directory/roleEligibilityScheduleInstances",
    ]
    assert all(harness.params(i)["$filter"] == "principalId eq 'u1'" for i in (0, 1))


async def test_manager_changes_are_filtered_by_activity_window_and_target(harness) -> None:
    events = [
        {
            "activityDisplayName": "Set user manager",
            "activityDateTime": "2024-06-01T09:00:00.1234567Z",
            "initiatedBy": {"user": {"id": "admin-1"}, "app": None},
            "targetResources": [
                {"id": "u1", "type": "User", "modifiedProperties": []},
                {"id": "m2", "type": "User", "modifiedProperties": []},
            ],
        },
        {
            "activityDisplayName": "Set user manager",
            "activityDateTime": "2024-06-03T09:00:00Z",
            "initiatedBy": {"user": None, "app": {"appId": "app-9", "servicePrincipalId": "sp-9"}},
            "targetResources": [
                {
                    "id": "u1",
                    "Type": "User",
                    "modifiedProperties": [
                        {
                            "displayName": "Manager.ObjectID",
                            "oldValue": '["m2"]',
                            "newValue": '"m3"',
                        }
                    ],
                }
            ],
        },
    ]
    client = harness.client(lambda r: harness.ok({"value": events}))
    changes = await client.list_manager_changes("u1", datetime(2024, 5, 18, tzinfo=UTC))
    assert harness.requests[0].url.path == "/v1.0/auditLogs/directoryAudits"
    assert harness.params()["$filter"] == (
        "activityDisplayName eq 'Set user manager' and activityDateTime ge 2024-05-18T00:00:00Z"
        " and targetResources/any(t:t/id eq 'u1')"
    )
    assert [
        (c.old_manager_id, c.old_manager_known, c.new_manager_id, c.changed_by) for c in changes
    ] == [
        ("m2", True, "m3", Actor(ActorKind.APP, "sp-9", app_id="app-9")),
        (None, False, "m2", Actor(ActorKind.USER, "admin-1")),
    ]
    assert all(c.readable for c in changes)
    assert changes[1].changed_at == datetime(2024, 6, 1, 9, 0, 0, 123456, tzinfo=UTC)


# Mail and Teams apps


async def test_send_mail_posts_html_without_saving_and_is_not_repeated(harness) -> None:
    message = MailMessage(
        sender="tapbot@c.test",
        to=("emma@example.com",),
        cc=("boss@c.test",),
        subject="Your pass",
        html_body="<p>Hello</p>",
    )
    answers = iter([httpx.Response(202), httpx.ReadTimeout("slow")])

    def handler(request: httpx.Request) -> httpx.Response:
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    client = harness.client(handler)
    await client.send_mail(message)
    assert harness.requests[0].url.path == "/v1.0/users/tapbot@c.test/sendMail"
    assert harness.body_of(harness.requests[0]) == {
        "message": {
            "subject": "Your pass",
            "body": {"contentType": "HTML", "content": "<p>Hello</p>"},
            "toRecipients": [{"emailAddress": {"address": "emma@example.com"}}],
            "ccRecipients": [{"emailAddress": {"address": "boss@c.test"}}],
        },
        "saveToSentItems": False,
    }
    with pytest.raises(DirectoryUnavailable) as caught:
        await client.send_mail(message)
    assert caught.value.code == OUTCOME_UNKNOWN
    assert len(harness.requests) == 2


async def test_installed_app_lookup_and_idempotent_install(harness) -> None:
    answers = iter(
        [
            harness.ok({"value": [{"id": "inst-1", "teamsApp": {"id": "app-1"}}]}),
            harness.ok({"value": []}),
            httpx.Response(201),
            harness.graph_error(409, "Conflict", "App is already installed."),
        ]
    )
    client = harness.client(lambda r: next(answers))
    assert await client.find_app_installation("u1", "app-1") == "inst-1"
    assert harness.params(0) == {"$expand": "teamsApp", "$filter": "teamsApp/id eq 'app-1'"}
    assert await client.find_app_installation("u1", "app-1") is None
    await client.install_app("u1", "app-1")
    await client.install_app("u1", "app-1")
    assert harness.body_of(harness.requests[2]) == {
        "teamsApp@odata.bind": f"{BASE}/appCatalogs/teamsApps/app-1"
    }


async def test_an_installations_chat_is_read_and_an_answer_without_one_is_refused(
    harness,
) -> None:
    installation = "dTEjI2FwcC0x"  # base64("u1##app-1"), as Graph makes installation ids
    answers = iter(
        [
            harness.ok({"@odata.context": "x", "id": "19:app-1_u1@unq.gbl.spaces"}),
            harness.ok({"@odata.context": "x"}),
        ]
    )
    client = harness.client(lambda r: next(answers))
    assert await client.get_installation_chat("u1", installation) == ("19:app-1_u1@unq.gbl.spaces")
    assert harness.requests[0].url.path == (
        f"/v1.0/users/u1/teamwork/installedApps/{installation}/chat"
    )
    with pytest.raises(DirectoryUnavailable):
        await client.get_installation_chat("u1", installation)


async def test_calls_run_concurrently_on_one_client(harness) -> None:
    arrived = asyncio.Event()
    waiting = 0

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal waiting
        waiting += 1
        if waiting == 3:
            arrived.set()
        await asyncio.wait_for(arrived.wait(), timeout=2)
        return harness.ok(ADELE)

    client = harness.client(handler)
    users = await asyncio.gather(*(client.get_user(str(i)) for i in range(3)))
    assert len(users) == 3
