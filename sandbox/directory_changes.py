"""The fake tenant's directory changes: the users delta query, manager references and the audit
events they write, service principals, and the audit log's latency.

Behaviour (graph-roles-and-changes.md §4, §6; graph-and-bot-framework.md §3.3):

- ``GET /users/delta``: ``$select`` on the first call only, kept inside the links' opaque
  tokens; ``$expand``, ``$top``, ``$orderby`` and ``$filter`` are 400. A full round lists every
  user, then ``@odata.deltaLink`` (``$deltatoken``); a later round lists the users changed since
  plus `DELTA_REPLAY` already delivered (Graph replays). ``manager@delta`` is
  ``[{"@odata.type": "#microsoft.graph.user", "id": …}]`` when the user has a manager; a removed
  manager is simply absent (the one public report). A deleted user is ``{"id", "@removed":
  {"reason": "changed"}}``. ``Prefer: return=minimal`` keeps only the changed properties. A
  token older than `DELTA_LINK_LIFETIME`, or from before a reseed, is 410 ``resyncRequired``.
- ``PUT /users/{id}/manager/$ref`` (``{"@odata.id": ".../users/{manager}"}``) and ``DELETE``:
  204, and a "Set user manager" audit event initiated by the token's user (delegated) or app.
- Every audit event becomes visible `Tenant.audit_delay` after it happened, as Entra's lag.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sandbox.tenant import Tenant, User

DELTA_LINK_LIFETIME = timedelta(days=7)
DELTA_REPLAY = 1
ALL_PROPERTIES = frozenset({"*"})
USER_ODATA_TYPE = "#microsoft.graph.user"
VISIBLE_AT = "_visibleAt"  # kept beside each audit event, never served


@dataclass(frozen=True, slots=True)
class ServicePrincipal:
    """An app as the tenant knows it: its service principal id, app id and name."""

    id: str
    app_id: str
    display_name: str


@dataclass
class ChangeLog:
    """Which users changed, in order, with the properties that changed ("*": all of them).

    *epoch* changes with every seed, so links from before a reseed are no longer accepted.
    """

    epoch: str = field(default_factory=lambda: uuid.uuid4().hex)
    entries: list[tuple[str, frozenset[str]]] = field(default_factory=list)

    def touch(self, user_id: str, properties: frozenset[str] = ALL_PROPERTIES) -> None:
        self.entries.append((user_id, properties))


class DeltaGone(Exception):
    """The delta token cannot be used any more (410)."""


@dataclass(frozen=True, slots=True)
class DeltaPosition:
    """Where a delta link points: a full round or the changes after *since*, *offset* users in,
    with the changes up to *until* (None: as many as there are when the round starts)."""

    kind: str
    since: int
    offset: int
    until: int | None
    issued: datetime
    select: tuple[str, ...]
    epoch: str

    def token(self) -> str:
        body = {
            "e": self.epoch,
            "k": self.kind,
            "s": self.since,
            "o": self.offset,
            "u": self.until,
            "i": self.issued.isoformat(),
            "sel": list(self.select),
        }
        return base64.urlsafe_b64encode(json.dumps(body).encode()).decode().rstrip("=")

    @classmethod
    def from_token(cls, token: str, *, epoch: str, now: datetime) -> DeltaPosition:
        """Decode *token*; DeltaGone when it is unreadable, from another seed or expired."""
        try:
            padded = token + "=" * (-len(token) % 4)
            body = json.loads(base64.urlsafe_b64decode(padded.encode()))
            position = cls(
                kind=str(body["k"]),
                since=int(body["s"]),
                offset=int(body["o"]),
                until=None if body.get("u") is None else int(body["u"]),
                issued=datetime.fromisoformat(body["i"]),
                select=tuple(str(s) for s in body["sel"]),
                epoch=str(body["e"]),
            )
        except (binascii.Error, ValueError, KeyError, TypeError) as exc:
            raise DeltaGone("unreadable token") from exc
        if position.epoch != epoch or now - position.issued > DELTA_LINK_LIFETIME:
            raise DeltaGone("expired token")
        return position


def delta_page(
    tenant: Tenant,
    position: DeltaPosition,
    *,
    page_size: int,
    minimal: bool,
) -> tuple[list[dict[str, Any]], DeltaPosition | None, DeltaPosition]:
    """The items of the page at *position*, the next page's position (None on the last page)
    and the position the delta link at this round's end points to."""
    log = tenant.changes
    until = len(log.entries) if position.until is None else position.until
    if position.kind == "full":
        ids = sorted(tenant.users)
        changed: dict[str, frozenset[str]] = dict.fromkeys(ids, ALL_PROPERTIES)
    else:
        changed = {}
        for user_id, properties in log.entries[max(0, position.since - DELTA_REPLAY) : until]:
            changed[user_id] = changed.get(user_id, frozenset()) | properties
        ids = list(changed)
    page_ids = ids[position.offset : position.offset + page_size]
    items = [_item(tenant, uid, position.select, changed[uid], minimal=minimal) for uid in page_ids]
    now = tenant.clock()
    following = None
    if position.offset + page_size < len(ids):
        following = DeltaPosition(
            position.kind,
            position.since,
            position.offset + page_size,
            until,
            now,
            position.select,
            log.epoch,
        )
    end = DeltaPosition("delta", until, 0, None, now, position.select, log.epoch)
    return items, following, end


def _item(
    tenant: Tenant, user_id: str, select: tuple[str, ...], changed: frozenset[str], *, minimal: bool
) -> dict[str, Any]:
    user = tenant.users.get(user_id)
    if user is None:
        return {"id": user_id, "@removed": {"reason": "changed"}}
    everything = "*" in changed
    full = user.to_json()
    item: dict[str, Any] = {"id": user.id}
    for name in select:
        if name not in ("id", "manager") and (not minimal or everything or name in changed):
            item[name] = full[name]
    manager = tenant.managers.get(user.id)
    if (
        "manager" in select
        and manager is not None
        and (not minimal or everything or "manager" in changed)
    ):
        item["manager@delta"] = [{"@odata.type": USER_ODATA_TYPE, "id": manager}]
    return item


# Audit events


def initiated_by(tenant: Tenant, *, user_id: str = "", app_id: str = "") -> dict[str, Any]:
    """``initiatedBy`` for a person (*user_id*) or an app (*app_id*), or nobody."""
    person = tenant.users.get(user_id) if user_id else None
    if person is not None:
        return {
            "user": {
                "id": person.id,
                "displayName": person.display_name,
                "userPrincipalName": person.user_principal_name,
                "ipAddress": "127.0.0.1",
                "userType": person.user_type,
            },
            "app": None,
        }
    if app_id:
        principal = tenant.service_principals.get(app_id) or ServicePrincipal(
            str(uuid.uuid5(uuid.NAMESPACE_URL, app_id)), app_id, app_id
        )
        return {
            "user": None,
            "app": {
                "appId": principal.app_id,
                "displayName": principal.display_name,
                "servicePrincipalId": principal.id,
                "servicePrincipalName": principal.display_name,
            },
        }
    return {"user": None, "app": None}


def audit_target(user: User, old: str | None, new: str | None, *, manager: bool) -> dict[str, Any]:
    """A user among an event's ``targetResources``; with *manager*, carrying the
    ``Manager.ObjectID`` modified property (values JSON-encoded, facts §6)."""
    properties = []
    if manager:
        properties.append(
            {
                "displayName": "Manager.ObjectID",
                "oldValue": json.dumps(old) if old else None,
                "newValue": json.dumps(new) if new else None,
            }
        )
    return {
        "id": user.id,
        "displayName": user.display_name,
        "type": "User",
        "userPrincipalName": user.user_principal_name,
        "modifiedProperties": properties,
    }


def audit_event(
    tenant: Tenant,
    activity: str,
    targets: list[dict[str, Any]],
    *,
    at: datetime,
    initiator: dict[str, Any],
    operation: str,
    correlation_id: str | None = None,
) -> dict[str, Any]:
    """Append a Core Directory UserManagement event, visible after the tenant's audit delay."""
    from sandbox.tenant import graph_time

    event = {
        "id": f"Directory_{uuid.uuid4()}",
        "category": "UserManagement",
        "correlationId": correlation_id or str(uuid.uuid4()),
        "result": "success",
        "resultReason": "",
        "activityDisplayName": activity,
        "activityDateTime": graph_time(at),
        "loggedByService": "Core Directory",
        "operationType": operation,
        "initiatedBy": initiator,
        "targetResources": targets,
        "additionalDetails": [],
        VISIBLE_AT: graph_time(at + tenant.audit_delay),
    }
    tenant.audits.append(event)
    return event


def visible_audits(tenant: Tenant) -> list[dict[str, Any]]:
    """The audit events Graph would show now: those past their delay, without our own keys."""
    from sandbox.tenant import graph_time

    now = graph_time(tenant.clock())
    return [
        {k: v for k, v in event.items() if not k.startswith("_")}
        for event in tenant.audits
        if event.get(VISIBLE_AT, "") <= now
    ]
