"""Delivery settings: each provider's credentials, senders and addresses, checked together."""

from __future__ import annotations

import pytest

from bot.config import ConfigError, Settings
from bot.delivery.settings import acs_connection, delivery_setup, parse_acs_connection_string
from bot.domain.delivery_options import MailTo
from bot.domain.model import DeliveryMethod

GOOD = {
    "GRAPH_TENANT_ID": "11111111-1111-1111-1111-111111111111",
    "GRAPH_CLIENT_ID": "22222222-2222-2222-2222-222222222222",
    "GRAPH_CLIENT_SECRET": "very-secret-value",
}
ACCOUNT = "AC" + "0123456789abcdef" * 2
TWILIO = GOOD | {
    "SMS_PROVIDER": "twilio",
    "TWILIO_ACCOUNT_SID": ACCOUNT,
    "TWILIO_AUTH_TOKEN": "twilio-token-secret",
    "TWILIO_FROM": "+15005550006",
}
KEY = "MDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDA="
ACS = GOOD | {
    "SMS_PROVIDER": "acs",
    "ACS_CONNECTION_STRING": f"endpoint=https://contoso.communication.azure.com/;accesskey={KEY}",
    "ACS_FROM": "+18005550100",
}


def _problems(env: dict[str, str]) -> str:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env(env)
    return str(caught.value)


def test_delivery_defaults() -> None:
    s = Settings.from_env(GOOD)
    assert (s.sms_provider, s.mail_to, s.mail_cc_manager) == ("none", MailTo.PERSONAL, True)
    assert (s.sms_allow_typed_number, s.teams_install_for_target) == (False, True)
    assert s.helpdesk_contact == "your IT helpdesk"
    assert s.notice_methods == []
    setup = delivery_setup(s)
    assert (setup.sms, setup.email, setup.chat_to_target) == (False, False, False)


def test_twilio_with_a_token_or_an_api_key_and_a_number_or_a_service() -> None:
    assert Settings.from_env(TWILIO).sms_provider == "twilio"
    keyed = {k: v for k, v in TWILIO.items() if k != "TWILIO_AUTH_TOKEN"} | {
        "TWILIO_API_KEY_SID": "SK" + "1" * 32,
        "TWILIO_API_KEY_SECRET": "key-secret",
    }
    assert Settings.from_env(keyed).twilio_api_key_sid.startswith("SK")
    serviced = {k: v for k, v in TWILIO.items() if k != "TWILIO_FROM"} | {
        "TWILIO_MESSAGING_SERVICE_SID": "MG" + "2" * 32
    }
    assert Settings.from_env(serviced).twilio_messaging_service_sid.startswith("MG")
    assert Settings.from_env(TWILIO | {"TWILIO_FROM": "Contoso IT"}).twilio_from == "Contoso IT"


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"TWILIO_ACCOUNT_SID": "AC123"}, "AC followed by 32 hexadecimal digits"),
        ({"TWILIO_AUTH_TOKEN": ""}, "exactly one credential"),
        ({"TWILIO_API_KEY_SID": "SK" + "1" * 32, "TWILIO_API_KEY_SECRET": "x"}, "exactly one"),
        ({"TWILIO_FROM": ""}, "TWILIO_FROM (a number or sender id) or"),
        ({"TWILIO_FROM": "07911 123456"}, "TWILIO_FROM must be a number in E.164"),
        ({"TWILIO_FROM": "Much too long a name"}, "TWILIO_FROM must be"),
        ({"TWILIO_MESSAGING_SERVICE_SID": "MG1"}, "MG followed by 32"),
        ({"TWILIO_BASE_URL": "http://api.twilio.example"}, "TWILIO_BASE_URL must be an https"),
    ],
)
def test_twilio_problems_are_named(changes: dict[str, str], words: str) -> None:
    assert words in _problems(TWILIO | changes)


def test_a_key_sid_without_its_secret_is_named() -> None:
    env = {k: v for k, v in TWILIO.items() if k != "TWILIO_AUTH_TOKEN"}
    assert "go together" in _problems(env | {"TWILIO_API_KEY_SID": "SK" + "1" * 32})


def test_acs_from_a_connection_string_or_endpoint_and_key() -> None:
    connection = acs_connection(Settings.from_env(ACS))
    assert connection.endpoint == "https://contoso.communication.azure.com"
    assert connection.access_key == b"0" * 32
    separate = {k: v for k, v in ACS.items() if k != "ACS_CONNECTION_STRING"} | {
        "ACS_ENDPOINT": "https://contoso.communication.azure.com/",
        "ACS_ACCESS_KEY": KEY,
    }
    assert acs_connection(Settings.from_env(separate)) == connection


def test_a_connection_string_is_read_as_the_azure_sdk_reads_it() -> None:
    parsed = parse_acs_connection_string(f" AccessKey={KEY} ; Endpoint=https://x.example/ ;")
    assert (parsed.endpoint, parsed.access_key) == ("https://x.example", b"0" * 32)


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"ACS_CONNECTION_STRING": "endpoint=https://x.example"}, "it needs endpoint"),
        ({"ACS_CONNECTION_STRING": "endpoint=https://x.example;accesskey=!!"}, "not base64"),
        ({"ACS_CONNECTION_STRING": f"endpoint=http://x.example;accesskey={KEY}"}, "https"),
        ({"ACS_ENDPOINT": "https://x.example"}, "not both"),
        ({"ACS_CONNECTION_STRING": ""}, "needs ACS_CONNECTION_STRING, or ACS_ENDPOINT"),
        ({"ACS_FROM": "18005550100"}, "ACS_FROM"),
    ],
)
def test_acs_problems_are_named(changes: dict[str, str], words: str) -> None:
    assert words in _problems(ACS | changes)


def test_secrets_are_never_echoed() -> None:
    text = _problems(
        TWILIO
        | {"TWILIO_FROM": "bad", "TWILIO_API_KEY_SECRET": "hunter2-key"}
        | {"SMS_DEFAULT_REGION": "XX"}
    )
    assert "hunter2" not in text
    assert "twilio-token-secret" not in text
    text = _problems(ACS | {"ACS_CONNECTION_STRING": "endpoint=x;accesskey=not*base64*secret"})
    assert "not*base64*secret" not in text
    assert KEY not in repr(Settings.from_env(ACS))
    assert "twilio-token-secret" not in repr(Settings.from_env(TWILIO))


def test_a_region_for_numbers_without_a_country_code() -> None:
    setup = delivery_setup(Settings.from_env(GOOD | {"SMS_DEFAULT_REGION": "gb"}))
    assert setup.default_region == "GB"
    assert "SMS_DEFAULT_REGION='XX'" in _problems(GOOD | {"SMS_DEFAULT_REGION": "XX"})


@pytest.mark.parametrize(
    "contact",
    [
        "https://help.contoso.example",
        "help.contoso.example",
        "helpdesk@contoso.example",
        "the service desk on +44 20 7946 0000",
        "www.contoso",
    ],
)
def test_the_helpdesk_contact_may_hold_nothing_a_phone_would_link(contact: str) -> None:
    assert "HELPDESK_CONTACT" in _problems(GOOD | {"HELPDESK_CONTACT": contact})


def test_a_plain_helpdesk_contact_is_accepted() -> None:
    contact = "the Contoso service desk, extension 4000"
    assert Settings.from_env(GOOD | {"HELPDESK_CONTACT": contact}).helpdesk_contact == contact


def test_notice_methods_need_their_channel_and_go_to_the_person() -> None:
    env = GOOD | {"NOTICE_METHODS": "sms, email,chat_target"}
    text = _problems(env)
    assert "NOTICE_METHODS lists sms, which needs SMS_PROVIDER" in text
    assert "email, which needs MAIL_SENDER" in text
    assert "chat_target, which needs TEAMS_APP_ID" in text
    assert "not chat_requester" in _problems(TWILIO | {"NOTICE_METHODS": "chat_requester"})
    s = Settings.from_env(TWILIO | {"NOTICE_METHODS": "sms", "MAIL_SENDER": "tapbot@x.example"})
    assert s.notice_methods == [DeliveryMethod.SMS]


def test_mail_to_is_personal_or_work() -> None:
    assert Settings.from_env(GOOD | {"MAIL_TO": "work"}).mail_to is MailTo.WORK
    assert "MAIL_TO" in _problems(GOOD | {"MAIL_TO": "home"})
