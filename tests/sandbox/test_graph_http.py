"""The fake tenant's Graph routes over real HTTP: shapes, codes and rules from the facts file."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from sandbox import org
from sandbox.server import FakeTenant
from sandbox.tenant import GLOBAL_ADMINISTRATOR
from tests.sandbox.conftest import collect

SELECT = "$select=id,displayName,employeeHireDate,mobilePhone"
TAP = "users/{}/authentication/temporaryAccessPassMethods"
LIFETIME_MESSAGE = "Invalid LifetimeInMinutes specified. The valid range between 60 and 480."


def assert_graph_error(response: httpx.Response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code
    assert set(error["innerError"]) >= {"date", "request-id", "client-request-id"}
    assert isinstance(error["message"], str)
    return error


async def test_every_graph_call_needs_a_token_the_sandbox_issued(fake: FakeTenant) -> None:
    async with httpx.AsyncClient(base_url=fake.graph_url + "/") as client:
        missing = await client.get(f"users/{org.MANAGER_ID}")
        forged = await client.get(
            f"users/{org.MANAGER_ID}", headers={"Authorization": "Bearer a.b.c"}
        )
    assert_graph_error(missing, 401, "InvalidAuthenticationToken")
    assert_graph_error(forged, 401, "InvalidAuthenticationToken")


async def test_revoked_tokens_and_missing_permissions_are_refused(
    fake: FakeTenant, graph: httpx.AsyncClient
) -> None:
    fake.tenant.app_roles.discard("Mail.Send")
    fake.tenant.app_roles.discard("UserAuthenticationMethod.ReadWrite.All")
    from tests.sandbox.conftest import secret_token

    graph.headers["Authorization"] = f"Bearer {await secret_token(fake)}"
    denied = await graph.post(TAP.format(org.LIAM_ID), json={})
    assert_graph_error(denied, 403, "accessDenied")
    fake.issuer.revoke_all()
    assert_graph_error(await graph.get(f"users/{org.LIAM_ID}"), 401, "InvalidAuthenticationToken")


async def test_get_user_by_id_or_upn_with_select_and_default_properties(
    graph: httpx.AsyncClient,
) -> None:
    selected = (await graph.get(f"users/{org.MANAGER_UPN.upper()}?{SELECT}")).json()
    assert {k for k in selected if not k.startswith("@")} == {
        "id", "displayName", "employeeHireDate", "mobilePhone"
    }  # fmt: skip
    assert selected["id"] == org.MANAGER_ID
    default = (await graph.get(f"users/{org.MANAGER_ID}")).json()
    assert "employeeHireDate" not in default
    assert "accountEnabled" not in default
    assert default["userPrincipalName"] == org.MANAGER_UPN
    guest = await graph.get("users/" + org.GUEST_UPN.replace("#", "%23"))
    assert guest.json()["id"] == org.GUEST_ID
    bad = await graph.get(f"users/{org.MANAGER_ID}?$select=nonsense")
    assert_graph_error(bad, 400, "Request_BadRequest")


async def test_created_date_time_comes_only_when_selected_in_whole_utc_seconds(
    fake: FakeTenant, graph: httpx.AsyncClient
) -> None:
    joiner, liam = org.JOINER_IDS[0], org.LIAM_ID
    made = fake.tenant.users[joiner].created_date_time
    assert made is not None

    selected = (await graph.get(f"users/{joiner}?$select=id,createdDateTime")).json()
    default = (await graph.get(f"users/{joiner}")).json()
    long_ago = (await graph.get(f"users/{liam}?$select=createdDateTime")).json()
    fake.tenant.users[liam].created_date_time = None
    unknown = (await graph.get(f"users/{liam}?$select=createdDateTime")).json()

    assert selected["createdDateTime"] == made.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert "createdDateTime" not in default
    hired = fake.tenant.users[liam].employee_hire_date
    assert hired is not None
    created = datetime.fromisoformat(long_ago["createdDateTime"])
    assert created < hired - timedelta(days=13)
    assert unknown["createdDateTime"] is None


async def test_unknown_user_and_missing_manager_are_404(graph: httpx.AsyncClient) -> None:
    error = assert_graph_error(await graph.get("users/nobody"), 404, "Request_ResourceNotFound")
    assert error["message"].startswith("Resource 'nobody' does not exist")
    error = assert_graph_error(
        await graph.get(f"users/{org.CEO_ID}/manager"), 404, "Request_ResourceNotFound"
    )
    assert error["message"].startswith("Resource 'manager' does not exist")
    manager = (await graph.get(f"users/{org.LIAM_ID}/manager?$select=id,displayName")).json()
    assert manager["id"] == org.MANAGER_ID
    assert manager["@odata.type"] == "#microsoft.graph.user"


async def test_direct_reports_are_paged_with_next_links(graph: httpx.AsyncClient) -> None:
    items, pages = await collect(graph, f"users/{org.MANAGER_ID}/directReports?{SELECT}")
    ids = {i["id"] for i in items}
    assert pages >= 3
    assert ids >= {*org.ELIGIBLE_REPORT_IDS, org.PIM_ELIGIBLE_ADMIN_ID, *org.JOINER_IDS}
    assert len(ids) == len(items)
    assert all(i["@odata.type"] == "#microsoft.graph.user" for i in items)


async def test_hire_date_filter_needs_eventual_consistency_and_count(
    fake: FakeTenant, graph: httpx.AsyncClient
) -> None:
    now = datetime.now(UTC)
    start, end = (
        now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        (now + timedelta(days=7)).strftime("%Y-%m-%dT%H:%M:%SZ"),
    )
    url = (
        f"users?$filter=employeeHireDate ge {start} and employeeHireDate le {end}&{SELECT}&$top=999"
    )
    plain = await graph.get(url)
    error = assert_graph_error(plain, 400, "Request_UnsupportedQuery")
    assert "ConsistencyLevel:eventual" in error["message"]
    header_only = await graph.get(url, headers={"ConsistencyLevel": "eventual"})
    assert_graph_error(header_only, 400, "Request_UnsupportedQuery")
    items, _ = await collect(graph, url + "&$count=true", headers={"ConsistencyLevel": "eventual"})
    assert {i["id"] for i in items} == set(org.JOINER_IDS[:2])  # 3 and 6 days ahead, not 10
    first = (await graph.get(url + "&$count=true", headers={"ConsistencyLevel": "eventual"})).json()
    assert first["@odata.count"] == 2


async def test_search_by_prefix_and_top_limits(graph: httpx.AsyncClient) -> None:
    url = "users?$filter=startswith(displayName,'gr') or startswith(mail,'gr')&$select=id"
    items, _ = await collect(graph, url)
    assert [i["id"] for i in items] == [org.GRACE_ID]
    assert_graph_error(await graph.get("users?$top=1000"), 400, "Request_BadRequest")
    everyone, pages = await collect(graph, "users?$select=id&$top=999")
    assert len(everyone) == len(org.PEOPLE)
    assert pages > 1


async def test_check_member_groups_is_transitive(graph: httpx.AsyncClient) -> None:
    wanted = [org.HELPDESK_GROUP_ID, org.BLOCKED_GROUP_ID]
    glass = await graph.post(
        f"users/{org.BREAK_GLASS_ID}/checkMemberGroups", json={"groupIds": wanted}
    )
    desk = await graph.post(
        f"users/{org.HELPDESK_MEMBER_IDS[0]}/checkMemberGroups", json={"groupIds": wanted}
    )
    assert glass.json()["value"] == [org.BLOCKED_GROUP_ID]  # through a nested group
    assert desk.json()["value"] == [org.HELPDESK_GROUP_ID]
    too_many = await graph.post(
        f"users/{org.LIAM_ID}/checkMemberGroups", json={"groupIds": [str(i) for i in range(21)]}
    )
    assert_graph_error(too_many, 400, "Request_BadRequest")
    roles = await graph.post(
        f"users/{org.GLOBAL_ADMIN_ID}/checkMemberObjects", json={"ids": [GLOBAL_ADMINISTRATOR]}
    )
    assert roles.json()["value"] == [GLOBAL_ADMINISTRATOR]


async def test_role_assignments_active_and_eligible(graph: httpx.AsyncClient) -> None:
    def url(kind: str, user: str) -> str:
        return f"roleManagement/directory/{kind}?$filter=principalId eq '{user}'"

    active, _ = await collect(graph, url("roleAssignments", org.GLOBAL_ADMIN_ID))
    assert [a["roleDefinitionId"] for a in active] == [GLOBAL_ADMINISTRATOR]
    assert active[0]["directoryScopeId"] == "/"
    eligible, _ = await collect(
        graph, url("roleEligibilityScheduleInstances", org.PIM_ELIGIBLE_ADMIN_ID)
    )
    assert [e["roleDefinitionId"] for e in eligible] == [org.PRIVILEGED_AUTH_ADMIN]
    not_active, _ = await collect(graph, url("roleAssignments", org.PIM_ELIGIBLE_ADMIN_ID))
    assert not_active == []


async def test_manager_change_audit(graph: httpx.AsyncClient) -> None:
    since = (datetime.now(UTC) - timedelta(days=14)).strftime("%Y-%m-%dT%H:%M:%SZ")
    url = (
        "auditLogs/directoryAudits?$filter=activityDisplayName eq 'Set user manager'"
        f" and activityDateTime ge {since}"
        f" and targetResources/any(t:t/id eq '{org.RECENT_MANAGER_CHANGE_ID}')"
        "&$orderby=activityDateTime desc"
    )
    items, _ = await collect(graph, url)
    assert len(items) == 1
    assert items[0]["targetResources"][1]["id"] == org.MANAGER_ID


async def test_tap_policy_has_entra_defaults(graph: httpx.AsyncClient) -> None:
    url = (
        "policies/authenticationMethodsPolicy/authenticationMethodConfigurations/"
        "TemporaryAccessPass"
    )
    policy = (await graph.get(url)).json()
    assert policy["state"] == "enabled"
    assert (
        policy["minimumLifetimeInMinutes"],
        policy["maximumLifetimeInMinutes"],
        policy["defaultLifetimeInMinutes"],
        policy["defaultLength"],
        policy["isUsableOnce"],
    ) == (60, 480, 60, 8, False)
    assert policy["includeTargets"][0]["id"] == "all_users"


async def test_pass_lifecycle_value_only_on_create_and_replacement(
    graph: httpx.AsyncClient,
) -> None:
    url = TAP.format(org.LIAM_ID)
    assert (await graph.get(url)).json()["value"] == []
    created = await graph.post(url, json={"lifetimeInMinutes": 120, "isUsableOnce": True})
    assert created.status_code == 201
    first = created.json()
    assert len(first["temporaryAccessPass"]) == 8
    assert first["isUsable"] is True
    assert first["methodUsabilityReason"] == "EnabledByPolicy"
    listed = (await graph.get(url)).json()["value"]
    assert [p["id"] for p in listed] == [first["id"]]
    assert listed[0]["temporaryAccessPass"] is None
    assert first["temporaryAccessPass"] not in (await graph.get(url)).text
    one = (await graph.get(f"{url}/{first['id']}")).json()
    assert one["temporaryAccessPass"] is None

    later = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    second = (await graph.post(url, json={"startDateTime": later})).json()
    assert second["id"] != first["id"]
    assert second["lifetimeInMinutes"] == 60
    assert second["methodUsabilityReason"] == "NotYetValid"
    assert [p["id"] for p in (await graph.get(url)).json()["value"]] == [second["id"]]

    gone = await graph.delete(f"{url}/{first['id']}")
    assert gone.status_code == 404
    deleted = await graph.delete(f"{url}/{second['id']}")
    assert deleted.status_code == 204
    assert deleted.content == b""
    assert (await graph.get(url)).json()["value"] == []


async def test_pass_rules_answer_with_graphs_errors(
    fake: FakeTenant, graph: httpx.AsyncClient
) -> None:
    url = TAP.format(org.LIAM_ID)
    for lifetime in (30, 481):
        error = assert_graph_error(
            await graph.post(url, json={"lifetimeInMinutes": lifetime}), 400, "badRequest"
        )
        assert error["message"] == LIFETIME_MESSAGE
        assert error["innerError"]["message"] == LIFETIME_MESSAGE
    guest = await graph.post(TAP.format(org.GUEST_ID), json={})
    assert "external guest" in assert_graph_error(guest, 400, "badRequest")["message"]
    unknown = await graph.post(TAP.format("nobody"), json={})
    assert_graph_error(unknown, 404, "Request_ResourceNotFound")
    fake.tenant.policy.exclude_group_ids.append(org.FINANCE_GROUP_ID)
    excluded = await graph.post(url, json={})
    assert (
        "Converged UserCredentialPolicy"
        in assert_graph_error(excluded, 400, "badRequest")["message"]
    )
    assert fake.tenant.passes == {}


async def test_send_mail_lands_in_the_outbox(fake: FakeTenant, graph: httpx.AsyncClient) -> None:
    body = {
        "message": {
            "subject": "Your pass",
            "body": {"contentType": "HTML", "content": "<p>Hello</p>"},
            "toRecipients": [{"emailAddress": {"address": "liam.carter.home@example.net"}}],
            "ccRecipients": [{"emailAddress": {"address": org.MANAGER_UPN}}],
        },
        "saveToSentItems": False,
    }
    sent = await graph.post(f"users/{org.MAILBOX_UPN}/sendMail", json=body)
    assert sent.status_code == 202
    assert sent.content == b""
    [mail] = fake.tenant.outbox
    assert (mail.kind, mail.to, mail.cc, mail.subject) == (
        "email", ["liam.carter.home@example.net"], [org.MANAGER_UPN], "Your pass"
    )  # fmt: skip
    nobody = await graph.post("users/ghost@contoso.example/sendMail", json=body)
    assert_graph_error(nobody, 404, "ErrorInvalidUser")


async def test_teams_app_install_find_and_conflict(graph: httpx.AsyncClient) -> None:
    url = f"users/{org.LIAM_ID}/teamwork/installedApps"
    query = f"?$expand=teamsApp&$filter=teamsApp/id eq '{org.TEAMS_APP_ID}'"
    assert (await graph.get(url + query)).json()["value"] == []
    bind = {"teamsApp@odata.bind": f"https://x/v1.0/appCatalogs/teamsApps/{org.TEAMS_APP_ID}"}
    assert (await graph.post(url, json=bind)).status_code == 201
    assert (await graph.post(url, json=bind)).status_code == 409
    [installed] = (await graph.get(url + query)).json()["value"]
    assert installed["teamsApp"]["id"] == org.TEAMS_APP_ID
    chat = await graph.get(f"{url}/{installed['id']}/chat")
    assert chat.json()["id"].startswith("19:")


async def test_me_and_unknown_segments_are_400(graph: httpx.AsyncClient) -> None:
    assert_graph_error(await graph.get("me"), 400, "BadRequest")
    assert_graph_error(await graph.get("nothing/here"), 400, "BadRequest")
