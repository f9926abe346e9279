"""Graph routes for directory changes: ``GET /v1.0/users/delta`` and ``PUT``/``DELETE
/v1.0/users/{id}/manager/$ref`` (behaviour in `sandbox.directory_changes`).

They are registered before `sandbox.graph_routes`' ``/v1.0/users/{user}`` so "delta" is not
taken for a user id. The token's claims, which the server's middleware checked, say who made a
manager change: a delegated token's user, or an app-only token's app.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import web

from sandbox.directory_changes import DeltaGone, DeltaPosition, delta_page
from sandbox.tenant import DEFAULT_USER_PROPERTIES, GraphError, Tenant, User, not_found

# The checked token's claims, put on each Graph request by the server's middleware.
CLAIMS: web.RequestKey[dict[str, Any]] = web.RequestKey("claims", dict)
# Query options Graph does not support on users delta (graph-roles-and-changes.md §4).
_UNSUPPORTED = ("$expand", "$top", "$orderby", "$filter", "$search", "$count")
_MANAGER_WRITE = {"User.ReadWrite.All", "Directory.ReadWrite.All"}
PERMISSIONS: dict[str, set[str]] = {
    "users_delta": {"User.Read.All", "User.ReadWrite.All", "Directory.Read.All"},
    "set_manager": _MANAGER_WRITE,
    "remove_manager": _MANAGER_WRITE,
}


class ChangeRoutes:
    """The routes over a live `Tenant` (read through *tenant* each call: reset swaps it)."""

    def __init__(self, tenant: Callable[[], Tenant], *, page_size: int = 3) -> None:
        self._tenant = tenant
        self.page_size = page_size

    def add_to(self, app: web.Application) -> None:
        r = app.router
        r.add_get("/v1.0/users/delta", self.users_delta, name="users_delta")
        ref = "/v1.0/users/{user}/manager/$ref"
        r.add_put(ref, self.set_manager, name="set_manager")
        r.add_delete(ref, self.remove_manager, name="remove_manager")

    async def users_delta(self, request: web.Request) -> web.Response:
        tenant = self._tenant()
        for option in _UNSUPPORTED:
            if option in request.query:
                raise GraphError(
                    400,
                    "Request_BadRequest",
                    f"The query parameter '{option}' is not supported with change tracking "
                    "over the 'Users' resource.",
                )
        token = request.query.get("$deltatoken") or request.query.get("$skiptoken")
        now = tenant.clock()
        if token:
            try:
                position = DeltaPosition.from_token(token, epoch=tenant.changes.epoch, now=now)
            except DeltaGone:
                raise GraphError(
                    410,
                    "resyncRequired",
                    "Resync required. Replace any local cached data with a full delta round.",
                ) from None
        else:
            position = DeltaPosition(
                "full", 0, 0, None, now, _select(request.query.get("$select")), tenant.changes.epoch
            )
        minimal = "return=minimal" in request.headers.get("Prefer", "").replace(" ", "")
        items, following, end = delta_page(
            tenant, position, page_size=self.page_size, minimal=minimal
        )
        base = f"{request.url.origin()}/v1.0/users/delta"
        body: dict[str, Any] = {
            "@odata.context": f"{request.url.origin()}/v1.0/$metadata#users"
            f"({','.join(position.select)})",
        }
        if following is not None:
            body["@odata.nextLink"] = f"{base}?$skiptoken={following.token()}"
        else:
            body["@odata.deltaLink"] = f"{base}?$deltatoken={end.token()}"
        body["value"] = items
        headers = {"Preference-Applied": "return=minimal"} if minimal else {}
        return web.json_response(body, headers=headers)

    async def set_manager(self, request: web.Request) -> web.Response:
        tenant = self._tenant()
        user = tenant.user(request.match_info["user"])
        try:
            body = await request.json()
        except ValueError:
            body = None
        reference = body.get("@odata.id") if isinstance(body, dict) else None
        if not isinstance(reference, str) or "/" not in reference:
            raise GraphError(
                400, "Request_BadRequest", "The request body must carry an '@odata.id' reference."
            )
        manager_id = reference.rstrip("/").rsplit("/", 1)[1]
        manager = tenant.users.get(manager_id)
        if manager is None:
            raise not_found(manager_id)
        if manager.id == user.id:
            raise GraphError(400, "Request_BadRequest", "A user cannot be their own manager.")
        tenant.set_manager(user.id, manager.id, **_initiator(request))
        return web.Response(status=204)

    async def remove_manager(self, request: web.Request) -> web.Response:
        tenant = self._tenant()
        user = tenant.user(request.match_info["user"])
        if user.id not in tenant.managers:
            raise not_found("manager")
        tenant.set_manager(user.id, None, **_initiator(request))
        return web.Response(status=204)


def _select(text: str | None) -> tuple[str, ...]:
    if not text:
        return DEFAULT_USER_PROPERTIES
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    known = set(User("", "", "", "", "").to_json()) | {"manager"}
    for name in names:
        if name not in known:
            raise GraphError(
                400,
                "Request_BadRequest",
                f"Could not find a property named '{name}' on type 'microsoft.graph.user'.",
            )
    return names


def _initiator(request: web.Request) -> dict[str, str]:
    """Who the token says is acting: ``by`` for a person (delegated), ``by_app`` for an app."""
    claims = request.get(CLAIMS) or {}
    if claims.get("idtyp") == "user" and claims.get("oid"):
        return {"by": str(claims["oid"])}
    return {"by_app": str(claims.get("appid") or "")}
