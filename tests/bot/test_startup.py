"""What the bot says about its configuration when it starts."""

from __future__ import annotations

from structlog.testing import capture_logs

from tests.bot.conftest import StartBot

HELPDESK_ADMIN = "729827e3-9c14-49f7-bb1b-9608f156bbb8"
SECURITY_READER = "5d6b6bb7-de71-4623-b4af-96380a352509"


async def test_start_up_warns_about_each_privileged_role_no_longer_protected(
    start_bot: StartBot,
) -> None:
    with capture_logs() as logs:
        await start_bot(UNSAFE_UNPROTECTED_ROLE_IDS=f"{HELPDESK_ADMIN},{SECURITY_READER.upper()}")
    warned = [
        (entry["role"], entry["role_id"])
        for entry in logs
        if entry["log_level"] == "warning" and "NOT protected" in entry["event"]
    ]
    assert warned == [
        ("Helpdesk Administrator", HELPDESK_ADMIN),
        ("Security Reader", SECURITY_READER),
    ]


async def test_no_warning_when_every_default_role_is_protected(start_bot: StartBot) -> None:
    with capture_logs() as logs:
        await start_bot()
    assert [entry for entry in logs if entry["log_level"] == "warning"] == []
