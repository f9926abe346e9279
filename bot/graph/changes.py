"""Directory audit events and users delta pages, as domain values.

Entra documents neither the targets nor the modified properties of "Set user manager"
(graph-roles-and-changes.md §4), so `manager_change` reads the shapes seen in practice and
never drops an event about the person it cannot read: such an event comes back with
``readable=False`` and counts as a change of unknown origin. Only an event that positively
concerns someone else (the person is the *new manager* in it) or that failed is left out.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from bot.domain.model import (
    AccountCreation,
    Actor,
    ActorKind,
    ManagerChange,
    ManagerSighting,
    UsersDeltaPage,
)
from bot.graph.parse import InvalidResponse, utc_datetime

MANAGER_SET = "Set user manager"
USER_ADDED = "Add user"
# The modified property naming the manager, as audit exports show it.
_MANAGER_PROPERTIES = frozenset({"manager.objectid", "manager"})
_UNKNOWN = object()


def actor(raw: object) -> Actor | None:
    """``initiatedBy`` as an `Actor`: the person when one is named (a person involved is never
    taken for an app), else the app; None when it names neither readably."""
    if not isinstance(raw, Mapping):
        return None
    user, app = raw.get("user"), raw.get("app")
    if isinstance(user, Mapping) and _text(user.get("id")):
        name = _text(user.get("displayName")) or _text(user.get("userPrincipalName"))
        return Actor(ActorKind.USER, str(user["id"]), name or "")
    if isinstance(app, Mapping):
        app_id = _text(app.get("appId"))
        principal = _text(app.get("servicePrincipalId")) or app_id
        if principal:
            name = _text(app.get("displayName")) or _text(app.get("servicePrincipalName"))
            return Actor(ActorKind.APP, principal, name or "", app_id=app_id or None)
    return None


def manager_change(item: Mapping[str, Any], user_id: str) -> ManagerChange | None:
    """A "Set user manager" directoryAudit as a `ManagerChange` of *user_id*'s manager.

    None when the event is not a change of *user_id*'s manager: it failed (``result``
    "failure"), *user_id* is not among its targets (a server that ignored the filter), or it
    shows *user_id* as the new manager of someone else. Shapes read:

    - a target carrying a ``Manager.ObjectID`` (or ``Manager``) modified property is the person
      whose manager changed; its JSON-encoded old and new values are the managers (a missing
      new value is the other user target, when there is exactly one);
    - without such a property, exactly two user targets: the person, then the new manager (the
      old manager is then unknown).

    Anything else about *user_id*, or an unreadable time, gives ``readable=False``.
    """
    if str(item.get("result") or "").lower() == "failure":
        return None
    raw_targets = item.get("targetResources")
    targets = (
        [t for t in raw_targets if isinstance(t, Mapping)] if isinstance(raw_targets, list) else []
    )
    if not any(str(t.get("id")) == user_id for t in targets):
        return None
    changed_at = _optional_time(item.get("activityDateTime"))
    by = actor(item.get("initiatedBy"))
    carriers = [t for t in targets if _manager_property(t) is not None]
    if carriers:
        mine = next((t for t in carriers if str(t.get("id")) == user_id), None)
        if mine is None:
            return None
        prop = _manager_property(mine)
        assert prop is not None
        old = _audit_value(prop, "oldValue")
        new = _audit_value(prop, "newValue")
        if new is _UNKNOWN:
            others = [str(t["id"]) for t in targets if _is_user(t) and str(t.get("id")) != user_id]
            new = others[0] if len(others) == 1 else _UNKNOWN
        return ManagerChange(
            target_id=user_id,
            changed_at=changed_at,
            old_manager_id=None if old is _UNKNOWN else _id(old),
            new_manager_id=None if new is _UNKNOWN else _id(new),
            changed_by=by,
            old_manager_known=old is not _UNKNOWN,
            readable=new is not _UNKNOWN and changed_at is not None,
        )
    users = [t for t in targets if _is_user(t)]
    if len(targets) == 2 and len(users) == 2 and all(_text(t.get("id")) for t in users):
        if str(users[0].get("id")) != user_id:
            return None  # the person is the second target: the new manager
        return ManagerChange(
            target_id=user_id,
            changed_at=changed_at,
            old_manager_id=None,
            new_manager_id=str(users[1]["id"]),
            changed_by=by,
            old_manager_known=False,
            readable=changed_at is not None,
        )
    return ManagerChange(
        user_id, changed_at, None, None, by, old_manager_known=False, readable=False
    )


def account_creation(item: Mapping[str, Any], user_id: str) -> AccountCreation | None:
    """An "Add user" directoryAudit for *user_id* as an `AccountCreation`; None when it failed,
    is about someone else or has no readable time (it can then vouch for nothing)."""
    if str(item.get("result") or "").lower() == "failure":
        return None
    raw_targets = item.get("targetResources")
    targets = raw_targets if isinstance(raw_targets, list) else []
    if not any(isinstance(t, Mapping) and str(t.get("id")) == user_id for t in targets):
        return None
    created_at = _optional_time(item.get("activityDateTime"))
    if created_at is None:
        return None
    return AccountCreation(user_id, created_at, actor(item.get("initiatedBy")))


def users_delta_page(body: Mapping[str, Any]) -> UsersDeltaPage:
    """A page of ``GET /users/delta`` (with ``manager`` selected) as a `UsersDeltaPage`.

    ``manager@delta`` lists the manager (entries marked ``@removed`` are links that went away):
    none left means no manager. A user without it gets ``manager_known=False``. A user marked
    ``@removed`` was deleted. InvalidResponse when the page has no value list, a user has no
    id, or it carries neither a next nor a delta link.
    """
    values = body.get("value")
    if not isinstance(values, list):
        raise InvalidResponse("delta page has no value list")
    sightings = []
    for item in values:
        if not isinstance(item, Mapping):
            continue
        user_id = _text(item.get("id"))
        if not user_id:
            raise InvalidResponse("delta item without id")
        if isinstance(item.get("@removed"), Mapping):
            sightings.append(ManagerSighting(user_id, None, removed=True))
            continue
        links = item.get("manager@delta", _UNKNOWN)
        if not isinstance(links, list):
            sightings.append(ManagerSighting(user_id, None, manager_known=False))
            continue
        live = [
            str(link["id"])
            for link in links
            if isinstance(link, Mapping) and _text(link.get("id")) and "@removed" not in link
        ]
        sightings.append(ManagerSighting(user_id, live[0] if live else None))
    next_link = _text(body.get("@odata.nextLink"))
    delta_link = _text(body.get("@odata.deltaLink"))
    if not next_link and not delta_link:
        raise InvalidResponse("delta page has neither a next nor a delta link")
    return UsersDeltaPage(tuple(sightings), next_link or None, None if next_link else delta_link)


def _manager_property(target: Mapping[str, Any]) -> Mapping[str, Any] | None:
    for prop in target.get("modifiedProperties") or ():
        if (
            isinstance(prop, Mapping)
            and str(prop.get("displayName", "")).lower() in _MANAGER_PROPERTIES
        ):
            return prop
    return None


def _audit_value(prop: Mapping[str, Any], key: str) -> object:
    """A modified property's value: an id, None for "none", or `_UNKNOWN`.

    Values are JSON-encoded (``"\\"id\\""``, ``"[\\"id\\"]"``); an unencoded id is taken as it
    is. A key that is absent, or a value of any other shape, is unknown.
    """
    if key not in prop:
        return _UNKNOWN
    raw = prop[key]
    if raw is None or raw == "":
        return None
    if not isinstance(raw, str):
        return _UNKNOWN
    try:
        decoded = json.loads(raw)
    except ValueError:
        return raw.strip() or None
    if isinstance(decoded, list):
        if not decoded:
            return None
        if len(decoded) > 1:
            return _UNKNOWN
        decoded = decoded[0]
    if decoded is None or decoded == "":
        return None
    return decoded if isinstance(decoded, str) else _UNKNOWN


def _id(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _is_user(target: Mapping[str, Any]) -> bool:
    kind = target.get("type") or target.get("Type") or "User"
    return isinstance(kind, str) and kind.lower() == "user"


def _text(value: object) -> str:
    return value if isinstance(value, str) and value else ""


def _optional_time(value: object) -> datetime | None:
    try:
        return utc_datetime(value)
    except InvalidResponse:
        return None
