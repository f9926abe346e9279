"""Fake SMS providers that check what the real ones check; accepted messages land in the outbox.

Twilio (``POST /twilio/2010-04-01/Accounts/{sid}/Messages.json``, route ``twilio_sms``; set the
bot's ``TWILIO_BASE_URL`` to ``<base_url>/twilio``):

- HTTP Basic auth with the sandbox account SID and auth token, or its API key SID and secret
  (the account SID in the path either way); otherwise 401 ``20003``;
- form fields: ``To`` in E.164 and a valid number (else 400 ``21211``), ``From`` one of the
  account's numbers (else 400 ``21659``) or a known ``MessagingServiceSid``, ``Body`` of at most
  1,600 characters (else 400 ``21617``);
- 201 with a Message resource: ``SM`` + 32 hex sid, ``queued`` (``accepted`` with a messaging
  service), RFC 2822 dates, ``num_segments`` by the GSM-7/UCS-2 rules, as a string.

Azure Communication Services (``POST /acs/sms?api-version=…``, route ``acs_sms``; set
``ACS_ENDPOINT`` to ``<base_url>/acs``):

- HMAC-SHA256 over the exact request (method, path and query, ``Host``, ``x-ms-date``, the body's
  SHA-256), keyed with the sandbox access key; a wrong or malformed signature, a body that does
  not match its hash, or a date more than 15 minutes off is 401 ``Denied``;
- ``from`` must be the resource's number; 1 to 100 recipients; ``message`` at most 2,048
  characters; a recipient that is not a valid E.164 number fails inside the 202;
- ``repeatabilityRequestId``: a replay answers the first result and sends nothing again.

Faults (`sandbox.faults`) on these routes answer with the provider's error body; an ``error``
fault may name the provider's ``code`` (e.g. Twilio's 21610 for a recipient who sent STOP).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import uuid
from collections.abc import Callable
from datetime import timedelta
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any

import phonenumbers
from aiohttp import web

from sandbox import org
from sandbox.faults import Fault
from sandbox.tenant import Tenant

TWILIO_ROUTE = "twilio_sms"
ACS_ROUTE = "acs_sms"
ACS_API_VERSIONS = frozenset({"2021-03-07", "2025-09-17", "2026-01-23"})
ACS_MAX_SKEW = timedelta(minutes=15)
_ACS_AUTH = re.compile(
    r"^HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature=(?P<sig>\S+)$"
)
# GSM 03.38: the basic set, and the extension set whose characters count twice.
_GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM7_EXTENDED = frozenset("^{}\\[~]|€\f")
TWILIO_ERRORS = {
    20003: (401, "Authenticate"),
    20404: (404, "The requested resource was not found"),
    20429: (429, "Too Many Requests"),
    21211: (400, "The 'To' number is not a valid phone number."),
    21408: (400, "Permission to send an SMS has not been enabled for the region indicated by "
                 "the 'To' number."),
    21602: (400, "Message body is required."),
    21603: (400, "A 'From' phone number is required."),
    21604: (400, "A 'To' phone number is required."),
    21610: (400, "Attempt to send to unsubscribed recipient"),
    21617: (400, "The concatenated message body exceeds the 1600 character limit."),
    21659: (400, "'From' is not a Twilio phone number or Short Code country mismatch"),
}  # fmt: skip


def sms_segments(text: str) -> int:
    """How many segments *text* takes: GSM-7 (160 alone, 153 each when split) when every
    character is in the GSM alphabet, else UCS-2 (70 alone, 67 each)."""
    if all(ch in _GSM7_BASIC or ch in _GSM7_EXTENDED for ch in text):
        units = sum(2 if ch in _GSM7_EXTENDED else 1 for ch in text)
        single, multi = 160, 153
    else:
        units = len(text.encode("utf-16-le")) // 2
        single, multi = 70, 67
    if units <= single:
        return 1
    return -(-units // multi)


def is_e164(value: str) -> bool:
    """A valid number written in E.164 (``+`` and 8 to 15 digits, nothing else)."""
    if not re.fullmatch(r"\+[1-9]\d{7,14}", value):
        return False
    try:
        return phonenumbers.is_valid_number(phonenumbers.parse(value, None))
    except phonenumbers.NumberParseException:
        return False


def twilio_error(code: int, *, status: int | None = None) -> web.Response:
    """Twilio's error body ``{code, message, more_info, status}``."""
    default_status, message = TWILIO_ERRORS.get(code, (400, "The request was refused."))
    status = status or default_status
    body = {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }
    return web.json_response(body, status=status)


def acs_error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message}}, status=status)


def provider_fault(operation: str | None, fault: Fault) -> web.Response | None:
    """The provider-shaped answer for a throttle or error *fault* on an SMS route, else None."""
    if operation == TWILIO_ROUTE:
        if fault.kind == "throttle":
            response = twilio_error(20429)
        else:
            code = int(fault.code) if fault.code and fault.code.isdigit() else 0
            response = twilio_error(code, status=fault.status)
    elif operation == ACS_ROUTE:
        if fault.kind == "throttle":
            response = acs_error(429, "TooManyRequests", "Too many requests.")
        else:
            response = acs_error(
                fault.status, fault.code or "ServiceUnavailable", "The sandbox injected this fault."
            )
    else:
        return None
    if fault.retry_after is not None:
        response.headers["Retry-After"] = fault.retry_after
    return response


class SmsRoutes:
    def __init__(self, tenant: Callable[[], Tenant]) -> None:
        self._tenant = tenant
        # ACS repeatability: request id -> the first answer for that recipient.
        self._repeats: dict[str, dict[str, Any]] = {}

    def add_to(self, app: web.Application) -> None:
        app.router.add_post(
            "/twilio/2010-04-01/Accounts/{sid}/Messages.json", self.twilio, name=TWILIO_ROUTE
        )
        app.router.add_post("/acs/sms", self.acs, name=ACS_ROUTE)

    # Twilio

    async def twilio(self, request: web.Request) -> web.Response:
        sid = request.match_info["sid"]
        user, password = _basic(request.headers.get("Authorization"))
        by_token = user == sid == org.TWILIO_ACCOUNT_SID and _same(password, org.TWILIO_AUTH_TOKEN)
        by_key = (
            sid == org.TWILIO_ACCOUNT_SID
            and user == org.TWILIO_API_KEY_SID
            and _same(password, org.TWILIO_API_KEY_SECRET)
        )
        if not (by_token or by_key):
            return twilio_error(20003)
        form = await request.post()
        to, sender, service, body = (
            str(form.get(k, "")) for k in ("To", "From", "MessagingServiceSid", "Body")
        )
        if not to:
            return twilio_error(21604)
        if not is_e164(to) or to == sender:
            return twilio_error(21211)
        if not sender and not service:
            return twilio_error(21603)
        if sender and sender != org.TWILIO_FROM:
            return twilio_error(21659)
        if service and service != org.TWILIO_MESSAGING_SERVICE_SID:
            return twilio_error(20404)
        if not body:
            return twilio_error(21602)
        if len(body) > 1600:
            return twilio_error(21617)
        message_sid = "SM" + uuid.uuid4().hex
        self._tenant().record_sms("twilio", sender or service, [to], body, reference=message_sid)
        now = format_datetime(self._tenant().clock())
        return web.json_response(
            {
                "sid": message_sid,
                "account_sid": sid,
                "messaging_service_sid": service or None,
                "to": to,
                "from": sender or None,
                "body": body,
                "status": "accepted" if service and not sender else "queued",
                "direction": "outbound-api",
                "num_segments": "0" if service else str(sms_segments(body)),
                "num_media": "0",
                "price": None,
                "price_unit": "USD",
                "error_code": None,
                "error_message": None,
                "api_version": "2010-04-01",
                "date_created": now,
                "date_updated": now,
                "date_sent": None,
                "uri": f"/2010-04-01/Accounts/{sid}/Messages/{message_sid}.json",
            },
            status=201,
        )

    # Azure Communication Services

    async def acs(self, request: web.Request) -> web.Response:
        raw = await request.read()
        denied = self._acs_denied(request, raw)
        if denied is not None:
            return acs_error(401, "Denied", denied)
        if request.query.get("api-version") not in ACS_API_VERSIONS:
            return acs_error(
                400, "UnsupportedApiVersion", "The api-version is missing or not supported."
            )
        try:
            body = json.loads(raw)
            recipients = body["smsRecipients"]
            sender, text = body["from"], body["message"]
            options = body.get("smsSendOptions")
            if not (isinstance(sender, str) and isinstance(text, str)):
                raise TypeError
            if not isinstance(recipients, list) or not 1 <= len(recipients) <= 100:
                raise ValueError
            if options is not None and "enableDeliveryReport" not in options:
                raise KeyError
        except (ValueError, KeyError, TypeError):
            return acs_error(400, "BadRequest", "The request body is not a valid SMS request.")
        if sender != org.ACS_FROM:
            return acs_error(400, "BadRequest", "The 'from' number is not owned by the resource.")
        if len(text) > 2048:
            return acs_error(400, "BadRequest", "The message is longer than 2048 characters.")
        results = [self._acs_recipient(r, sender, text) for r in recipients]
        return web.json_response({"value": results}, status=202)

    def _acs_denied(self, request: web.Request, raw: bytes) -> str | None:
        """Why the request's HMAC authentication fails, or None when it holds."""
        date = request.headers.get("x-ms-date")
        content_hash = request.headers.get("x-ms-content-sha256")
        match = _ACS_AUTH.match(request.headers.get("Authorization", ""))
        if not date or not content_hash or match is None:
            return "Given value does not match HMAC header structure."
        expected_hash = base64.b64encode(hashlib.sha256(raw).digest()).decode()
        if not hmac.compare_digest(content_hash, expected_hash):
            return "Request 'x-ms-content-sha256' differs from generated content hash."
        try:
            sent_at = parsedate_to_datetime(date)
        except (TypeError, ValueError):
            return "Given value does not match HMAC header structure."
        if sent_at.tzinfo is None or abs(self._tenant().clock() - sent_at) > ACS_MAX_SKEW:
            return "Request date is outside the allowed time window."
        signed = f"{date};{request.host};{content_hash}"
        to_sign = f"{request.method.upper()}\n{request.raw_path}\n{signed}"
        key = base64.b64decode(org.ACS_ACCESS_KEY)
        expected = base64.b64encode(hmac.new(key, to_sign.encode(), hashlib.sha256).digest())
        if not hmac.compare_digest(match["sig"].encode(), expected):
            return "Denied by the resource provider."
        return None

    def _acs_recipient(self, recipient: object, sender: str, text: str) -> dict[str, Any]:
        fields = recipient if isinstance(recipient, dict) else {}
        to = str(fields.get("to", ""))
        repeat_id = fields.get("repeatabilityRequestId")
        first_sent = fields.get("repeatabilityFirstSent")
        if repeat_id is not None:
            if not _rfc1123(first_sent):
                return {
                    "to": to,
                    "httpStatusCode": 400,
                    "successful": False,
                    "errorMessage": "repeatabilityFirstSent is not a valid RFC 1123 date.",
                    "repeatabilityResult": "rejected",
                }
            if str(repeat_id) in self._repeats:
                return self._repeats[str(repeat_id)] | {"repeatabilityResult": "accepted"}
        if not is_e164(to):
            result: dict[str, Any] = {
                "to": to,
                "httpStatusCode": 400,
                "successful": False,
                "errorMessage": "Invalid To phone number format.",
            }
        else:
            stamp = self._tenant().clock().strftime("%Y%m%d%H%M%S")
            message_id = f"Outgoing_{stamp}{uuid.uuid4().hex[:16]}_noam"
            self._tenant().record_sms("acs", sender, [to], text, reference=message_id)
            result = {"to": to, "messageId": message_id, "httpStatusCode": 202, "successful": True}
        if repeat_id is not None:
            self._repeats[str(repeat_id)] = result
            result = result | {"repeatabilityResult": "accepted"}
        return result


def _rfc1123(value: object) -> bool:
    if not isinstance(value, str):
        return False
    try:
        return parsedate_to_datetime(value).tzinfo is not None
    except (TypeError, ValueError):
        return False


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


def _basic(header: str | None) -> tuple[str, str]:
    scheme, _, value = (header or "").partition(" ")
    if scheme.lower() != "basic":
        return "", ""
    try:
        user, _, password = base64.b64decode(value).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return "", ""
    return user, password
