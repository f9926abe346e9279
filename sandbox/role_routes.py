"""The fake tenant's Graph routes for roles and the groups that carry them.

- ``GET /v1.0/roleManagement/directory/roleAssignments`` and ``…/roleEligibilityScheduleInstances``
  with ``$filter`` on ``principalId`` (``eq`` or ``in``), ``roleDefinitionId``…;
- ``GET /v1.0/users/{id}/transitiveMemberOf/microsoft.graph.group``: an advanced query, so 400
  ``Request_UnsupportedQuery`` without ``ConsistencyLevel: eventual`` and ``$count=true``; with
  them the answer carries ``@odata.count``. An app that may read users but not groups gets each
  group with its id and type only, as Graph answers for objects it may not read;
- ``GET /v1.0/groups`` (``$filter``, ``$select``, ``$expand=owners``: at most
  `EXPANDED_LIMIT` owners per group, as Graph cuts expansions short) and
  ``GET /v1.0/groups/{id}/owners``;
- ``GET /v1.0/identityGovernance/privilegedAccess/group/eligibilityScheduleInstances`` and
  ``…/assignmentScheduleInstances``: a ``$filter`` with ``principalId eq`` or ``groupId eq`` is
  required (Graph's status and body for its absence are not documented; this fake answers 400
  ``BadRequest``); ``$expand=group`` and ``$expand=principal`` work.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

from sandbox.odata import Filter, ODataError, parse_filter
from sandbox.privileged import schedule_items
from sandbox.tenant import GraphError, Group, not_found

if TYPE_CHECKING:
    from sandbox.graph_routes import GraphRoutes

# Graph cuts an expanded relationship of directory objects short; tapbot reads the owners of a
# group whose expansion reaches this on their own.
EXPANDED_LIMIT = 20
GROUP_READERS = {"GroupMember.Read.All", "Group.Read.All", "Directory.Read.All"}
# The application permissions of the request's token (set by the server's middleware).
APP_ROLES = web.RequestKey("app_roles", set[str])
_GROUP_PROPERTIES = set(Group("", "").to_json()) - {"@odata.type"}
_ADVANCED_OPERATORS = ("endswith", "ne", "not")
_PIM_GROUPS = "/v1.0/identityGovernance/privilegedAccess/group/"


class RoleRoutes:
    """Registered by `GraphRoutes.add_to`, whose query helpers (paging, filters) they share."""

    def __init__(self, graph: GraphRoutes) -> None:
        self._graph = graph

    def add_to(self, app: web.Application) -> None:
        r = app.router
        r.add_get(
            "/v1.0/roleManagement/directory/roleAssignments",
            self.role_assignments,
            name="list_role_assignments",
        )
        r.add_get(
            "/v1.0/roleManagement/directory/roleEligibilityScheduleInstances",
            self.role_eligibilities,
            name="list_role_eligibilities",
        )
        r.add_get(
            "/v1.0/users/{user}/transitiveMemberOf/microsoft.graph.group",
            self.transitive_groups,
            name="list_transitive_groups",
        )
        r.add_get("/v1.0/groups", self.groups, name="list_groups")
        r.add_get("/v1.0/groups/{group}/owners", self.owners, name="list_group_owners")
        r.add_get(
            _PIM_GROUPS + "eligibilityScheduleInstances",
            self.pim_eligibilities,
            name="list_pim_group_eligibilities",
        )
        r.add_get(
            _PIM_GROUPS + "assignmentScheduleInstances",
            self.pim_assignments,
            name="list_pim_group_assignments",
        )

    # Directory roles

    async def role_assignments(self, request: web.Request) -> web.Response:
        grants = self._graph.tenant.role_grants(eligible=False)
        items = self._graph.filtered(request, grants)
        return self._graph.page(request, items, "roleManagement/directory/roleAssignments")

    async def role_eligibilities(self, request: web.Request) -> web.Response:
        grants = self._graph.tenant.role_grants(eligible=True)
        items = self._graph.filtered(request, grants)
        return self._graph.page(
            request, items, "roleManagement/directory/roleEligibilityScheduleInstances"
        )

    # Groups

    async def transitive_groups(self, request: web.Request) -> web.Response:
        if not _advanced(request):
            raise GraphError(
                400,
                "Request_UnsupportedQuery",
                "The specified type cast 'microsoft.graph.group' is not supported because the "
                "required parameters might be missing. Try adding $count=true query parameter "
                "and ConsistencyLevel:eventual header. Refer to "
                "https://aka.ms/graph-docs/advanced-queries for more information",
            )
        tenant = self._graph.tenant
        user = tenant.user(request.match_info["user"])
        groups = sorted(tenant.groups_of(user.id))
        items = self._groups_filtered(request, [tenant.groups[g].to_json() for g in groups])
        if not GROUP_READERS & request.get(APP_ROLES, set()):
            # Graph's answer for objects the app may not read: type and id, the rest null.
            items = [
                {k: v if k in ("@odata.type", "id") else None for k, v in i.items()} for i in items
            ]
        items = [_selected(request, i) for i in items]
        return self._graph.page(request, items, "groups")

    async def groups(self, request: web.Request) -> web.Response:
        tenant = self._graph.tenant
        everyone = [g.to_json() for g in sorted(tenant.groups.values(), key=lambda g: g.id)]
        found = self._groups_filtered(request, everyone)
        expand = request.query.get("$expand", "")
        items = []
        for item in found:
            shown = _selected(request, item)
            if expand:
                if expand.split("(", 1)[0] != "owners":
                    raise GraphError(
                        400, "Request_BadRequest", f"Expand '{expand}' is not supported here."
                    )
                owners = sorted(tenant.owners_now(item["id"]))[:EXPANDED_LIMIT]
                shown["owners"] = [_owner(o) for o in owners]
            items.append(shown)
        return self._graph.page(request, items, "groups")

    async def owners(self, request: web.Request) -> web.Response:
        tenant = self._graph.tenant
        group_id = request.match_info["group"]
        if group_id not in tenant.groups:
            raise not_found(group_id)
        items = [_owner(o) for o in sorted(tenant.owners_now(group_id))]
        return self._graph.page(request, items, "directoryObjects")

    def _groups_filtered(
        self, request: web.Request, items: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        query = _filter(request)
        if query is None:
            return items
        if any(op in _ADVANCED_OPERATORS for _, op in query.uses) and not _advanced(request):
            raise GraphError(
                400,
                "Request_UnsupportedQuery",
                "Operators 'ne', 'not' and 'endswith' on groups need an advanced query: add "
                "$count=true and the ConsistencyLevel:eventual header.",
            )
        return [item for item in items if query(item)]

    # PIM for Groups

    async def pim_eligibilities(self, request: web.Request) -> web.Response:
        return self._schedules(request, eligible=True)

    async def pim_assignments(self, request: web.Request) -> web.Response:
        return self._schedules(request, eligible=False)

    def _schedules(self, request: web.Request, *, eligible: bool) -> web.Response:
        query = _filter(request)
        if query is None or not (
            query.operators_on("principalId") | query.operators_on("groupId")
        ) & {"eq"}:
            raise GraphError(
                400,
                "BadRequest",
                "The request needs a $filter on principalId or groupId with the eq operator.",
            )
        tenant = self._graph.tenant
        items = [i for i in schedule_items(tenant, eligible=eligible) if query(i)]
        expand = {e.strip() for e in request.query.get("$expand", "").split(",") if e.strip()}
        for item in items:
            if "group" in expand:
                item["group"] = tenant.groups[item["groupId"]].to_json()
            if "principal" in expand:
                principal = item["principalId"]
                item["principal"] = (
                    tenant.groups[principal].to_json()
                    if principal in tenant.groups
                    else _owner(principal)
                )
        kind = "eligibilityScheduleInstances" if eligible else "assignmentScheduleInstances"
        return self._graph.page(request, items, f"identityGovernance/privilegedAccess/group/{kind}")


def _filter(request: web.Request) -> Filter | None:
    text = request.query.get("$filter")
    if not text:
        return None
    try:
        return parse_filter(text)
    except ODataError as exc:
        raise GraphError(400, "BadRequest", f"Invalid filter clause: {exc}") from None


def _advanced(request: web.Request) -> bool:
    eventual = request.headers.get("ConsistencyLevel", "").strip().lower() == "eventual"
    return eventual and request.query.get("$count", "").lower() == "true"


def _selected(request: web.Request, item: dict[str, Any]) -> dict[str, Any]:
    text = request.query.get("$select")
    if not text:
        return item
    names = [n.strip() for n in text.split(",") if n.strip()]
    for name in names:
        if name not in _GROUP_PROPERTIES:
            raise GraphError(
                400,
                "Request_BadRequest",
                f"Could not find a property named '{name}' on type 'microsoft.graph.group'.",
            )
    return {"@odata.type": item["@odata.type"]} | {name: item[name] for name in names}


def _owner(user_id: str) -> dict[str, Any]:
    return {"@odata.type": "#microsoft.graph.user", "id": user_id}
