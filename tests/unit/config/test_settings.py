from __future__ import annotations

from datetime import time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.app import joiner_config
from bot.config import ApprovalMode, ConfigError, Settings

GOOD = {
    "GRAPH_TENANT_ID": "11111111-1111-1111-1111-111111111111",
    "GRAPH_CLIENT_ID": "22222222-2222-2222-2222-222222222222",
    "GRAPH_CLIENT_SECRET": "very-secret-value",
}
APP_ID = "44444444-4444-4444-4444-444444444444"
APP_TENANT_ID = "55555555-5555-5555-5555-555555555555"


def test_defaults_follow_the_product_rules() -> None:
    s = Settings.from_env(GOOD)
    assert s.approval_mode is ApprovalMode.FOUR_EYES
    assert s.manager_change_window_days == 14
    assert (s.requests_per_requester_per_hour, s.requests_per_target_per_day) == (10, 3)
    assert s.joiner_days_ahead == 7
    assert s.database_url.startswith("sqlite+aiosqlite:///")
    assert not s.production
    assert s.graph_identity == "secret"


def test_bot_framework_names_are_read_as_azure_uses_them() -> None:
    s = Settings.from_env(
        GOOD
        | {
            "MicrosoftAppId": APP_ID,
            "MicrosoftAppPassword": "pw",
            "MicrosoftAppType": "SingleTenant",
            "MicrosoftAppTenantId": APP_TENANT_ID,
        }
    )
    assert (s.app_id, s.app_tenant_id, s.production) == (APP_ID, APP_TENANT_ID, True)


def test_every_problem_is_reported_at_once_and_secrets_are_not_echoed() -> None:
    env = {
        "PORT": "not-a-port",
        "MicrosoftAppId": APP_ID,
        "MicrosoftAppType": "SingleTenant",
        "GRAPH_CLIENT_SECRET": "hunter2-secret",
        "TIMEZONE": "Mars/Olympus",
        "SMS_PROVIDER": "twilio",
        "RATE_LIMIT_PER_TARGET_DAY": "0",
    }
    with pytest.raises(ConfigError) as caught:
        Settings.from_env(env)
    text = str(caught.value)
    for expected in (
        "PORT",
        "MicrosoftAppTenantId",
        "MicrosoftAppPassword",
        "GRAPH_TENANT_ID",
        "GRAPH_CLIENT_ID",
        "TIMEZONE",
        "TWILIO_ACCOUNT_SID",
        "RATE_LIMIT_PER_TARGET_DAY",
    ):
        assert expected in text, expected
    assert "hunter2" not in text
    assert len(caught.value.problems) >= 8


def test_exactly_one_graph_credential(tmp_path: Path) -> None:
    cert = tmp_path / "cert.pem"
    cert.write_text("x")
    with pytest.raises(ConfigError, match="exactly one Graph credential"):
        Settings.from_env(GOOD | {"GRAPH_CERTIFICATE_PATH": str(cert)})
    only_cert = {k: v for k, v in GOOD.items() if k != "GRAPH_CLIENT_SECRET"}
    assert (
        Settings.from_env(only_cert | {"GRAPH_CERTIFICATE_PATH": str(cert)}).graph_identity
        == "certificate"
    )
    mi = Settings.from_env(
        {"GRAPH_TENANT_ID": GOOD["GRAPH_TENANT_ID"], "GRAPH_USE_MANAGED_IDENTITY": "true"}
    )
    assert mi.graph_identity == "managed_identity"


def test_missing_certificate_file_is_named(tmp_path: Path) -> None:
    only_cert = {k: v for k, v in GOOD.items() if k != "GRAPH_CLIENT_SECRET"}
    with pytest.raises(ConfigError, match="not a readable file"):
        Settings.from_env(only_cert | {"GRAPH_CERTIFICATE_PATH": str(tmp_path / "missing.pem")})


def test_env_file_is_read_and_the_environment_wins(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(
        f"GRAPH_TENANT_ID={APP_TENANT_ID}\nGRAPH_CLIENT_ID={APP_ID}\nGRAPH_CLIENT_SECRET=s\n"
        "PORT=4000\n"
    )
    s = Settings.from_env({"PORT": "5000"}, env_file=env_file)
    assert (s.tenant_id, s.port) == (APP_TENANT_ID, 5000)


def test_lists_accept_commas_and_empty_means_unset() -> None:
    a, b, c = (f"{n}{n}{n}{n}{n}{n}{n}{n}-0000-0000-0000-000000000000" for n in "abc")
    s = Settings.from_env(GOOD | {"BLOCKED_GROUP_IDS": f" {a}, {b} ,,{c}", "HELPDESK_GROUP_ID": ""})
    assert s.blocked_group_ids == [a, b, c]
    assert s.helpdesk_group_id == ""
    assert s.privileged_role_ids == []


def test_settings_are_frozen() -> None:
    s = Settings.from_env(GOOD)
    with pytest.raises(ValueError, match="frozen"):
        s.port = 1  # type: ignore[misc]


def test_repr_hides_secrets() -> None:
    s = Settings.from_env(GOOD | {"MicrosoftAppPassword": "bf-password-xyz"})
    assert "very-secret-value" not in repr(s)
    assert "bf-password-xyz" not in repr(s)


def test_without_channel_auth_the_bot_only_listens_on_loopback() -> None:
    with pytest.raises(ConfigError, match=r"HOST=0\.0\.0\.0 needs MicrosoftAppId"):
        Settings.from_env(GOOD | {"HOST": "0.0.0.0"})  # noqa: S104  # the value under test
    assert Settings.from_env(GOOD | {"HOST": "localhost"}).host == "localhost"
    secured = GOOD | {"HOST": "0.0.0.0", "MicrosoftAppId": APP_ID, "MicrosoftAppPassword": "p"}  # noqa: S104
    assert Settings.from_env(secured).production


def test_hr_provisioning_app_ids_are_a_list_of_guids() -> None:
    s = Settings.from_env(
        GOOD
        | {
            "HR_PROVISIONING_APP_IDS": " 5E1A7C3D-9B2F-4D6E-8A1C-3F5B7D9E1A31 ,"
            "5e1a7c3d-9b2f-4d6e-8a1c-3f5b7d9e1a32"
        }
    )
    assert s.hr_provisioning_app_ids == [
        "5e1a7c3d-9b2f-4d6e-8a1c-3f5b7d9e1a31",
        "5e1a7c3d-9b2f-4d6e-8a1c-3f5b7d9e1a32",
    ]
    assert Settings.from_env(GOOD).hr_provisioning_app_ids == []
    assert Settings.from_env(GOOD).manager_sync_interval_seconds == 60


def test_an_hr_provisioning_app_id_that_is_not_a_guid_is_reported() -> None:
    with pytest.raises(ConfigError) as raised:
        Settings.from_env(
            GOOD | {"HR_PROVISIONING_APP_IDS": "Workday,", "MANAGER_SYNC_INTERVAL_SECONDS": "0"}
        )
    text = str(raised.value)
    assert "HR_PROVISIONING_APP_IDS: entry 1 of 1 is not a GUID" in text
    assert "Workday" not in text  # a value in the wrong setting may be a secret: never echoed
    assert "MANAGER_SYNC_INTERVAL_SECONDS" in text


def test_joiner_settings_and_their_domain_view() -> None:
    s = Settings.from_env(
        GOOD
        | {
            "TIMEZONE": "Europe/Berlin",
            "JOINER_DAYS_AHEAD": "10",
            "JOINER_MARGIN_DAYS": "3",
            "JOINER_SWEEP_TIME": "06:30",
            "JOINER_SWEEP_AT_START": "false",
            "JOINER_SCOPE_DEPARTMENTS": "Finance, R&D ,",
            "JOINER_SCOPE_COMPANIES": "Contoso Ltd",
            "JOINER_SCOPE_GROUP_ID": "a1b2c3d4-0004-4a5b-8c9d-0e1f2a3b4c04",
            "JOINER_AUTO_MAX_ACCOUNT_AGE_DAYS": "30",
        }
    )
    config = joiner_config(s)
    assert config.auto_max_account_age_days == 30
    assert config.timezone == ZoneInfo("Europe/Berlin")
    assert (config.days_ahead, config.margin_days, config.sweep_time) == (10, 3, time(6, 30))
    assert config.sweep_at_start is False
    assert (config.departments, config.companies) == (("Finance", "R&D"), ("Contoso Ltd",))
    assert config.group_id == "a1b2c3d4-0004-4a5b-8c9d-0e1f2a3b4c04"
    defaults = joiner_config(Settings.from_env(GOOD))
    assert (defaults.sweep_at_start, defaults.auto_max_account_age_days) == (True, 60)


@pytest.mark.parametrize(
    ("name", "value", "words"),
    [
        ("JOINER_SCOPE_GROUP_ID", "Finance", "JOINER_SCOPE_GROUP_ID must be a group's object id"),
        ("JOINER_DAYS_AHEAD", "0", "JOINER_DAYS_AHEAD"),
        ("JOINER_MARGIN_DAYS", "30", "JOINER_MARGIN_DAYS"),
        ("JOINER_SWEEP_TIME", "25:00", "JOINER_SWEEP_TIME"),
        ("JOINER_AUTO_MAX_ACCOUNT_AGE_DAYS", "0", "JOINER_AUTO_MAX_ACCOUNT_AGE_DAYS"),
        ("JOINER_AUTO_MAX_ACCOUNT_AGE_DAYS", "366", "JOINER_AUTO_MAX_ACCOUNT_AGE_DAYS"),
    ],
)
def test_bad_joiner_settings_are_named(name: str, value: str, words: str) -> None:
    with pytest.raises(ConfigError) as raised:
        Settings.from_env(GOOD | {name: value})
    assert words in str(raised.value)
