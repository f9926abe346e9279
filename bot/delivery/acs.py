"""`AcsSms`: the `SmsSender` port over Azure Communication Services' SMS REST API, with httpx.

``POST {endpoint}/sms?api-version=2021-03-07`` with a JSON body, signed with HMAC-SHA256 from
the resource's access key (`signed_headers`). 202 answers one result per recipient; a
recipient can fail inside a 202 (``successful: false`` with its own ``httpStatusCode``).

Duplicates: each message carries a ``repeatabilityRequestId`` and ``repeatabilityFirstSent``.
A request that may have arrived (a lost answer, a 5xx) is repeated with the same pair, which
ACS answers with the first result instead of sending again; a recipient that failed (nothing
was sent) is retried with a new pair. Retries otherwise follow `bot.delivery.sms`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from collections.abc import Callable
from datetime import datetime
from email.utils import format_datetime
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
from bot.domain.ports import Clock

log = structlog.get_logger(__name__)

PROVIDER = "acs"
NAME = "Azure Communication Services"
API_VERSION = "2021-03-07"
SIGNED_HEADERS = "x-ms-date;host;x-ms-content-sha256"


def content_hash(body: bytes) -> str:
    """Base64 of the SHA-256 of the exact body bytes (an empty body hashes as ``""``)."""
    return base64.b64encode(hashlib.sha256(body).digest()).decode()


def rfc1123(moment: datetime) -> str:
    """``Tue, 01 Apr 2025 06:22:03 GMT`` (*moment* must be timezone-aware)."""
    return format_datetime(moment, usegmt=True)


def signature(
    method: str, path_and_query: str, host: str, date: str, body_hash: str, key: bytes
) -> str:
    """ACS's HMAC-SHA256 signature: over ``VERB\\npath?query\\ndate;host;hash``, keyed with the
    base64-decoded access key, base64-encoded."""
    to_sign = f"{method.upper()}\n{path_and_query}\n{date};{host};{body_hash}"
    return base64.b64encode(hmac.new(key, to_sign.encode(), hashlib.sha256).digest()).decode()


def signed_headers(
    method: str, url: httpx.URL, body: bytes, key: bytes, moment: datetime
) -> dict[str, str]:
    """The headers that authenticate one request to *url* with exactly *body*."""
    date = rfc1123(moment)
    body_hash = content_hash(body)
    host = url.netloc.decode("ascii")
    sig = signature(method, url.raw_path.decode("ascii"), host, date, body_hash, key)
    return {
        "x-ms-date": date,
        "x-ms-content-sha256": body_hash,
        "Authorization": f"HMAC-SHA256 SignedHeaders={SIGNED_HEADERS}&Signature={sig}",
    }


class AcsSms:
    """Send text messages through an ACS resource on an injected `httpx.AsyncClient`.

    *endpoint* is ``https://<resource>.communication.azure.com`` (no trailing slash needed),
    *access_key* the decoded key, *sender* the resource's number in E.164. *clock* dates the
    signature and the repeatability fields; *new_id* makes repeatability ids (tests fix it).
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        endpoint: str,
        access_key: bytes,
        sender: str,
        clock: Clock,
        timeout: float = 15.0,
        retry: SmsRetry | None = None,
        new_id: Callable[[], str] = lambda: str(uuid.uuid4()),
    ) -> None:
        self._http = http
        self._url = httpx.URL(f"{endpoint.rstrip('/')}/sms", params={"api-version": API_VERSION})
        self._key = access_key
        self._sender = sender
        self._clock = clock
        self._timeout = timeout
        self._retry = retry or SmsRetry()
        self._new_id = new_id

    @property
    def provider(self) -> str:
        return PROVIDER

    async def send_sms(self, to: str, text: str) -> str:
        """Send *text* to *to* (E.164); return ACS's message id. Raise SmsFailed."""
        failure = too_long(PROVIDER, NAME, text)
        if failure is not None:
            raise failure
        repeat = self._repeatability()

        async def attempt(_: int) -> str:
            nonlocal repeat
            body = json.dumps(
                {
                    "from": self._sender,
                    "smsRecipients": [{"to": to, **repeat}],
                    "message": text,
                    "smsSendOptions": {"enableDeliveryReport": False},
                },
                separators=(",", ":"),
            ).encode()
            headers = signed_headers("POST", self._url, body, self._key, self._clock.now())
            headers["Content-Type"] = "application/json"
            try:
                response = await self._http.post(
                    self._url, content=body, headers=headers, timeout=self._timeout
                )
            except httpx.TransportError as exc:
                raise connection_failure(PROVIDER, NAME, exc) from None
            try:
                return self._answer(response)
            except Transient as transient:
                if transient.failure.code.startswith("recipient"):
                    repeat = self._repeatability()  # nothing was sent: a fresh request
                raise

        return await self._retry.run(PROVIDER, attempt)

    def _repeatability(self) -> dict[str, str]:
        return {
            "repeatabilityRequestId": self._new_id(),
            "repeatabilityFirstSent": rfc1123(self._clock.now()),
        }

    def _answer(self, response: httpx.Response) -> str:
        status = response.status_code
        body = _json(response)
        if status == 202:
            return self._recipient(body)
        code = _error_code(body)
        log.warning("acs refused a message", status=status, code=code)
        if status == 429 or status >= 500:
            failure = SmsFailed(
                f"{NAME} could not send the text message: the service is "
                f"{'busy' if status == 429 else 'having problems'} (HTTP {status})",
                provider=PROVIDER,
                code=code or str(status),
                status=status,
            )
            raise Transient(failure, retry_after(response))
        why = (
            "Azure Communication Services refused tapbot's access key"
            if status in (401, 403)
            else f"it was refused (HTTP {status}{', ' + code if code else ''})"
        )
        raise SmsFailed(
            f"{NAME} could not send the text message: {why}",
            provider=PROVIDER,
            code=code or str(status),
            status=status,
        )

    def _recipient(self, body: dict[str, Any]) -> str:
        results = body.get("value")
        result = results[0] if isinstance(results, list) and results else None
        if not isinstance(result, dict):
            # Accepted, but the answer does not say what became of the message.
            log.warning("acs answer without a recipient result")
            return ""
        if result.get("successful") is True:
            message_id = result.get("messageId")
            return message_id if isinstance(message_id, str) else ""
        status = result.get("httpStatusCode")
        status = status if isinstance(status, int) and not isinstance(status, bool) else 0
        log.warning("acs refused a recipient", status=status)
        if status == 429 or status >= 500:
            failure = SmsFailed(
                f"{NAME} could not send the text message: the service is busy or having "
                f"problems (HTTP {status})",
                provider=PROVIDER,
                code=f"recipient_{status}",
                status=status,
            )
            raise Transient(failure)
        why = "the mobile number is not valid" if status == 400 else f"it was refused ({status})"
        raise SmsFailed(
            f"{NAME} could not send the text message: {why}",
            provider=PROVIDER,
            code=f"recipient_{status}",
            status=status,
        )


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _error_code(body: dict[str, Any]) -> str:
    error = body.get("error")
    code = error.get("code") if isinstance(error, dict) else None
    return code if isinstance(code, str) else ""
