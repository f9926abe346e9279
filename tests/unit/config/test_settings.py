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
            "MicrosoftAppId": "app",
            "MicrosoftAppPassword": "pw",
            "MicrosoftAppType": "SingleTenant",
            "MicrosoftAppTenantId": "tid",
        }
    )
    assert (s.app_id, s.app_tenant_id, s.production) == ("app", "tid", True)


def test_every_problem_is_reported_at_once_and_secrets_are_not_echoed() -> None:
    env = {
        "PORT": "not-a-port",
        "MicrosoftAppId": "app",
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
    mi = Settings.from_env({"GRAPH_TENANT_ID": "t", "GRAPH_USE_MANAGED_IDENTITY": "true"})
    assert mi.graph_identity == "managed_identity"


def test_missing_certificate_file_is_named(tmp_path: Path) -> None:
    only_cert = {k: v for k, v in GOOD.items() if k != "GRAPH_CLIENT_SECRET"}
    with pytest.raises(ConfigError, match="not a readable file"):
        Settings.from_env(only_cert | {"GRAPH_CERTIFICATE_PATH": str(tmp_path / "missing.pem")})


def test_env_file_is_read_and_the_environment_wins(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(
        "GRAPH_TENANT_ID=from-file\nGRAPH_CLIENT_ID=c\nGRAPH_CLIENT_SECRET=s\nPORT=4000\n"
    )
    s = Settings.from_env({"PORT": "5000"}, env_file=env_file)
    assert (s.tenant_id, s.port) == ("from-file", 5000)


def test_lists_accept_commas_and_empty_means_unset() -> None:
    s = Settings.from_env(GOOD | {"BLOCKED_GROUP_IDS": " a, b ,,c", "HELPDESK_GROUP_ID": ""})
    assert s.blocked_group_ids == ["a", "b", "c"]
    assert s.helpdesk_group_id == ""
    assert s.privileged_role_ids is None


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
    secured = GOOD | {"HOST": "0.0.0.0", "MicrosoftAppId": "a", "MicrosoftAppPassword": "p"}  # noqa: S104
    assert Settings.from_env(secured).production


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
        }
    )
    config = joiner_config(s)
    assert config.timezone == ZoneInfo("Europe/Berlin")
    assert (config.days_ahead, config.margin_days, config.sweep_time) == (10, 3, time(6, 30))
    assert config.sweep_at_start is False
    assert (config.departments, config.companies) == (("Finance", "R&D"), ("Contoso Ltd",))
    assert config.group_id == "a1b2c3d4-0004-4a5b-8c9d-0e1f2a3b4c04"
    assert joiner_config(Settings.from_env(GOOD)).sweep_at_start is True


@pytest.mark.parametrize(
    ("name", "value", "words"),
    [
        ("JOINER_SCOPE_GROUP_ID", "Finance", "JOINER_SCOPE_GROUP_ID must be a group's object id"),
        ("JOINER_DAYS_AHEAD", "0", "JOINER_DAYS_AHEAD"),
        ("JOINER_MARGIN_DAYS", "30", "JOINER_MARGIN_DAYS"),
        ("JOINER_SWEEP_TIME", "25:00", "JOINER_SWEEP_TIME"),
    ],
)
def test_bad_joiner_settings_are_named(name: str, value: str, words: str) -> None:
    with pytest.raises(ConfigError) as raised:
        Settings.from_env(GOOD | {name: value})
    assert words in str(raised.value)
