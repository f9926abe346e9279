"""The operator's listener (/healthz, /metrics): loopback by default, a token beyond it."""

from __future__ import annotations

import pytest

from bot.config import MIN_TOKEN_LENGTH, ConfigError, Settings

GOOD = {
    "GRAPH_TENANT_ID": "11111111-1111-1111-1111-111111111111",
    "GRAPH_CLIENT_ID": "22222222-2222-2222-2222-222222222222",
    "GRAPH_CLIENT_SECRET": "very-secret-value",
}


def test_by_default_the_operator_listener_is_loopback_next_to_the_bot() -> None:
    s = Settings.from_env(GOOD)
    assert (s.ops_host, s.ops_port, s.ops_token) == ("127.0.0.1", 3979, "")


def test_beyond_loopback_the_operator_listener_needs_a_token() -> None:
    everywhere = GOOD | {"OPS_HOST": "0.0.0.0"}  # noqa: S104  # the value under test
    with pytest.raises(ConfigError, match=r"OPS_HOST=0\.0\.0\.0 needs OPS_TOKEN"):
        Settings.from_env(everywhere)
    token = "long-random-token-0123456789abcdefgh"
    s = Settings.from_env(everywhere | {"OPS_TOKEN": token})
    assert s.ops_token == token
    assert "long-random-token" not in repr(s)


def test_the_operator_listener_needs_a_port_of_its_own() -> None:
    with pytest.raises(ConfigError, match="OPS_PORT=4000 is also PORT"):
        Settings.from_env(GOOD | {"PORT": "4000", "OPS_PORT": "4000"})


@pytest.mark.parametrize("setting", ["OPS_TOKEN", "AUDIT_EXPORT_TOKEN"])
def test_a_guessable_token_is_refused_without_echoing_it(setting: str) -> None:
    short = "x" * (MIN_TOKEN_LENGTH - 1)
    with pytest.raises(ConfigError, match=f"{setting} must be at least 32 characters") as raised:
        Settings.from_env(GOOD | {setting: short})
    assert short not in str(raised.value)
    assert Settings.from_env(GOOD | {setting: "y" * MIN_TOKEN_LENGTH})


@pytest.mark.parametrize(
    ("url", "accepted"),
    [
        ("https://login.botframework.com/v1/.well-known/openidconfiguration", True),
        ("http://127.0.0.1:8080/v1/.well-known/openidconfiguration", True),
        ("http://localhost/keys", True),
        ("http://keys.example.com/v1/.well-known/openidconfiguration", False),
        ("ftp://127.0.0.1/keys", False),
        ("https://", False),
        ("http://[::1", False),
        ("HTTP://127.0.0.1/keys", True),
        ("http://[::1]:8080/keys", True),
        ("http://127.0.0.1.keys.example.com/keys", False),
        ("http://127.0.0.1@keys.example.com/keys", False),
        # Python reads the host after the "@", requests (which fetches the keys) before the
        # backslash: keys.example.com over plain http.
        ("http://keys.example.com\\@127.0.0.1/keys", False),
        ("http://keys.example.com\\@localhost/keys", False),
    ],
)
def test_channel_signing_keys_come_only_over_https_or_from_this_machine(
    url: str, accepted: bool
) -> None:
    settings = GOOD | {"BOT_OPENID_METADATA_URL": url}
    if accepted:
        assert Settings.from_env(settings).bot_openid_metadata_url == url
    else:
        with pytest.raises(ConfigError, match="BOT_OPENID_METADATA_URL must be an https URL"):
            Settings.from_env(settings)
