"""Fake SMS providers; every accepted message lands in the tenant's outbox.

- Twilio: ``POST /twilio/2010-04-01/Accounts/{sid}/Messages.json``, form fields ``To``, ``From``,
  ``Body``, HTTP Basic auth (any non-empty sid and token: this is not a Twilio account check,
  but the sid in the URL must be the Basic user, as Twilio requires). Answers 201 with a
  Message resource. Set the bot's ``TWILIO_BASE_URL`` to ``<base_url>/twilio``.
- Azure Communication Services: ``POST /acs/sms?api-version=…`` with JSON ``{from,
  smsRecipients: [{to}], message}`` and any ``Authorization``; answers 202 with per-recipient
  results. Set ``ACS_ENDPOINT`` to ``<base_url>/acs``.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

from aiohttp import web

from sandbox.tenant import Tenant


class SmsRoutes:
    def __init__(self, tenant: Callable[[], Tenant]) -> None:
        self._tenant = tenant

    def add_to(self, app: web.Application) -> None:
        app.router.add_post(
            "/twilio/2010-04-01/Accounts/{sid}/Messages.json", self.twilio, name="twilio_sms"
        )
        app.router.add_post("/acs/sms", self.acs, name="acs_sms")

    async def twilio(self, request: web.Request) -> web.Response:
        sid = request.match_info["sid"]
        user, password = _basic(request.headers.get("Authorization"))
        if user != sid or not password:
            return web.json_response(
                {"code": 20003, "message": "Authenticate", "status": 401}, status=401
            )
        form = await request.post()
        to, sender, body = (str(form.get(k, "")) for k in ("To", "From", "Body"))
        if not to or not body:
            return web.json_response(
                {"code": 21604, "message": "A 'To' phone number and a 'Body' are required.",
                 "status": 400},
                status=400,
            )  # fmt: skip
        self._tenant().record_sms("twilio", sender, [to], body)
        message_sid = "SM" + uuid.uuid4().hex
        now = datetime.now(UTC).strftime("%a, %d %b %Y %H:%M:%S +0000")
        return web.json_response(
            {
                "sid": message_sid,
                "account_sid": sid,
                "to": to,
                "from": sender,
                "status": "queued",
                "num_segments": "1",
                "date_created": now,
                "uri": f"/2010-04-01/Accounts/{sid}/Messages/{message_sid}.json",
            },
            status=201,
        )

    async def acs(self, request: web.Request) -> web.Response:
        if not request.headers.get("Authorization") or "api-version" not in request.query:
            return web.json_response(
                {"error": {"code": "Unauthorized", "message": "Denied by the sandbox."}},
                status=401,
            )
        try:
            body = json.loads(await request.text())
            recipients = [str(r["to"]) for r in body["smsRecipients"]]
            sender, text = str(body["from"]), str(body["message"])
        except (ValueError, KeyError, TypeError):
            return web.json_response(
                {"error": {"code": "BadRequest", "message": "Invalid SMS request."}}, status=400
            )
        self._tenant().record_sms("acs", sender, recipients, text)
        return web.json_response(
            {
                "value": [
                    {
                        "to": to,
                        "messageId": f"Outgoing_{uuid.uuid4().hex}_noam",
                        "httpStatusCode": 202,
                        "successful": True,
                    }
                    for to in recipients
                ]
            },
            status=202,
        )


def _basic(header: str | None) -> tuple[str, str]:
    scheme, _, value = (header or "").partition(" ")
    if scheme.lower() != "basic":
        return "", ""
    try:
        user, _, password = base64.b64decode(value).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return "", ""
    return user, password
