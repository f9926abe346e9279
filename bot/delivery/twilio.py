"""`TwilioSms`: the `SmsSender` port over Twilio's Messages REST API, with httpx.

``POST {base}/2010-04-01/Accounts/{AccountSid}/Messages.json``, form-encoded ``To``, ``Body``
and ``From`` and/or ``MessagingServiceSid``, HTTP Basic auth with the account SID and auth
token or with an API key SID and secret (the account SID stays in the path). 201 answers a
Message resource whose ``sid`` is the receipt. Errors are ``{code, message, more_info, status}``;
their ``message`` can quote the number, so only the code reaches our errors and logs.
Retries follow `bot.delivery.sms`.
"""

from __future__ import annotations

from typing import Any

import httpx
import structlog

from bot.delivery.sms import (
    SmsFailed,
    SmsRetry,
    Transient,
    connection_failure,
    retry_after,
    too_long,
)

log = structlog.get_logger(__name__)

PROVIDER = "twilio"
NAME = "Twilio"
# Twilio's error codes we can explain (https://www.twilio.com/docs/api/errors/<code>).
_WHY = {
    20003: "Twilio refused tapbot's credentials",
    21211: "the mobile number is not valid",
    21408: "text messages to that country are not enabled for the Twilio account",
    21606: "the sending number (TWILIO_FROM) cannot send this message",
    21659: "the sending number (TWILIO_FROM) is not a Twilio number of this account",
    21610: "the person has blocked messages from this sender (they replied STOP)",
    21608: "a Twilio trial account can only text numbers it has verified",
    21617: "the message is too long",
}


class TwilioSms:
    """Send text messages through Twilio on an injected `httpx.AsyncClient`.

    *username*/*password* are the account SID and auth token, or an API key SID and secret.
    At least one of *sender* (``From``) and *messaging_service_sid* must be given.
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        account_sid: str,
        username: str,
        password: str,
        sender: str = "",
        messaging_service_sid: str = "",
        base_url: str = "https://api.twilio.com",
        timeout: float = 15.0,
        retry: SmsRetry | None = None,
    ) -> None:
        if not sender and not messaging_service_sid:
            raise ValueError("Twilio needs a From number or a messaging service")
        self._http = http
        self._url = f"{base_url.rstrip('/')}/2010-04-01/Accounts/{account_sid}/Messages.json"
        self._auth = httpx.BasicAuth(username, password)
        self._sender = sender
        self._service = messaging_service_sid
        self._timeout = timeout
        self._retry = retry or SmsRetry()

    @property
    def provider(self) -> str:
        return PROVIDER

    async def send_sms(self, to: str, text: str) -> str:
        """Send *text* to *to* (E.164); return the Message sid. Raise SmsFailed."""
        failure = too_long(PROVIDER, NAME, text)
        if failure is not None:
            raise failure
        form = {"To": to, "Body": text}
        if self._sender:
            form["From"] = self._sender
        if self._service:
            form["MessagingServiceSid"] = self._service

        async def attempt(_: int) -> str:
            try:
                response = await self._http.post(
                    self._url, data=form, auth=self._auth, timeout=self._timeout
                )
            except httpx.TransportError as exc:
                raise connection_failure(PROVIDER, NAME, exc) from None
            return self._answer(response)

        return await self._retry.run(PROVIDER, attempt)

    def _answer(self, response: httpx.Response) -> str:
        status = response.status_code
        body = _json(response)
        if 200 <= status < 300:
            sid = body.get("sid")
            if not isinstance(sid, str) or not sid:
                # Twilio took the message; only its receipt is missing.
                log.warning("twilio answer without a sid", status=status)
                return ""
            return sid
        code = body.get("code")
        code = code if isinstance(code, int) and not isinstance(code, bool) else None
        log.warning("twilio refused a message", status=status, code=code)
        if status == 429 or status >= 500:
            failure = SmsFailed(
                f"{NAME} could not send the text message: the service is "
                f"{'busy' if status == 429 else 'having problems'} (HTTP {status})",
                provider=PROVIDER,
                code=str(code or status),
                status=status,
            )
            raise Transient(failure, retry_after(response))
        why = _WHY.get(code or 0)
        if why is None:
            why = (
                f"Twilio refused it (error {code})"
                if code
                else f"Twilio refused it (HTTP {status})"
            )
        raise SmsFailed(
            f"{NAME} could not send the text message: {why}",
            provider=PROVIDER,
            code=str(code or status),
            status=status,
        )


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
