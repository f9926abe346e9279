"""The delivery settings checked together, and read into what the delivery code needs.

`delivery_problems` is called by `Settings.cross_field_problems`, so every problem is reported
with the others at start-up, in plain words, without echoing a secret.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

import phonenumbers

from bot.delivery.messages import LINK_SHAPED
from bot.domain.delivery_options import DeliverySetup
from bot.domain.model import DeliveryMethod

if TYPE_CHECKING:
    from bot.config import Settings

_ACCOUNT_SID = re.compile(r"^AC[0-9a-fA-F]{32}$")
_MESSAGING_SERVICE_SID = re.compile(r"^MG[0-9a-fA-F]{32}$")
# An alphanumeric sender id: 1 to 11 letters, digits and spaces, at least one letter.
_ALPHANUMERIC_SENDER = re.compile(r"^(?=.*[A-Za-z])[A-Za-z0-9 ]{1,11}$")
_LOOPBACK_HTTP = ("http://127.0.0.1", "http://localhost")


@dataclass(frozen=True, slots=True)
class AcsConnection:
    """An Azure Communication Services endpoint (no trailing ``/``) and its decoded key."""

    endpoint: str
    access_key: bytes


def parse_acs_connection_string(value: str) -> AcsConnection:
    """Read ``endpoint=https://….communication.azure.com/;accesskey=<base64>`` as the Azure
    SDK does (parts split on ``;``, keys in any case). ValueError names what is missing."""
    parts: dict[str, str] = {}
    for part in value.split(";"):
        key, sep, item = part.strip().partition("=")
        if sep:
            parts[key.strip().lower()] = item.strip()
    endpoint, key = parts.get("endpoint", ""), parts.get("accesskey", "")
    if not endpoint or not key:
        raise ValueError("it needs endpoint=…;accesskey=…")
    return AcsConnection(endpoint.rstrip("/"), _decoded_key(key))


def acs_connection(settings: Settings) -> AcsConnection:
    """The ACS endpoint and key from ACS_CONNECTION_STRING, or ACS_ENDPOINT and ACS_ACCESS_KEY.
    Call only with settings that passed `delivery_problems`."""
    if settings.acs_connection_string:
        return parse_acs_connection_string(settings.acs_connection_string)
    return AcsConnection(settings.acs_endpoint.rstrip("/"), _decoded_key(settings.acs_access_key))


def _decoded_key(key: str) -> bytes:
    try:
        decoded = base64.b64decode(key, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("the access key is not base64") from None
    if not decoded:
        raise ValueError("the access key is empty")
    return decoded


def delivery_setup(settings: Settings) -> DeliverySetup:
    """The domain's view of what this deployment can deliver with."""
    return DeliverySetup(
        sms=settings.sms_provider != "none",
        email=bool(settings.mail_sender),
        chat_to_target=bool(settings.teams_app_id),
        mail_to=settings.mail_to,
        install_for_target=settings.teams_install_for_target,
        default_region=settings.sms_default_region.upper() or None,
        typed_numbers=settings.sms_allow_typed_number,
    )


def delivery_problems(settings: Settings) -> list[str]:
    """Every problem with the delivery settings, in words an operator can act on."""
    problems: list[str] = []
    if settings.sms_provider == "twilio":
        problems += _twilio_problems(settings)
    elif settings.sms_provider == "acs":
        problems += _acs_problems(settings)
    region = settings.sms_default_region
    if region and region.upper() not in phonenumbers.SUPPORTED_REGIONS:
        problems.append(
            f"SMS_DEFAULT_REGION={region!r} is not a country code phonenumbers knows "
            "(two letters, e.g. GB or US)."
        )
    if LINK_SHAPED.search(settings.helpdesk_contact):
        problems.append(
            "HELPDESK_CONTACT goes into text messages and emails, where a phone or mail client "
            "would turn a web or mail address or a phone number into a link. Name the team and "
            "how to reach it without one (e.g. 'the IT service desk, extension 4000')."
        )
    needs = {
        DeliveryMethod.SMS: (settings.sms_provider != "none", "SMS_PROVIDER"),
        DeliveryMethod.EMAIL: (bool(settings.mail_sender), "MAIL_SENDER"),
        DeliveryMethod.CHAT_TO_TARGET: (bool(settings.teams_app_id), "TEAMS_APP_ID"),
    }
    for method in settings.notice_methods:
        if method not in needs:
            problems.append(
                f"NOTICE_METHODS may list sms, email and chat_target, not {method.value}: the "
                "notice goes to the person the pass is for."
            )
        elif not needs[method][0]:
            problems.append(f"NOTICE_METHODS lists {method.value}, which needs {needs[method][1]}.")
    return problems


def _twilio_problems(settings: Settings) -> list[str]:
    problems: list[str] = []
    if not _ACCOUNT_SID.match(settings.twilio_account_sid):
        problems.append(
            "SMS_PROVIDER=twilio needs TWILIO_ACCOUNT_SID: AC followed by 32 hexadecimal digits."
        )
    has_token = bool(settings.twilio_auth_token)
    has_key = bool(settings.twilio_api_key_sid or settings.twilio_api_key_secret)
    if has_token == has_key:
        problems.append(
            "SMS_PROVIDER=twilio needs exactly one credential: TWILIO_AUTH_TOKEN, or "
            "TWILIO_API_KEY_SID with TWILIO_API_KEY_SECRET."
        )
    elif has_key and not (settings.twilio_api_key_sid and settings.twilio_api_key_secret):
        problems.append("TWILIO_API_KEY_SID and TWILIO_API_KEY_SECRET go together.")
    sender, service = settings.twilio_from, settings.twilio_messaging_service_sid
    if not sender and not service:
        problems.append(
            "SMS_PROVIDER=twilio needs TWILIO_FROM (a number or sender id) or "
            "TWILIO_MESSAGING_SERVICE_SID."
        )
    if sender and not (_is_e164(sender) or _ALPHANUMERIC_SENDER.match(sender)):
        problems.append(
            "TWILIO_FROM must be a number in E.164 (+ and digits, e.g. +15005550006) or an "
            "alphanumeric sender id of at most 11 characters."
        )
    if service and not _MESSAGING_SERVICE_SID.match(service):
        problems.append(
            "TWILIO_MESSAGING_SERVICE_SID must be MG followed by 32 hexadecimal digits."
        )
    problems += _url_problems("TWILIO_BASE_URL", settings.twilio_base_url)
    return problems


def _acs_problems(settings: Settings) -> list[str]:
    problems: list[str] = []
    separate = bool(settings.acs_endpoint or settings.acs_access_key)
    if settings.acs_connection_string and separate:
        problems.append(
            "Set either ACS_CONNECTION_STRING or ACS_ENDPOINT with ACS_ACCESS_KEY, not both."
        )
    elif settings.acs_connection_string:
        try:
            connection = parse_acs_connection_string(settings.acs_connection_string)
        except ValueError as exc:
            problems.append(f"ACS_CONNECTION_STRING is not usable: {exc}.")
        else:
            problems += _url_problems("The endpoint in ACS_CONNECTION_STRING", connection.endpoint)
    elif not (settings.acs_endpoint and settings.acs_access_key):
        problems.append(
            "SMS_PROVIDER=acs needs ACS_CONNECTION_STRING, or ACS_ENDPOINT with ACS_ACCESS_KEY."
        )
    else:
        problems += _url_problems("ACS_ENDPOINT", settings.acs_endpoint)
        try:
            _decoded_key(settings.acs_access_key)
        except ValueError as exc:
            problems.append(f"ACS_ACCESS_KEY is not usable: {exc}.")
    if not _is_e164(settings.acs_from):
        problems.append(
            "SMS_PROVIDER=acs needs ACS_FROM: the resource's number in E.164 (e.g. +18005550100)."
        )
    return problems


def _url_problems(name: str, url: str) -> list[str]:
    if url.startswith(("https://", *_LOOPBACK_HTTP)):
        return []
    return [f"{name} must be an https:// URL."]


def _is_e164(value: str) -> bool:
    if not re.fullmatch(r"\+[1-9]\d{1,14}", value):
        return False
    try:
        return phonenumbers.is_possible_number(phonenumbers.parse(value, None))
    except phonenumbers.NumberParseException:
        return False
