"""Graph JSON to domain values, and the few domain values Graph needs back as JSON or OData.

Parsers accept what Graph sends (missing optional fields, ``null`` collections, 7 fractional
digits on times) and raise `InvalidResponse` only when a field the domain cannot do without is
missing. Times come back timezone-aware in UTC.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from bot.domain.joiners import Joiner
from bot.domain.model import (
    DirectoryUser,
    IssuedPass,
    MailMessage,
    PassInfo,
    PassSecret,
    RoleAssignment,
    RoleAssignmentKind,
    TapPolicy,
)

# Exactly what `DirectoryUser` holds: Graph returns only $select-ed properties, and
# employeeHireDate, accountEnabled, userType and otherMails come back only when selected.
USER_FIELDS = (
    "id",
    "displayName",
    "userPrincipalName",
    "accountEnabled",
    "userType",
    "jobTitle",
    "mail",
    "otherMails",
    "mobilePhone",
    "employeeHireDate",
    "givenName",
)
USER_SELECT = ",".join(USER_FIELDS)
# The joiner query also reads what the reminder card and the scope settings need, and when
# the account was created (JOINER_AUTO_ISSUE asks only for really new accounts).
JOINER_SELECT = ",".join((*USER_FIELDS, "department", "companyName", "createdDateTime"))
USER_ODATA_TYPE = "#microsoft.graph.user"
ALL_USERS_TARGET = "all_users"


class InvalidResponse(ValueError):
    """Graph answered 2xx with a body we cannot read."""


def utc_datetime(value: object) -> datetime:
    """Parse a Graph DateTimeOffset (``2022-06-06T16:43:04.6438213Z``) as aware UTC.

    A value without an offset (Graph's ``innerError.date``) is taken as UTC.
    """
    if not isinstance(value, str) or not value:
        raise InvalidResponse(f"expected a date-time, got {type(value).__name__}")
    try:
        # Python 3.11 accepts "Z" and truncates fractions beyond microseconds.
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise InvalidResponse(f"unreadable date-time {value!r}") from exc
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _optional_datetime(value: object) -> datetime | None:
    return None if value in (None, "") else utc_datetime(value)


def odata_datetime(value: datetime) -> str:
    """Format an aware datetime as an OData DateTimeOffset literal in UTC (unquoted in $filter)."""
    if value.tzinfo is None:
        raise ValueError("naive datetime: tapbot passes only timezone-aware times")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def odata_string(value: str) -> str:
    """Quote *value* as an OData string literal (a single quote is doubled)."""
    return "'" + value.replace("'", "''") + "'"


def _text(item: Mapping[str, Any], key: str) -> str:
    value = item.get(key)
    if not isinstance(value, str) or not value:
        raise InvalidResponse(f"missing {key!r}")
    return value


def _optional_text(item: Mapping[str, Any], key: str) -> str | None:
    value = item.get(key)
    return value if isinstance(value, str) and value else None


def object_id(item: Mapping[str, Any]) -> str:
    """The ``id`` of a directory object."""
    return _text(item, "id")


def is_user(item: Mapping[str, Any]) -> bool:
    """Tell whether a directoryObject is a user (lists also hold orgContacts, groups…)."""
    odata_type = item.get("@odata.type")
    return odata_type is None or odata_type == USER_ODATA_TYPE


def directory_user(item: Mapping[str, Any]) -> DirectoryUser:
    """A Graph user (with `USER_SELECT`) as a `DirectoryUser`."""
    other_mails = item.get("otherMails") or ()
    enabled = item.get("accountEnabled")
    return DirectoryUser(
        id=_text(item, "id"),
        display_name=_optional_text(item, "displayName") or "",
        user_principal_name=_optional_text(item, "userPrincipalName") or "",
        # Absent means "not selected", which only happens for objects we did not ask about;
        # null happens for some synced objects: neither proves the account is disabled.
        account_enabled=enabled is not False,
        user_type=_optional_text(item, "userType") or "Member",
        job_title=_optional_text(item, "jobTitle"),
        mail=_optional_text(item, "mail"),
        other_mails=tuple(m for m in other_mails if isinstance(m, str) and m),
        mobile_phone=_optional_text(item, "mobilePhone"),
        employee_hire_date=_optional_datetime(item.get("employeeHireDate")),
        given_name=_optional_text(item, "givenName"),
    )


def joiner(item: Mapping[str, Any]) -> Joiner:
    """A user from the joiner query (`JOINER_SELECT`) as a `Joiner`.

    A hire date we cannot read leaves ``employee_hire_date`` None and keeps the text, so one
    odd value skips one joiner (with the reason audited) instead of failing the sweep. A
    ``createdDateTime`` that is missing, null or unreadable leaves ``created_at`` None: the
    account is then not known to be new.
    """
    raw = item.get("employeeHireDate")
    text: str | None = None
    try:
        _optional_datetime(raw)
    except InvalidResponse:
        text = raw if isinstance(raw, str) else repr(raw)
        item = {k: v for k, v in item.items() if k != "employeeHireDate"}
    return Joiner(
        user=directory_user(item),
        department=_optional_text(item, "department"),
        company_name=_optional_text(item, "companyName"),
        hire_date_text=text,
        created_at=_readable_datetime(item.get("createdDateTime")),
    )


def _readable_datetime(value: object) -> datetime | None:
    try:
        return _optional_datetime(value)
    except InvalidResponse:
        return None


def tap_policy(item: Mapping[str, Any]) -> TapPolicy:
    """The TemporaryAccessPass authentication method configuration as a `TapPolicy`."""
    include = [t for t in item.get("includeTargets") or () if isinstance(t, Mapping)]
    exclude = [t for t in item.get("excludeTargets") or () if isinstance(t, Mapping)]
    include_ids = [str(t.get("id")) for t in include if t.get("id")]
    try:
        return TapPolicy(
            enabled=item.get("state") == "enabled",
            default_lifetime_minutes=int(item["defaultLifetimeInMinutes"]),
            minimum_lifetime_minutes=int(item["minimumLifetimeInMinutes"]),
            maximum_lifetime_minutes=int(item["maximumLifetimeInMinutes"]),
            is_usable_once=bool(item.get("isUsableOnce", False)),
            default_length=int(item.get("defaultLength") or 8),
            all_users=ALL_USERS_TARGET in include_ids,
            include_group_ids=tuple(i for i in include_ids if i != ALL_USERS_TARGET),
            exclude_group_ids=tuple(str(t.get("id")) for t in exclude if t.get("id")),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidResponse(f"TAP policy lacks {exc}") from exc


def pass_info(item: Mapping[str, Any], user_id: str) -> PassInfo:
    """A temporaryAccessPassAuthenticationMethod as a `PassInfo` (its value is ignored)."""
    created = _optional_datetime(item.get("createdDateTime"))
    # Graph omits startDateTime for a pass usable from creation.
    start = _optional_datetime(item.get("startDateTime")) or created
    if start is None:
        raise InvalidResponse("pass has neither startDateTime nor createdDateTime")
    try:
        lifetime = int(item["lifetimeInMinutes"])
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidResponse("pass lacks lifetimeInMinutes") from exc
    return PassInfo(
        id=_text(item, "id"),
        user_id=user_id,
        created_at=created,
        start_at=start,
        lifetime_minutes=lifetime,
        is_usable_once=bool(item.get("isUsableOnce", False)),
        is_usable=bool(item.get("isUsable", False)),
        usability_reason=_optional_text(item, "methodUsabilityReason") or "",
    )


def issued_pass(item: Mapping[str, Any], user_id: str) -> IssuedPass:
    """The 201 body of a pass creation: the only response that carries the value."""
    value = item.get("temporaryAccessPass")
    if not isinstance(value, str) or not value:
        raise InvalidResponse("created pass carries no value")
    return IssuedPass(info=pass_info(item, user_id), secret=PassSecret(value))


def pass_request_body(
    *, lifetime_minutes: int, is_usable_once: bool, start_at: datetime | None
) -> dict[str, Any]:
    body: dict[str, Any] = {"lifetimeInMinutes": lifetime_minutes, "isUsableOnce": is_usable_once}
    if start_at is not None:
        body["startDateTime"] = odata_datetime(start_at)
    return body


def role_assignment(item: Mapping[str, Any], kind: RoleAssignmentKind) -> RoleAssignment:
    """A unifiedRoleAssignment or roleEligibilityScheduleInstance as a `RoleAssignment`."""
    return RoleAssignment(
        role_definition_id=_text(item, "roleDefinitionId"),
        kind=kind,
        directory_scope_id=_optional_text(item, "directoryScopeId") or "/",
    )


def mail_body(message: MailMessage) -> dict[str, Any]:
    """The sendMail body for *message*. Not saved to Sent Items: a mail may carry a pass."""

    def recipients(addresses: tuple[str, ...]) -> list[dict[str, Any]]:
        return [{"emailAddress": {"address": a}} for a in addresses]

    graph_message: dict[str, Any] = {
        "subject": message.subject,
        "body": {"contentType": "HTML", "content": message.html_body},
        "toRecipients": recipients(message.to),
    }
    if message.cc:
        graph_message["ccRecipients"] = recipients(message.cc)
    return {"message": graph_message, "saveToSentItems": False}
