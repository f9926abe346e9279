"""Microsoft Graph v1.0 over HTTP for the fake tenant: the routes `bot.graph.client` calls.

Every route needs a bearer token the sandbox's identity platform issued (401
``InvalidAuthenticationToken`` otherwise) whose ``roles`` hold the permission the route needs
(403 with the workload's code otherwise). Route names are the operation names faults use.
The routes for roles, groups and PIM for Groups are in `sandbox.role_routes`.

Query rules (facts §3.5): ``$select`` returns exactly the selected properties (an unknown one is
400); without it a user has Graph's default property set. ``$filter`` on ``employeeHireDate``,
``endswith``, ``ne`` and ``not`` need ``ConsistencyLevel: eventual`` and ``$count=true`` (else
400 ``Request_UnsupportedQuery``); with both, the answer carries ``@odata.count``. ``$top`` must be
1-999. Collections are paged at ``min($top, page_size)`` items with an ``@odata.nextLink`` that
repeats the query plus an opaque ``$skiptoken``; page_size is small (3) so clients must page.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from aiohttp import web

from sandbox import change_routes
from sandbox.directory_changes import visible_audits
from sandbox.odata import Filter, ODataError, parse_filter
from sandbox.role_routes import RoleRoutes
from sandbox.tenant import DEFAULT_USER_PROPERTIES, GraphError, Tenant, User

ADVANCED_HINT = (
    "is not supported because the required parameters might be missing. Try adding $count=true "
    "query parameter and ConsistencyLevel:eventual header. Refer to "
    "https://aka.ms/graph-docs/advanced-queries for more information"
)
USER_FILTERABLE = {
    "id",
    "displayName",
    "givenName",
    "surname",
    "userPrincipalName",
    "mail",
    "otherMails",
    "mobilePhone",
    "jobTitle",
    "department",
    "companyName",
    "userType",
    "accountEnabled",
    "employeeHireDate",
}
USER_TYPE = "#microsoft.graph.user"
_READ_USERS = {"User.Read.All", "User.ReadWrite.All", "Directory.Read.All"}
_AUTH_READ = {"UserAuthenticationMethod.Read.All", "UserAuthenticationMethod.ReadWrite.All"}
_AUTH_WRITE = {"UserAuthenticationMethod.ReadWrite.All"}
_APPS = {
    "TeamsAppInstallation.ReadWriteSelfForUser.All",
    "TeamsAppInstallation.ReadWriteForUser.All",
}
_READ_GROUPS = {"GroupMember.Read.All", "Group.Read.All", "Directory.Read.All"}
# The routes whose 403 is PIM's (facts §3): "UnknownError" carrying a JSON string message.
_PIM_ROUTES = {
    "list_role_eligibilities": "RoleEligibilitySchedule.Read.Directory",
    "list_pim_group_eligibilities": "PrivilegedEligibilitySchedule.Read.AzureADGroup",
    "list_pim_group_assignments": "PrivilegedAssignmentSchedule.Read.AzureADGroup",
}
# Route name -> the application permissions that allow it (any one).
PERMISSIONS: dict[str, set[str]] = {
    "list_users": _READ_USERS,
    "get_user": _READ_USERS,
    "get_manager": _READ_USERS,
    "list_direct_reports": _READ_USERS,
    "list_sponsors": _READ_USERS,
    "check_member_groups": _READ_GROUPS,
    "check_member_objects": _READ_USERS,
    "list_group_members": {"GroupMember.Read.All", "Group.Read.All", "Directory.Read.All"},
    "list_transitive_groups": _READ_USERS | _READ_GROUPS,
    "list_groups": _READ_GROUPS,
    "list_group_owners": _READ_GROUPS,
    "list_role_assignments": {"RoleManagement.Read.Directory", "Directory.Read.All"},
    "list_role_eligibilities": {
        "RoleEligibilitySchedule.Read.Directory",
        "RoleManagement.Read.Directory",
        "RoleManagement.Read.All",
    },
    "list_pim_group_eligibilities": {
        "PrivilegedEligibilitySchedule.Read.AzureADGroup",
        "PrivilegedEligibilitySchedule.ReadWrite.AzureADGroup",
    },
    "list_pim_group_assignments": {
        "PrivilegedAssignmentSchedule.Read.AzureADGroup",
        "PrivilegedAssignmentSchedule.ReadWrite.AzureADGroup",
    },
    "list_directory_audits": {"AuditLog.Read.All"},
    "get_tap_policy": {"Policy.Read.All", "Policy.ReadWrite.AuthenticationMethod"},
    "list_passes": _AUTH_READ,
    "get_pass": _AUTH_READ,
    "create_pass": _AUTH_WRITE,
    "delete_pass": _AUTH_WRITE,
    "send_mail": {"Mail.Send"},
    "list_installed_apps": _APPS,
    "install_app": _APPS,
    "get_installation_chat": _APPS,
    **change_routes.PERMISSIONS,
}


def forbidden(operation: str) -> GraphError:
    """The workload's 403 for a token without the permission (facts §9.2; PIM's from
    graph-roles-and-changes.md §3, where the message is itself JSON)."""
    if operation in _PIM_ROUTES:
        inner = {
            "errorCode": "PermissionScopeNotGranted",
            "message": "Authorization failed due to missing permission scope "
            f"{_PIM_ROUTES[operation]}.",
            "instanceAnnotations": [],
        }
        return GraphError(403, "UnknownError", json.dumps(inner, separators=(",", ":")))
    if operation.endswith(("pass", "passes")):
        return GraphError(403, "accessDenied", "Request Authorization failed")
    if operation == "send_mail":
        return GraphError(
            403, "ErrorAccessDenied", "Access is denied. Check credentials and try again."
        )
    return GraphError(
        403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation."
    )


def user_item(user: User, select: Sequence[str] | None, *, typed: bool = False) -> dict[str, Any]:
    """*user* with the *select*ed properties (Graph's default set when None)."""
    full = user.to_json()
    item: dict[str, Any] = {"@odata.type": USER_TYPE} if typed else {}
    for name in select or DEFAULT_USER_PROPERTIES:
        item[name] = full[name]
    return item


# How `UserFields` computes each property a filter may use. employeeHireDate stays a datetime:
# the filter compares it with a DateTimeOffset literal exactly as it would compare the text.
_USER_FIELD_GETTERS: dict[str, Callable[[User], Any]] = {
    "id": lambda u: u.id,
    "displayName": lambda u: u.display_name,
    "givenName": lambda u: u.given_name,
    "surname": lambda u: u.surname,
    "userPrincipalName": lambda u: u.user_principal_name,
    "mail": lambda u: u.mail,
    "otherMails": lambda u: list(u.other_mails),
    "mobilePhone": lambda u: u.mobile_phone,
    "jobTitle": lambda u: u.job_title,
    "department": lambda u: u.department,
    "companyName": lambda u: u.company_name,
    "userType": lambda u: u.user_type,
    "accountEnabled": lambda u: u.account_enabled,
    "employeeHireDate": lambda u: u.employee_hire_date,
}


class UserFields(Mapping[str, Any]):
    """A user's filterable properties, each computed when a filter reads it."""

    __slots__ = ("_user",)

    def __init__(self, user: User) -> None:
        self._user = user

    def __getitem__(self, name: str) -> Any:
        return _USER_FIELD_GETTERS[name](self._user)

    def __contains__(self, name: object) -> bool:
        return name in _USER_FIELD_GETTERS

    def __iter__(self) -> Iterator[str]:
        return iter(_USER_FIELD_GETTERS)

    def __len__(self) -> int:
        return len(_USER_FIELD_GETTERS)


class GraphRoutes:
    """The Graph routes over a live `Tenant` (read through *tenant* each call: reset swaps it)."""

    def __init__(self, tenant: Callable[[], Tenant], *, page_size: int = 3) -> None:
        self._tenant = tenant
        self.page_size = page_size
        self.changes = change_routes.ChangeRoutes(tenant, page_size=page_size)

    @property
    def tenant(self) -> Tenant:
        return self._tenant()

    def add_to(self, app: web.Application) -> None:
        # First: "/users/delta" must not be taken for a user id by "/users/{user}".
        self.changes.add_to(app)
        r = app.router
        users = "/v1.0/users/{user}"
        passes = users + "/authentication/temporaryAccessPassMethods"
        apps = users + "/teamwork/installedApps"
        r.add_get("/v1.0/users", self.list_users, name="list_users")
        r.add_get(users, self.get_user, name="get_user")
        r.add_get(users + "/manager", self.get_manager, name="get_manager")
        r.add_get(users + "/directReports", self.direct_reports, name="list_direct_reports")
        r.add_get(users + "/sponsors", self.sponsors, name="list_sponsors")
        r.add_post(users + "/checkMemberGroups", self.check_groups, name="check_member_groups")
        r.add_post(users + "/checkMemberObjects", self.check_objects, name="check_member_objects")
        r.add_get(
            "/v1.0/groups/{group}/transitiveMembers/microsoft.graph.user",
            self.group_members,
            name="list_group_members",
        )
        RoleRoutes(self).add_to(app)
        r.add_get("/v1.0/auditLogs/directoryAudits", self.audits, name="list_directory_audits")
        r.add_get(
            "/v1.0/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/{m}",
            self.tap_policy,
            name="get_tap_policy",
        )
        r.add_get(passes, self.list_passes, name="list_passes")
        r.add_post(passes, self.create_pass, name="create_pass")
        r.add_get(passes + "/{pass_id}", self.get_pass, name="get_pass")
        r.add_delete(passes + "/{pass_id}", self.delete_pass, name="delete_pass")
        r.add_post(users + "/sendMail", self.send_mail, name="send_mail")
        r.add_get(apps, self.installed_apps, name="list_installed_apps")
        r.add_post(apps, self.install_app, name="install_app")
        r.add_get(
            apps + "/{installation}/chat", self.installation_chat, name="get_installation_chat"
        )
        r.add_route("*", "/v1.0/me{rest:.*}", self.me, name="me")
        r.add_route("*", "/v1.0/{rest:.*}", self.unknown_segment, name="unknown")

    # Query helpers

    def _select(self, request: web.Request) -> list[str] | None:
        text = request.query.get("$select")
        if not text:
            return None
        names = [n.strip() for n in text.split(",") if n.strip()]
        known = set(User("", "", "", "", "").to_json())
        for name in names:
            if name not in known:
                raise GraphError(
                    400,
                    "Request_BadRequest",
                    f"Could not find a property named '{name}' on type 'microsoft.graph.user'.",
                )
        return names

    def filtered(
        self, request: web.Request, items: list[dict[str, Any]], *, users: bool = False
    ) -> list[dict[str, Any]]:
        query = self._filter(request, users=users)
        return items if query is None else [item for item in items if query(item)]

    def _filter(self, request: web.Request, *, users: bool = False) -> Filter | None:
        """The request's ``$filter``, checked against Graph's rules for users when *users*."""
        text = request.query.get("$filter")
        if not text:
            return None
        try:
            query = parse_filter(text)
        except ODataError as exc:
            raise GraphError(400, "BadRequest", f"Invalid filter clause: {exc}") from None
        if users:
            for prop, _ in query.uses:
                if prop != "*" and prop not in USER_FILTERABLE:
                    raise GraphError(
                        400,
                        "Request_UnsupportedQuery",
                        f"Unsupported or invalid query filter clause specified for property "
                        f"'{prop}' of resource 'User'.",
                    )
            advanced_ops = sorted(query.operators_on("employeeHireDate")) + [
                op for _, op in query.uses if op in ("endswith", "ne", "not")
            ]
            if advanced_ops and not _advanced(request):
                op = advanced_ops[0]
                raise GraphError(
                    400, "Request_UnsupportedQuery", f"Operator '{op}' {ADVANCED_HINT}"
                )
        return query

    def page(
        self,
        request: web.Request,
        items: Sequence[Any],
        context: str,
        render: Callable[[Any], dict[str, Any]] | None = None,
    ) -> web.Response:
        """One page of *items*; *render* turns each item on the page into its JSON (so a
        large collection is rendered a page at a time)."""
        top_text = request.query.get("$top")
        top = self.page_size
        if top_text is not None:
            try:
                wanted = int(top_text)
            except ValueError:
                wanted = 0
            if not 1 <= wanted <= 999:
                raise GraphError(
                    400,
                    "Request_BadRequest",
                    f"Invalid page size specified: '{top_text}'. Must be between 1 and 999 "
                    "inclusive.",
                )
            top = min(wanted, self.page_size)
        offset = _offset(request.query.get("$skiptoken"))
        page = items[offset : offset + top]
        body: dict[str, Any] = {"@odata.context": self._context(request, context)}
        if _advanced(request):
            body["@odata.count"] = len(items)
        if offset + top < len(items):
            query = {k: v for k, v in request.query.items() if k != "$skiptoken"}
            token = base64.urlsafe_b64encode(f"offset:{offset + top}".encode()).decode()
            body["@odata.nextLink"] = str(request.url.with_query({**query, "$skiptoken": token}))
        body["value"] = [render(item) for item in page] if render else list(page)
        return web.json_response(body)

    @staticmethod
    def _context(request: web.Request, what: str) -> str:
        return f"{request.url.origin()}/v1.0/$metadata#{what}"

    def _user(self, request: web.Request) -> User:
        return self.tenant.user(request.match_info["user"])

    # Users and the org chart

    async def list_users(self, request: web.Request) -> web.Response:
        if "$search" in request.query and not _has_eventual(request):
            raise GraphError(
                400,
                "Request_UnsupportedQuery",
                "Request with $search query parameter only works through MSGraph with a special "
                "request header: 'ConsistencyLevel: eventual'",
            )
        select = self._select(request)
        query = self._filter(request, users=True)
        # A tenant of 100,000 users is filtered on demand-computed properties and only the
        # page asked for is rendered: building every user's JSON per request took seconds.
        found = [u for u in self.tenant.users.values() if query is None or query(UserFields(u))]
        found.sort(key=lambda u: (u.display_name.casefold(), u.id))
        return self.page(request, found, "users", render=lambda u: user_item(u, select))

    async def get_user(self, request: web.Request) -> web.Response:
        body = {"@odata.context": self._context(request, "users/$entity")}
        return web.json_response(body | user_item(self._user(request), self._select(request)))

    async def get_manager(self, request: web.Request) -> web.Response:
        manager = self.tenant.manager_of(request.match_info["user"])
        body = {"@odata.context": self._context(request, "directoryObjects/$entity")}
        return web.json_response(body | user_item(manager, self._select(request), typed=True))

    async def direct_reports(self, request: web.Request) -> web.Response:
        reports = self.tenant.direct_reports(request.match_info["user"])
        select = self._select(request)
        items = [user_item(u, select, typed=True) for u in reports]
        return self.page(request, self.filtered(request, items), "directoryObjects")

    async def sponsors(self, request: web.Request) -> web.Response:
        select = self._select(request)
        sponsors = self.tenant.sponsors_of(request.match_info["user"])
        items = [user_item(u, select, typed=True) for u in sponsors]
        return self.page(request, items, "directoryObjects")

    async def check_groups(self, request: web.Request) -> web.Response:
        ids = await _id_list(request, "groupIds")
        found = self.tenant.check_member_groups(request.match_info["user"], ids)
        return _strings(found)

    async def check_objects(self, request: web.Request) -> web.Response:
        ids = await _id_list(request, "ids")
        found = self.tenant.check_member_objects(request.match_info["user"], ids)
        return _strings(found)

    async def group_members(self, request: web.Request) -> web.Response:
        """Users in a group, through nested groups; the cast is an advanced query (facts §4.4)."""
        if not _advanced(request):
            raise GraphError(
                400, "Request_UnsupportedQuery", f"Casting to a derived type {ADVANCED_HINT}"
            )
        members = self.tenant.group_members(request.match_info["group"])
        select = self._select(request)
        items = [user_item(u, select, typed=True) for u in members]
        return self.page(request, self.filtered(request, items), "users")

    async def audits(self, request: web.Request) -> web.Response:
        items = self.filtered(request, visible_audits(self.tenant))
        order = request.query.get("$orderby", "activityDateTime desc").split()
        if order and order[0] != "activityDateTime":
            raise GraphError(400, "BadRequest", f"Order by '{order[0]}' is not supported.")
        descending = len(order) < 2 or order[1].lower() == "desc"
        items.sort(key=lambda a: a["activityDateTime"], reverse=descending)
        return self.page(request, items, "auditLogs/directoryAudits")

    # Temporary Access Passes

    async def tap_policy(self, request: web.Request) -> web.Response:
        if request.match_info["m"].casefold() != "temporaryaccesspass":
            raise GraphError(
                404, "itemNotFound", "The requested method configuration is not supported here."
            )
        context = self._context(request, "authenticationMethodConfigurations/$entity")
        return web.json_response({"@odata.context": context} | self.tenant.policy.to_json())

    async def list_passes(self, request: web.Request) -> web.Response:
        user = self._user(request)
        context = f"users('{user.id}')/authentication/temporaryAccessPassMethods"
        return self.page(request, self.tenant.list_passes(user.id), context)

    async def get_pass(self, request: web.Request) -> web.Response:
        item = self.tenant.get_pass(request.match_info["user"], request.match_info["pass_id"])
        return web.json_response(item)

    async def create_pass(self, request: web.Request) -> web.Response:
        user = self._user(request)
        body = await _json_body(request, echo=True)
        item = self.tenant.create_pass(user.id, body)
        context = f"users('{user.id}')/authentication/temporaryAccessPassMethods/$entity"
        return web.json_response(
            {"@odata.context": self._context(request, context)} | item, status=201
        )

    async def delete_pass(self, request: web.Request) -> web.Response:
        self.tenant.delete_pass(request.match_info["user"], request.match_info["pass_id"])
        return web.Response(status=204)

    # Mail and Teams apps

    async def send_mail(self, request: web.Request) -> web.Response:
        body = await _json_body(request)
        self.tenant.send_mail(request.match_info["user"], body)
        return web.Response(status=202)

    async def installed_apps(self, request: web.Request) -> web.Response:
        items = self.filtered(request, self.tenant.installed_apps_of(request.match_info["user"]))
        if "teamsApp" not in request.query.get("$expand", ""):
            items = [{k: v for k, v in i.items() if k != "teamsApp"} for i in items]
        return self.page(request, items, "users('')/teamwork/installedApps")

    async def install_app(self, request: web.Request) -> web.Response:
        body = await _json_body(request)
        bind = body.get("teamsApp@odata.bind")
        if not isinstance(bind, str) or "/appCatalogs/teamsApps/" not in bind:
            raise GraphError(400, "BadRequest", "teamsApp@odata.bind is missing or invalid.")
        self.tenant.install_app(request.match_info["user"], bind.rsplit("/", 1)[1])
        return web.Response(status=201)

    async def installation_chat(self, request: web.Request) -> web.Response:
        chat = self.tenant.installation_chat(
            request.match_info["user"], request.match_info["installation"]
        )
        return web.json_response({"@odata.context": self._context(request, "chats/$entity")} | chat)

    async def me(self, request: web.Request) -> web.Response:
        raise GraphError(
            400, "BadRequest", "/me request is only valid with delegated authentication flow."
        )

    async def unknown_segment(self, request: web.Request) -> web.Response:
        segment = request.match_info["rest"].split("/")[-1] or "v1.0"
        raise GraphError(400, "BadRequest", f"Resource not found for the segment '{segment}'.")


def _has_eventual(request: web.Request) -> bool:
    return request.headers.get("ConsistencyLevel", "").strip().lower() == "eventual"


def _advanced(request: web.Request) -> bool:
    """Advanced query: ``ConsistencyLevel: eventual`` and ``$count=true`` together."""
    return _has_eventual(request) and request.query.get("$count", "").lower() == "true"


def _offset(token: str | None) -> int:
    if not token:
        return 0
    try:
        kind, _, number = base64.urlsafe_b64decode(token.encode()).decode().partition(":")
        if kind == "offset" and number.isdigit():
            return int(number)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise GraphError(400, "Request_BadRequest", "Invalid $skiptoken.")


async def _json_body(request: web.Request, *, echo: bool = False) -> dict[str, Any]:
    try:
        body = json.loads(await request.text() or "{}")
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise GraphError(
            400, "BadRequest", "Unable to read JSON request payload.", echo_message=echo
        )
    return body


async def _id_list(request: web.Request, key: str) -> list[str]:
    ids = (await _json_body(request)).get(key)
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise GraphError(400, "Request_BadRequest", f"'{key}' must be a list of ids.")
    return ids


def _strings(values: list[str]) -> web.Response:
    return web.json_response(
        {
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#Collection(Edm.String)",
            "value": values,
        }
    )
