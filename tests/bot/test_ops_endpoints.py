"""/healthz and /metrics live on the operator's listener (OPS_HOST:OPS_PORT), not on the Teams
port, and answer only with OPS_TOKEN when one is set."""

from __future__ import annotations

from urllib.parse import urlsplit

from tests.bot.conftest import StartBot

TOKEN = "ops-token-for-tests-0123456789abcdef"


async def test_the_teams_port_does_not_serve_health_or_metrics(start_bot: StartBot) -> None:
    bot = await start_bot()
    for path in ("/healthz", "/metrics"):
        response = await bot.client.get(path)
        assert response.status == 404, path
        assert "tapbot_" not in await response.text()
    assert (await bot.ops_get("/healthz"))[0] == 200
    assert "tapbot_activities_total" in (await bot.ops_get("/metrics"))[1]


async def test_the_operator_listener_is_on_loopback_and_another_port(start_bot: StartBot) -> None:
    bot = await start_bot()
    ops = urlsplit(bot.ops_url)
    assert ops.hostname == "127.0.0.1"
    assert ops.port not in (None, bot.client.port)


async def test_with_a_token_only_requests_carrying_it_are_answered(start_bot: StartBot) -> None:
    bot = await start_bot(OPS_TOKEN=TOKEN)
    for path in ("/healthz", "/metrics"):
        for wrong in (None, "nope", TOKEN + "x"):
            status, body = await bot.ops_get(path, token=wrong)
            assert status == 401, (path, wrong)
            assert "store" not in body
            assert "tapbot_" not in body
        assert (await bot.ops_get(path, token=TOKEN))[0] == 200
