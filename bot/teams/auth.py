"""Bot Framework authentication for incoming activities and outgoing replies."""

from __future__ import annotations

from types import SimpleNamespace

from botbuilder.integration.aiohttp import ConfigurationBotFrameworkAuthentication
from botframework.connector.auth import AuthenticationConstants

from bot.config import Settings


def bot_framework_authentication(settings: Settings) -> ConfigurationBotFrameworkAuthentication:
    """Build the channel authentication for *settings*.

    With no ``MicrosoftAppId`` botbuilder disables auth (the Agents Playground and Emulator
    mode); with one, every incoming activity needs a valid channel token. A test may point
    ``BOT_OPENID_METADATA_URL`` at its own signing keys.
    """
    config = SimpleNamespace(
        APP_ID=settings.app_id,
        APP_PASSWORD=settings.app_password,
        APP_TYPE=settings.app_type.value,
        APP_TENANTID=settings.app_tenant_id,
    )
    if settings.bot_openid_metadata_url:
        # botbuilder switches to its parameterised authentication as soon as one of these is
        # present, and then uses None for any it lacks: so all of them are set.
        config.TO_CHANNEL_FROM_BOT_LOGIN_URL = AuthenticationConstants.TO_CHANNEL_FROM_BOT_LOGIN_URL
        config.TO_CHANNEL_FROM_BOT_OAUTH_SCOPE = (
            AuthenticationConstants.TO_CHANNEL_FROM_BOT_OAUTH_SCOPE
        )
        config.TO_BOT_FROM_CHANNEL_TOKEN_ISSUER = (
            AuthenticationConstants.TO_BOT_FROM_CHANNEL_TOKEN_ISSUER
        )
        config.OAUTH_URL = AuthenticationConstants.OAUTH_URL
        config.TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL = settings.bot_openid_metadata_url
        config.TO_BOT_FROM_EMULATOR_OPENID_METADATA_URL = settings.bot_openid_metadata_url
        config.CALLER_ID = None
        config.VALIDATE_AUTHORITY = True
    return ConfigurationBotFrameworkAuthentication(config)
