"""What ``POST /api/messages`` accepts, checked before any other work (authentication included).

The body must be JSON that is safe to hand to json, msrest and botbuilder: at most `MAX_DEPTH`
levels deep, numbers finite and of at most `MAX_INTEGER_DIGITS` digits, strings encodable as
UTF-8; and shaped as a Teams activity where botbuilder or tapbot read it (`ACTIVITY`). Anything
else raises `Rejected`, whose reason is one of ours and never quotes the input.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

# A Teams activity nests about six levels (an invoke's value.action.data.field); an Adaptive
# Card in an attachment a few more. Deeper input only serves to exhaust the parsers' stacks.
MAX_DEPTH = 32
# No activity field is a number larger than a 64-bit one; Python refuses ints of over 4,300
# digits with a ValueError of its own, so the bound also keeps that from surfacing as a 500.
MAX_INTEGER_DIGITS = 20

# The channel whose identities tapbot trusts (`bot.teams.identity`); others are refused.
TEAMS_CHANNEL = "msteams"


class Rejected(Exception):
    """The body is not an activity tapbot will handle; *reason* says why, in our words."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Required:
    """A field that must be present (and not null), of *shape*."""

    shape: Shape


# A shape is a JSON type (str, bool, dict for any object, object for any value), a mapping of
# field names to shapes (an object whose listed fields, when present and not null, have those
# shapes; unlisted fields may be anything), or a one-item list (an array of that shape).
Shape = type | Mapping[str, "Shape | Required"] | list["Shape"]

_ACCOUNT: Shape = {"id": str, "name": str, "aadObjectId": str, "role": str}
_CONVERSATION: Shape = {
    "id": Required(str),
    "name": str,
    "conversationType": str,
    "tenantId": str,
    "isGroup": bool,
}
_TEAMS_CHANNEL_DATA: Shape = {
    "tenant": {"id": str},
    "team": {"id": str, "name": str, "aadGroupId": str},
    "channel": {"id": str, "name": str},
    "eventType": str,
    "teamsTeamId": str,
    "teamsChannelId": str,
}
# The fields botbuilder 4.17 (msrest) or tapbot read, as Teams sends them.
ACTIVITY: Mapping[str, Shape | Required] = {
    "type": Required(str),
    "channelId": Required(str),
    "serviceUrl": Required(str),
    "conversation": Required(_CONVERSATION),
    "id": str,
    "name": str,
    "action": str,
    "text": str,
    "textFormat": str,
    "locale": str,
    "replyToId": str,
    "timestamp": str,
    "localTimestamp": str,
    "localTimezone": str,
    "from": _ACCOUNT,
    "recipient": _ACCOUNT,
    "channelData": _TEAMS_CHANNEL_DATA,
    "membersAdded": [_ACCOUNT],
    "membersRemoved": [_ACCOUNT],
    "attachments": [dict],
    "entities": [dict],
    "reactionsAdded": [dict],
    "reactionsRemoved": [dict],
    "relatesTo": dict,
    "value": object,
}
_DELIVERY_MODES = (None, "normal")
_JSON_TYPES = {str: "a string", bool: "true or false", dict: "an object", object: "a value"}


def parse_activity(raw: bytes) -> dict[str, Any]:
    """Return the activity in *raw* as a dict, or raise `Rejected`."""
    try:
        body = json.loads(raw, parse_int=_integer, parse_float=_decimal, parse_constant=_constant)
    except RecursionError:
        raise Rejected("nested too deeply") from None
    except ValueError:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise Rejected("not JSON") from None
    if not isinstance(body, dict):
        raise Rejected("not a JSON object")
    _check_values(body)
    _check_shape(body, ACTIVITY, "activity")
    if body["type"] == "invoke" and not isinstance(body.get("value", {}), dict | None):
        raise Rejected("invoke value is not an object")
    if body.get("deliveryMode") not in _DELIVERY_MODES:
        # "expectReplies" would return the bot's replies, a pass among them, in this HTTP
        # response instead of through the connector; Teams never asks for it.
        raise Rejected("deliveryMode is not normal")
    _check_service_url(body["serviceUrl"])
    return body


def _integer(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INTEGER_DIGITS:
        raise Rejected("number too large")
    return int(text)


def _decimal(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise Rejected("number too large")
    return value


def _constant(_text: str) -> float:
    raise Rejected("NaN or Infinity is not JSON")


def _check_values(body: object) -> None:
    """Walk *body* without recursion: depth within `MAX_DEPTH`, strings encodable."""
    stack: list[tuple[object, int]] = [(body, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str):
            _encodable(value)
            continue
        if not isinstance(value, dict | list):
            continue
        if depth > MAX_DEPTH:
            raise Rejected("nested too deeply")
        if isinstance(value, dict):
            for key in value:
                _encodable(key)
            stack.extend((item, depth + 1) for item in value.values())
        else:
            stack.extend((item, depth + 1) for item in value)


def _encodable(text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate ("\ud800"): no store or log can write it
        raise Rejected("a string is not valid Unicode") from None


def _check_shape(value: object, shape: Shape, where: str) -> None:
    if isinstance(shape, list):
        if not isinstance(value, list):
            raise Rejected(f"{where} is not an array")
        for item in value:
            _check_shape(item, shape[0], f"{where} item")
        return
    if isinstance(shape, Mapping):
        if not isinstance(value, dict):
            raise Rejected(f"{where} is not an object")
        for name, field in shape.items():
            item = value.get(name)
            if isinstance(field, Required):
                if item is None:
                    raise Rejected(f"{where} has no {name}")
                field = field.shape
            if item is not None:
                _check_shape(item, field, name if where == "activity" else f"{where}.{name}")
        return
    if shape is object:
        return
    # bool is an int in Python, and an int is not a str: an exact type check is the JSON one.
    if type(value) is not shape:
        raise Rejected(f"{where} is not {_JSON_TYPES[shape]}")


def _check_service_url(url: str) -> None:
    """The connector's URL, where replies go: an http(s) URL with a host."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        raise Rejected("serviceUrl is not a URL") from None
    if parts.scheme not in ("https", "http") or not host:
        raise Rejected("serviceUrl is not an http(s) URL")
