"""`GraphClient`: the Microsoft Graph calls tapbot makes, typed, paged, retried, translated.

It receives its `httpx.AsyncClient` (one pooled client per process, built by the composition
root) and an optional `httpx.Auth` for the bearer token, so tests hand it a MockTransport.
Requests go through `GraphHttp`, whose docstring states the retry policy, including why a pass
creation or a mail is not sent twice. Answers become domain values (`bot.graph.parse`); errors
become `DirectoryError`s (`bot.graph.errors`).
"""

from __future__ import annotations

import asyncio
import random as random_module
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar

import httpx
import structlog

from bot.domain.errors import (
    DirectoryDeltaExpired,
    DirectoryObjectNotFound,
    DirectoryRejected,
    DirectoryUnavailable,
)
from bot.domain.joiners import Joiner
from bot.domain.manager_changes import newest_first
from bot.domain.model import (
    AccountCreation,
    DirectoryUser,
    IssuedPass,
    MailMessage,
    ManagerChange,
    PassInfo,
    RoleAssignment,
    RoleAssignmentKind,
    TapPolicy,
    UsersDeltaPage,
)
from bot.graph import changes as audit_parse
from bot.graph import parse, privilege
from bot.graph.errors import INVALID_RESPONSE, safe_text
from bot.graph.http import GraphHttp, Json, json_object
from bot.graph.privilege import GroupSchedule, HeldRole, RoleGroup

log = structlog.get_logger(__name__)

T = TypeVar("T")
ADVANCED_QUERY = {"ConsistencyLevel": "eventual"}
CHECK_MEMBER_BATCH = 20  # checkMemberGroups / checkMemberObjects take at most 20 ids
# Graph documents no longest `in (...)` list for role assignments; 15 is the limit it enforces
# on other directory filters, so lists are cut there.
IN_BATCH = 15
MAX_PAGE_SIZE = 999
_ROLE_COLLECTIONS = {
    RoleAssignmentKind.ACTIVE: "roleAssignments",
    RoleAssignmentKind.ELIGIBLE: "roleEligibilityScheduleInstances",
}
_GROUP_SCHEDULES = {False: "assignmentScheduleInstances", True: "eligibilityScheduleInstances"}
# What the users delta query selects: the id comes anyway; the manager is what tapbot tracks.
USERS_DELTA_SELECT = "id,manager"


class GraphClient:
    """Typed Microsoft Graph calls on top of an injected `httpx.AsyncClient`.

    *base_url* is Graph's versioned root (``https://graph.microsoft.com/v1.0``); the other
    options are `GraphHttp`'s. Every method raises only `DirectoryError`s.
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        base_url: str,
        auth: httpx.Auth | None = None,
        max_retries: int = 4,
        max_retry_wait: float = 30.0,
        backoff_base: float = 0.5,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        random: Callable[[], float] = random_module.random,
    ) -> None:
        self._graph = GraphHttp(
            http,
            base_url=base_url,
            auth=auth,
            max_retries=max_retries,
            max_retry_wait=max_retry_wait,
            backoff_base=backoff_base,
            sleep=sleep,
            random=random,
        )

    # Users and the org chart

    async def get_user(self, user_id: str) -> DirectoryUser:
        """Return user *user_id* (object id or UPN); DirectoryObjectNotFound if none."""
        url = self._url("users", user_id, params={"$select": parse.USER_SELECT})
        body = await self._get("get user", url)
        return self._parsed(parse.directory_user, body)

    async def get_manager(self, user_id: str) -> DirectoryUser | None:
        """Return *user_id*'s manager, or None when Graph answers 404 (no manager, or no user)."""
        try:
            url = self._url("users", user_id, "manager", params={"$select": parse.USER_SELECT})
            body = await self._get("get manager", url)
        except DirectoryObjectNotFound:
            return None
        return self._parsed(parse.directory_user, body)

    async def list_direct_reports(self, user_id: str) -> list[DirectoryUser]:
        """Return every direct report of *user_id* that is a user (contacts are skipped)."""
        url = self._url("users", user_id, "directReports", params={"$select": parse.USER_SELECT})
        return await self._users("list direct reports", url)

    async def list_sponsors(self, user_id: str) -> list[DirectoryUser]:
        """Return the users sponsoring guest *user_id* (sponsor groups are skipped)."""
        url = self._url("users", user_id, "sponsors", params={"$select": parse.USER_SELECT})
        return await self._users("list sponsors", url)

    async def search_users(self, text: str, *, limit: int = 20) -> list[DirectoryUser]:
        """Return up to *limit* users whose display name, given name, surname, UPN or mail
        starts with *text* (case-insensitive), sorted by display name.

        This uses ``$filter`` with ``startswith``, which Graph supports on these properties
        without advanced-query headers. ``$search`` would also match words inside a name, but
        it is eventually consistent (a joiner created minutes ago may be missing) and its
        tokenising is not a prefix rule; the Directory port promises "starts with".
        """
        text = text.strip()
        if not text or limit < 1:
            return []
        literal = parse.odata_string(text)
        clauses = " or ".join(
            f"startswith({field},{literal})"
            for field in ("displayName", "givenName", "surname", "userPrincipalName", "mail")
        )
        params = {
            "$filter": clauses,
            "$select": parse.USER_SELECT,
            "$top": str(min(limit, MAX_PAGE_SIZE)),
        }
        users = await self._users("search users", self._url("users", params=params), limit=limit)
        return sorted(users, key=lambda u: (u.display_name.casefold(), u.id))

    async def iter_joiners(
        self,
        hired_from: datetime,
        hired_until: datetime,
        *,
        departments: Sequence[str] = (),
        companies: Sequence[str] = (),
    ) -> AsyncIterator[Joiner]:
        """Yield enabled members whose employeeHireDate is in [*hired_from*, *hired_until*]
        (both inclusive), optionally only of *departments* and *companies*.

        One ``$filter`` does all of it: employeeHireDate is filterable only with
        ``ConsistencyLevel: eventual`` and ``$count=true`` (sent again on every
        ``@odata.nextLink``), and only with ge/le. Pages of up to 999 are read one at a time,
        as the caller asks for more. A hire date Graph sends but we cannot read does not stop
        the listing: that joiner comes with ``employee_hire_date=None`` and the text.
        """
        clauses = [
            f"employeeHireDate ge {parse.odata_datetime(hired_from)}",
            f"employeeHireDate le {parse.odata_datetime(hired_until)}",
            "accountEnabled eq true",
            "userType eq 'Member'",
        ]
        for name, wanted in (("department", departments), ("companyName", companies)):
            if wanted:
                literals = ",".join(parse.odata_string(v) for v in dict.fromkeys(wanted))
                clauses.append(f"{name} in ({literals})")
        params = {
            "$filter": " and ".join(clauses),
            "$count": "true",
            "$select": parse.JOINER_SELECT,
            "$top": str(MAX_PAGE_SIZE),
        }
        url = self._url("users", params=params)
        async for page in self._graph.pages("list joiners", url, ADVANCED_QUERY):
            for item in page:
                if parse.is_user(item):
                    yield self._parsed(parse.joiner, item)

    # Group and role membership

    async def check_member_groups(self, user_id: str, group_ids: Sequence[str]) -> set[str]:
        """Return the subset of *group_ids* *user_id* is a transitive member of."""
        return await self._check_members("checkMemberGroups", "groupIds", user_id, group_ids)

    async def check_member_objects(self, user_id: str, object_ids: Sequence[str]) -> set[str]:
        """Return the subset of *object_ids* (groups, administrative units, directory roles or
        role template ids) *user_id* is a transitive member of."""
        return await self._check_members("checkMemberObjects", "ids", user_id, object_ids)

    async def list_group_members(self, group_id: str, *, limit: int = 100) -> list[str]:
        """Return the ids of up to *limit* users in *group_id*, transitively (nested groups'
        members too). The cast to users is an advanced query."""
        params = {"$select": "id", "$count": "true", "$top": str(min(max(limit, 1), 999))}
        url = self._url(
            "groups", group_id, "transitiveMembers", "microsoft.graph.user", params=params
        )
        items = await self._collect("list group members", url, ADVANCED_QUERY, limit=limit)
        return [str(item["id"]) for item in items if isinstance(item.get("id"), str)]

    async def list_active_role_assignments(self, user_id: str) -> list[RoleAssignment]:
        """Return the directory roles assigned to *user_id* directly and active now."""
        held = await self.list_roles_held_by([user_id], RoleAssignmentKind.ACTIVE)
        return [h.role for h in held]

    async def list_eligible_role_assignments(self, user_id: str) -> list[RoleAssignment]:
        """Return the directory roles *user_id* may activate through PIM."""
        held = await self.list_roles_held_by([user_id], RoleAssignmentKind.ELIGIBLE)
        return [h.role for h in held]

    async def list_roles_held_by(
        self, principal_ids: Sequence[str], kind: RoleAssignmentKind
    ) -> list[HeldRole]:
        """Return the role assignments (ACTIVE) or eligibility instances (ELIGIBLE) whose
        principal is one of *principal_ids* (users or groups, by object id).

        One id is asked with ``eq``, more with ``in`` lists of `IN_BATCH`, concurrently; none
        costs no call.
        """
        wanted = list(dict.fromkeys(principal_ids))
        batches = [wanted[i : i + IN_BATCH] for i in range(0, len(wanted), IN_BATCH)]

        async def one(batch: list[str]) -> list[HeldRole]:
            literals = [parse.odata_string(p) for p in batch]
            clause = (
                f"principalId eq {literals[0]}"
                if len(literals) == 1
                else f"principalId in ({','.join(literals)})"
            )
            params = {"$filter": clause}
            url = self._url("roleManagement", "directory", _ROLE_COLLECTIONS[kind], params=params)
            items = await self._collect(f"list {kind} roles", url)
            return [self._parsed(privilege.held_role, item, kind) for item in items]

        found = await _all_of([one(batch) for batch in batches])
        return [held for batch in found for held in batch]

    async def list_group_ids_of(self, user_id: str) -> set[str]:
        """Return the ids of every group *user_id* is an active member of, transitively.

        Graph takes the cast to groups only as an advanced query (``ConsistencyLevel:
        eventual`` and ``$count=true``), so it reads an index that may lag changes by a little.
        """
        params = {
            "$count": "true",
            "$select": "id,displayName,isAssignableToRole",
            "$top": str(MAX_PAGE_SIZE),
        }
        url = self._url(
            "users", user_id, "transitiveMemberOf", "microsoft.graph.group", params=params
        )
        items = await self._collect("list group memberships", url, ADVANCED_QUERY)
        ids = (self._parsed(privilege.group_id, item) for item in items)
        return {i for i in ids if i is not None}

    async def list_role_assignable_groups(self) -> list[RoleGroup]:
        """Return the tenant's role-assignable groups (at most 500) with their owners."""
        params = {
            "$filter": "isAssignableToRole eq true",
            "$select": "id,displayName",
            "$expand": "owners($select=id)",
            "$top": str(MAX_PAGE_SIZE),
        }
        items = await self._collect(
            "list role-assignable groups", self._url("groups", params=params)
        )
        return [self._parsed(privilege.role_group, item) for item in items]

    async def list_group_owner_ids(self, group_id: str) -> set[str]:
        """Return the ids of every owner of group *group_id*."""
        params = {"$select": "id", "$top": str(MAX_PAGE_SIZE)}
        items = await self._collect(
            "list group owners", self._url("groups", group_id, "owners", params=params)
        )
        return {self._parsed(parse.object_id, item) for item in items}

    async def list_group_schedules(
        self, *, eligible: bool, principal_id: str | None = None, group_id: str | None = None
    ) -> list[GroupSchedule]:
        """Return PIM for Groups eligibility (*eligible*) or assignment schedule instances
        whose principal is *principal_id*, or whose group is *group_id* (Graph requires one).
        """
        if (principal_id is None) == (group_id is None):
            raise ValueError("give exactly one of principal_id and group_id")
        clause = (
            f"principalId eq {parse.odata_string(principal_id)}"
            if principal_id is not None
            else f"groupId eq {parse.odata_string(group_id or '')}"
        )
        url = self._url(
            "identityGovernance",
            "privilegedAccess",
            "group",
            _GROUP_SCHEDULES[eligible],
            params={"$filter": clause},
        )
        operation = f"list group {'eligibilities' if eligible else 'assignments'}"
        items = await self._collect(operation, url)
        return [self._parsed(privilege.group_schedule, item, eligible=eligible) for item in items]

    # Audit and the users delta

    async def list_manager_changes(
        self, user_id: str, since: datetime, until: datetime | None = None
    ) -> list[ManagerChange]:
        """Return the "Set user manager" audit events that changed *user_id*'s manager in
        [*since*, *until*], newest first (see `bot.graph.changes.manager_change`: events about
        *user_id* whose shape is not understood come back unreadable, never dropped)."""
        items = await self._audits(
            "list manager changes", audit_parse.MANAGER_SET, user_id, since, until
        )
        found = [audit_parse.manager_change(item, user_id) for item in items]
        return newest_first([change for change in found if change is not None])

    async def find_account_creation(self, user_id: str, since: datetime) -> AccountCreation | None:
        """Return the newest readable "Add user" audit event for *user_id* since *since*."""
        items = await self._audits(
            "find account creation", audit_parse.USER_ADDED, user_id, since, None
        )
        found = [audit_parse.account_creation(item, user_id) for item in items]
        return max((c for c in found if c is not None), key=lambda c: c.created_at, default=None)

    async def _audits(
        self,
        operation: str,
        activity: str,
        user_id: str,
        since: datetime,
        until: datetime | None,
    ) -> list[Json]:
        clause = (
            f"activityDisplayName eq {parse.odata_string(activity)}"
            f" and activityDateTime ge {parse.odata_datetime(since)}"
        )
        if until is not None:
            clause += f" and activityDateTime le {parse.odata_datetime(until)}"
        clause += f" and targetResources/any(t:t/id eq {parse.odata_string(user_id)})"
        params = {"$filter": clause, "$orderby": "activityDateTime desc"}
        url = self._url("auditLogs", "directoryAudits", params=params)
        return await self._collect(operation, url)

    async def users_delta_page(self, link: str | None) -> UsersDeltaPage:
        """Read one page of ``GET /users/delta?$select=id,manager``: the first page of a new
        round when *link* is None, else *link* (a next or delta link; ``$select`` travels
        inside it). DirectoryDeltaExpired when Graph answers 410 Gone or *link* does not point
        at this Graph endpoint (a saved link from another configuration)."""
        if link is None:
            url = self._url("users", "delta", params={"$select": USERS_DELTA_SELECT})
        elif self._graph.is_graph_link(link):
            url = link
        else:
            raise DirectoryDeltaExpired("users delta: the saved link is not for this Graph")
        try:
            body = await self._get("read users delta", url)
        except DirectoryRejected as exc:
            if exc.status != 410:
                raise
            raise DirectoryDeltaExpired(str(exc), code=exc.code, status=410) from exc
        page = self._parsed(audit_parse.users_delta_page, body)
        for next_link in (page.next_link, page.delta_link):
            if next_link is not None and not self._graph.is_graph_link(next_link):
                raise DirectoryUnavailable(
                    "Graph read users delta: unusable next or delta link", code=INVALID_RESPONSE
                )
        return page

    # Temporary Access Passes

    async def get_tap_policy(self) -> TapPolicy:
        """Return the tenant's Temporary Access Pass policy."""
        url = self._url(
            "policies",
            "authenticationMethodsPolicy",
            "authenticationMethodConfigurations",
            "TemporaryAccessPass",
        )
        return self._parsed(parse.tap_policy, await self._get("get TAP policy", url))

    async def list_passes(self, user_id: str) -> list[PassInfo]:
        """Return *user_id*'s Temporary Access Passes (values are never listed)."""
        url = self._url("users", user_id, "authentication", "temporaryAccessPassMethods")
        items = await self._collect("list passes", url)
        return [self._parsed(parse.pass_info, item, user_id) for item in items]

    async def create_pass(
        self,
        user_id: str,
        *,
        lifetime_minutes: int,
        is_usable_once: bool,
        start_at: datetime | None,
    ) -> IssuedPass:
        """Create a pass for *user_id*, replacing any existing one (Entra keeps one per user).

        Not retried once sent (see the module docstring): a timeout or dropped connection
        raises DirectoryUnavailable with code `OUTCOME_UNKNOWN`. DirectoryRejected carries
        Graph's code when the policy forbids the parameters or the user.
        """
        url = self._url("users", user_id, "authentication", "temporaryAccessPassMethods")
        body = parse.pass_request_body(
            lifetime_minutes=lifetime_minutes, is_usable_once=is_usable_once, start_at=start_at
        )
        response = await self._send("create pass", "POST", url, json=body, idempotent=False)
        item = json_object(response, "create pass")
        try:
            return parse.issued_pass(item, user_id)
        except parse.InvalidResponse as exc:
            # A pass that exists but whose value we cannot read must not stay valid.
            if isinstance(item.get("id"), str):
                await self._delete_quietly(user_id, item["id"])
            raise DirectoryUnavailable(
                f"Graph create pass: unreadable answer ({exc})", code=INVALID_RESPONSE, status=201
            ) from exc

    async def delete_pass(self, user_id: str, pass_id: str) -> None:
        """Delete pass *pass_id* of *user_id*; DirectoryObjectNotFound if either is gone."""
        url = self._url("users", user_id, "authentication", "temporaryAccessPassMethods", pass_id)
        await self._send("delete pass", "DELETE", url, idempotent=True)

    async def _delete_quietly(self, user_id: str, pass_id: str) -> None:
        try:
            await self.delete_pass(user_id, pass_id)
        except DirectoryObjectNotFound:
            pass
        except Exception:  # the caller raises the original problem; this is best effort
            log.warning("could not delete an unreadable new pass", user_id=user_id)

    # Mail and Teams apps

    async def send_mail(self, message: MailMessage) -> None:
        """Send *message* from mailbox ``message.sender``; Graph accepts it with 202.

        Not retried once sent: a repeat could deliver the mail twice.
        """
        url = self._url("users", message.sender, "sendMail")
        await self._send("send mail", "POST", url, json=parse.mail_body(message), idempotent=False)

    async def find_app_installation(self, user_id: str, teams_app_id: str) -> str | None:
        """Return the id of the Teams app *teams_app_id*'s installation in *user_id*'s personal
        scope, or None when it is not installed."""
        params = {
            "$expand": "teamsApp",
            "$filter": f"teamsApp/id eq {parse.odata_string(teams_app_id)}",
        }
        url = self._url("users", user_id, "teamwork", "installedApps", params=params)
        for item in await self._collect("list installed apps", url):
            app = item.get("teamsApp")
            if isinstance(app, Mapping) and app.get("id") not in (None, teams_app_id):
                continue  # a server that ignored the filter
            if isinstance(item.get("id"), str):
                return str(item["id"])
        return None

    async def install_app(self, user_id: str, teams_app_id: str) -> None:
        """Install the Teams app for *user_id*; already installed (409) is success."""
        url = self._url("users", user_id, "teamwork", "installedApps")
        body = {"teamsApp@odata.bind": f"{self._graph.base}/appCatalogs/teamsApps/{teams_app_id}"}
        try:
            await self._send("install app", "POST", url, json=body, idempotent=True)
        except DirectoryRejected as exc:
            if exc.status != 409:
                raise

    async def get_installation_chat(self, user_id: str, installation_id: str) -> str:
        """Return the id of the 1:1 chat of app installation *installation_id* of *user_id*."""
        url = self._url("users", user_id, "teamwork", "installedApps", installation_id, "chat")
        chat_id = (await self._get("get installation chat", url)).get("id")
        if not isinstance(chat_id, str) or not chat_id:
            raise DirectoryUnavailable(
                "Graph get installation chat: answer has no chat id", code=INVALID_RESPONSE
            )
        return chat_id

    # Plumbing

    def _url(self, *segments: str, params: Mapping[str, str] | None = None) -> str:
        return self._graph.url(*segments, params=params)

    async def _get(self, operation: str, url: str) -> Json:
        return await self._graph.get_json(operation, url)

    async def _collect(
        self,
        operation: str,
        url: str,
        headers: Mapping[str, str] | None = None,
        *,
        limit: int | None = None,
    ) -> list[Json]:
        return await self._graph.collect(operation, url, headers, limit=limit)

    async def _send(
        self, operation: str, method: str, url: str, *, json: Any = None, idempotent: bool
    ) -> httpx.Response:
        return await self._graph.send(operation, method, url, json=json, idempotent=idempotent)

    async def _users(
        self,
        operation: str,
        url: str,
        headers: Mapping[str, str] | None = None,
        *,
        limit: int | None = None,
    ) -> list[DirectoryUser]:
        items = await self._collect(operation, url, headers, limit=limit)
        return [self._parsed(parse.directory_user, i) for i in items if parse.is_user(i)]

    async def _check_members(
        self, action: str, key: str, user_id: str, ids: Sequence[str]
    ) -> set[str]:
        wanted = list(dict.fromkeys(ids))
        batches = [
            wanted[i : i + CHECK_MEMBER_BATCH] for i in range(0, len(wanted), CHECK_MEMBER_BATCH)
        ]
        url = self._url("users", user_id, action)

        async def one(batch: list[str]) -> list[str]:
            # A read despite the POST: safe to repeat.
            response = await self._send(action, "POST", url, json={key: batch}, idempotent=True)
            values = json_object(response, action).get("value")
            if not isinstance(values, list):
                raise DirectoryUnavailable(
                    f"Graph {action}: answer has no value list", code=INVALID_RESPONSE
                )
            return [v for v in values if isinstance(v, str)]

        found = await asyncio.gather(*(one(batch) for batch in batches))
        return {member for batch in found for member in batch} & set(wanted)

    @staticmethod
    def _parsed(parser: Callable[..., T], item: Json, *args: Any, **kwargs: Any) -> T:
        try:
            return parser(item, *args, **kwargs)
        except parse.InvalidResponse as exc:
            raise DirectoryUnavailable(
                f"Graph returned an unreadable object: {safe_text(str(exc))}",
                code=INVALID_RESPONSE,
            ) from exc


async def _all_of(calls: Sequence[Awaitable[T]]) -> list[T]:
    """Await *calls* concurrently; every one finishes before the first failure is raised."""
    results = await asyncio.gather(*calls, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return results  # type: ignore[return-value]  # no exceptions left, only Ts
