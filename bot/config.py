"""Settings, parsed once from the environment (and an optional ``.env`` file) into a frozen object.

Bot Framework settings keep Bot Framework's own names (``MicrosoftAppId`` …) so an Azure Bot's
configuration can be pasted as it is. Everything else is ``UPPER_SNAKE``. Every problem with the
settings is collected and reported in one `ConfigError`; values of secrets are never echoed.
"""

from __future__ import annotations

import contextlib
import enum
import re
import zoneinfo
from collections.abc import Mapping
from datetime import time
from pathlib import Path
from typing import Any, Self

from dotenv import dotenv_values
from pydantic import AliasChoices, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///var/tapbot.db"
GRAPH_SCOPE_RESOURCE = "https://graph.microsoft.com"


class ConfigError(Exception):
    """The settings are invalid; *problems* lists each one in plain words."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"tapbot cannot start: {len(problems)} setting problem(s):\n{lines}")


class AppType(enum.StrEnum):
    MULTI_TENANT = "MultiTenant"
    SINGLE_TENANT = "SingleTenant"
    USER_ASSIGNED_MSI = "UserAssignedMSI"


class ApprovalMode(enum.StrEnum):
    FOUR_EYES = "four_eyes"
    FOUR_EYES_AND_MANAGER = "four_eyes_and_manager"
    NONE = "none"


class SmsProvider(enum.StrEnum):
    NONE = "none"
    TWILIO = "twilio"
    ACS = "acs"


def _csv(value: object) -> object:
    """Accept ``a,b , c`` as well as a list for list-valued settings."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})
_GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")


class Settings(BaseSettings):
    """Every setting tapbot reads. Build it with `Settings.from_env`, never at import time."""

    model_config = SettingsConfigDict(frozen=True, extra="ignore", populate_by_name=False)

    # Bot Framework (names as the Azure Bot resource uses them)
    app_id: str = Field("", alias="MicrosoftAppId")
    app_password: str = Field("", alias="MicrosoftAppPassword", repr=False)
    app_type: AppType = Field(AppType.MULTI_TENANT, alias="MicrosoftAppType")
    app_tenant_id: str = Field("", alias="MicrosoftAppTenantId")
    # Only for tests: where the channel's OpenID metadata (signing keys) is read from.
    bot_openid_metadata_url: str = Field("", alias="BOT_OPENID_METADATA_URL")

    # Web server
    host: str = Field("127.0.0.1", alias="HOST")
    port: int = Field(3978, alias="PORT", ge=0, le=65535)
    max_request_bytes: int = Field(256 * 1024, alias="MAX_REQUEST_BYTES", ge=1024)

    # Microsoft Graph identity
    tenant_id: str = Field("", validation_alias=AliasChoices("GRAPH_TENANT_ID", "AZURE_TENANT_ID"))
    graph_client_id: str = Field("", alias="GRAPH_CLIENT_ID")
    graph_client_secret: str = Field("", alias="GRAPH_CLIENT_SECRET", repr=False)
    graph_certificate_path: Path | None = Field(None, alias="GRAPH_CERTIFICATE_PATH")
    graph_certificate_thumbprint: str = Field("", alias="GRAPH_CERTIFICATE_THUMBPRINT")
    graph_managed_identity: bool = Field(False, alias="GRAPH_USE_MANAGED_IDENTITY")
    graph_managed_identity_client_id: str = Field("", alias="GRAPH_MANAGED_IDENTITY_CLIENT_ID")
    graph_authority_host: str = Field(
        "https://login.microsoftonline.com", alias="GRAPH_AUTHORITY_HOST"
    )
    graph_base_url: str = Field("https://graph.microsoft.com/v1.0", alias="GRAPH_BASE_URL")
    # A CA bundle for a private authority or Graph endpoint (the sandbox's); empty: system CAs.
    graph_ca_bundle: Path | None = Field(None, alias="GRAPH_CA_BUNDLE")
    graph_timeout_seconds: float = Field(15.0, alias="GRAPH_TIMEOUT_SECONDS", gt=0)

    # Storage
    database_url: str = Field(DEFAULT_DATABASE_URL, alias="DATABASE_URL", repr=False)

    # Teams
    teams_app_id: str = Field("", alias="TEAMS_APP_ID")
    helpdesk_channel_id: str = Field("", alias="HELPDESK_CHANNEL_ID")

    # Policy knobs (PRODUCT.md, "Rules the bot enforces")
    helpdesk_group_id: str = Field("", alias="HELPDESK_GROUP_ID")
    approval_mode: ApprovalMode = Field(ApprovalMode.FOUR_EYES, alias="APPROVAL_MODE")
    manager_change_window_days: int = Field(14, alias="MANAGER_CHANGE_WINDOW_DAYS", ge=0, le=365)
    allow_indirect_reports: bool = Field(False, alias="ALLOW_INDIRECT_REPORTS")
    allow_guests: bool = Field(False, alias="ALLOW_GUESTS")
    privileged_role_ids: list[str] | None = Field(None, alias="PRIVILEGED_ROLE_IDS")
    blocked_group_ids: list[str] = Field(default_factory=list, alias="BLOCKED_GROUP_IDS")
    max_lifetime_minutes: int = Field(480, alias="MAX_LIFETIME_MINUTES", ge=10, le=43200)
    require_one_time: bool = Field(False, alias="REQUIRE_ONE_TIME")
    requests_per_requester_per_hour: int = Field(10, alias="RATE_LIMIT_PER_REQUESTER_HOUR", ge=1)
    requests_per_target_per_day: int = Field(3, alias="RATE_LIMIT_PER_TARGET_DAY", ge=1)
    approval_timeout_minutes: int = Field(240, alias="APPROVAL_TIMEOUT_MINUTES", ge=5)
    pass_redact_after_minutes: int = Field(60, alias="PASS_REDACT_AFTER_MINUTES", ge=1)
    # How often due work (pass redactions) is looked for.
    scheduler_interval_seconds: float = Field(15.0, alias="SCHEDULER_INTERVAL_SECONDS", gt=0)

    # Joiner reminders
    timezone: str = Field("UTC", alias="TIMEZONE")
    joiner_days_ahead: int = Field(7, alias="JOINER_DAYS_AHEAD", ge=1, le=60)
    joiner_margin_days: int = Field(2, alias="JOINER_MARGIN_DAYS", ge=0, le=14)
    joiner_sweep_time: time = Field(time(8, 0), alias="JOINER_SWEEP_TIME")
    joiner_auto_issue: bool = Field(False, alias="JOINER_AUTO_ISSUE")
    # Sweep at start-up when today's sweep has not run (otherwise only at JOINER_SWEEP_TIME).
    joiner_sweep_at_start: bool = Field(True, alias="JOINER_SWEEP_AT_START")
    # Who counts as a joiner (empty: every enabled member): departments, companies, a group.
    joiner_scope_departments: list[str] = Field(
        default_factory=list, alias="JOINER_SCOPE_DEPARTMENTS"
    )
    joiner_scope_companies: list[str] = Field(default_factory=list, alias="JOINER_SCOPE_COMPANIES")
    joiner_scope_group_id: str = Field("", alias="JOINER_SCOPE_GROUP_ID")

    # Delivery
    mail_sender: str = Field("", alias="MAIL_SENDER")
    mail_cc_manager: bool = Field(True, alias="MAIL_CC_MANAGER")
    sms_provider: SmsProvider = Field(SmsProvider.NONE, alias="SMS_PROVIDER")
    twilio_account_sid: str = Field("", alias="TWILIO_ACCOUNT_SID")
    twilio_auth_token: str = Field("", alias="TWILIO_AUTH_TOKEN", repr=False)
    twilio_from: str = Field("", alias="TWILIO_FROM")
    twilio_base_url: str = Field("https://api.twilio.com", alias="TWILIO_BASE_URL")
    acs_endpoint: str = Field("", alias="ACS_ENDPOINT")
    acs_access_key: str = Field("", alias="ACS_ACCESS_KEY", repr=False)
    acs_from: str = Field("", alias="ACS_FROM")

    # Operations
    log_format: str = Field("console", alias="LOG_FORMAT", pattern="^(console|json)$")
    log_level: str = Field("INFO", alias="LOG_LEVEL", pattern="^(DEBUG|INFO|WARNING|ERROR)$")
    audit_export_token: str = Field("", alias="AUDIT_EXPORT_TOKEN", repr=False)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # `from_env` passes the merged mapping in; reading os.environ here as well would make
        # tests depend on the shell they run in.
        return (init_settings,)

    _split_lists = field_validator(
        "privileged_role_ids",
        "blocked_group_ids",
        "joiner_scope_departments",
        "joiner_scope_companies",
        mode="before",
    )(_csv)

    @classmethod
    def from_env(cls, environ: Mapping[str, str], *, env_file: Path | None = None) -> Self:
        """Parse *environ* (over the values of *env_file*, when it exists) into Settings.

        Raise `ConfigError` listing every problem at once.
        """
        merged: dict[str, Any] = {}
        if env_file is not None and env_file.is_file():
            merged.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
        merged.update(environ)
        known = _known_names(cls)
        # Empty strings mean "not set" in deployment tooling; treat them like absence.
        values = {k: v for k, v in merged.items() if k in known and v != ""}
        try:
            settings = cls(**values)
        except ValidationError as exc:
            problems = [_describe(err) for err in exc.errors()]
            # Drop the values that failed and check the rest too, so one run reports everything.
            bad = {str(err["loc"][0]) for err in exc.errors() if err.get("loc")}
            rest = {k: v for k, v in values.items() if k not in bad}
            with contextlib.suppress(ValidationError):
                problems += cls(**rest).cross_field_problems()
            raise ConfigError(problems) from None
        problems = settings.cross_field_problems()
        if problems:
            raise ConfigError(problems)
        return settings

    @property
    def production(self) -> bool:
        """True when a Bot Framework identity is configured (channel tokens are then required)."""
        return bool(self.app_id) or self.app_type is AppType.USER_ASSIGNED_MSI

    @property
    def graph_identity(self) -> str:
        """Which Graph credential is set: ``managed_identity``, ``certificate`` or ``secret``."""
        if self.graph_managed_identity:
            return "managed_identity"
        if self.graph_certificate_path is not None:
            return "certificate"
        return "secret"

    @property
    def authority(self) -> str:
        return f"{self.graph_authority_host.rstrip('/')}/{self.tenant_id}"

    def cross_field_problems(self) -> list[str]:
        """Return the problems that involve several settings together."""
        problems: list[str] = []
        if self.app_type is not AppType.MULTI_TENANT and not self.app_tenant_id:
            problems.append(f"MicrosoftAppType={self.app_type} needs MicrosoftAppTenantId.")
        if self.app_id and self.app_type is not AppType.USER_ASSIGNED_MSI and not self.app_password:
            problems.append("MicrosoftAppId is set but MicrosoftAppPassword is empty.")
        if not self.production and self.host not in LOOPBACK_HOSTS:
            # Without channel authentication anyone who reaches the port could claim to be
            # any user: that is only acceptable on this machine (the sandbox).
            problems.append(
                f"HOST={self.host} needs MicrosoftAppId: without it channel authentication is "
                "off, so tapbot only listens on 127.0.0.1 or localhost."
            )
        if not self.tenant_id:
            problems.append(
                "GRAPH_TENANT_ID is required: the Entra tenant whose passes tapbot issues."
            )
        if not self.graph_managed_identity:
            if not self.graph_client_id:
                problems.append(
                    "GRAPH_CLIENT_ID is required unless GRAPH_USE_MANAGED_IDENTITY=true."
                )
            has_secret = bool(self.graph_client_secret)
            has_cert = self.graph_certificate_path is not None
            if has_secret == has_cert:
                problems.append(
                    "Set exactly one Graph credential: GRAPH_CLIENT_SECRET or "
                    "GRAPH_CERTIFICATE_PATH (or GRAPH_USE_MANAGED_IDENTITY=true)."
                )
            if (
                has_cert
                and self.graph_certificate_path
                and not self.graph_certificate_path.is_file()
            ):
                problems.append(
                    f"GRAPH_CERTIFICATE_PATH points to {self.graph_certificate_path}, "
                    "which is not a readable file."
                )
        if self.graph_ca_bundle is not None and not self.graph_ca_bundle.is_file():
            problems.append(
                f"GRAPH_CA_BUNDLE points to {self.graph_ca_bundle}, which is not a file."
            )
        for name, url in (
            ("GRAPH_AUTHORITY_HOST", self.graph_authority_host),
            ("GRAPH_BASE_URL", self.graph_base_url),
        ):
            if not url.startswith(("https://", "http://127.0.0.1", "http://localhost")):
                problems.append(f"{name} must be an https:// URL (got {url!r}).")
        if not self.database_url.startswith(("sqlite", "postgresql")):
            problems.append("DATABASE_URL must be a sqlite:// or postgresql:// URL.")
        try:
            zoneinfo.ZoneInfo(self.timezone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            problems.append(
                f"TIMEZONE={self.timezone!r} is not an IANA time zone (e.g. Europe/London)."
            )
        if self.sms_provider is SmsProvider.TWILIO and not (
            self.twilio_account_sid and self.twilio_auth_token and self.twilio_from
        ):
            problems.append(
                "SMS_PROVIDER=twilio needs TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_FROM."
            )
        if self.sms_provider is SmsProvider.ACS and not (
            self.acs_endpoint and self.acs_access_key and self.acs_from
        ):
            problems.append("SMS_PROVIDER=acs needs ACS_ENDPOINT, ACS_ACCESS_KEY and ACS_FROM.")
        if self.joiner_scope_group_id and not _GUID.match(self.joiner_scope_group_id):
            problems.append(
                "JOINER_SCOPE_GROUP_ID must be a group's object id (a GUID); with a wrong one "
                "nobody would count as a joiner."
            )
        if self.joiner_auto_issue and not self.mail_sender:
            problems.append("JOINER_AUTO_ISSUE=true emails the pass, so it needs MAIL_SENDER.")
        return problems


def _known_names(cls: type[Settings]) -> set[str]:
    names: set[str] = set()
    for field in cls.model_fields.values():
        if field.alias:
            names.add(field.alias)
        if isinstance(field.validation_alias, AliasChoices):
            names.update(c for c in field.validation_alias.choices if isinstance(c, str))
    return names


def _describe(error: Mapping[str, Any]) -> str:
    # pydantic's own text includes the input value, which may be a secret: rebuild it without.
    where = ".".join(str(part) for part in error.get("loc", ())) or "settings"
    return f"{where}: {error.get('msg', 'invalid value')}"
