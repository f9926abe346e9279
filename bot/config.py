"""Settings, parsed once from the environment (and an optional ``.env`` file) into a frozen object.

Bot Framework settings keep Bot Framework's own names (``MicrosoftAppId`` …) so an Azure Bot's
configuration can be pasted as it is. Everything else is ``UPPER_SNAKE``. Every problem with the
settings is collected and reported in one `ConfigError`; values of secrets are never echoed.
Every id-valued setting must be a GUID and is kept in lower case (Entra ids compare without case).
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
from urllib.parse import urlsplit

from dotenv import dotenv_values
from pydantic import AliasChoices, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from bot.delivery.settings import delivery_problems
from bot.domain.delivery_options import MailTo
from bot.domain.model import DeliveryMethod
from bot.domain.policy import PRIVILEGED_ROLES

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
    """Who approves a helpdesk member's request: another helpdesk member (four eyes), the
    target's manager and then another helpdesk member, or nobody."""

    FOUR_EYES = "four_eyes"
    MANAGER_AND_HELPDESK = "manager_and_helpdesk"
    NONE = "none"


_STAGE = re.compile(r"^(helpdesk|manager|group:(?P<group>[^@]+))(?:@(?P<minutes>\d{1,6}))?$")


def parse_stage(text: str) -> tuple[str, str, int | None] | None:
    """One APPROVAL_STAGES entry as (approver, group id, minutes or None), or None when it is
    not ``helpdesk``, ``manager`` or ``group:<id>``, each optionally ``@<minutes>``."""
    match = _STAGE.match(text.strip().lower())
    if match is None:
        return None
    group = match.group("group") or ""
    if group and not is_guid(group):
        return None
    approver = "group" if group else match.group(1)
    minutes = match.group("minutes")
    return approver, group, int(minutes) if minutes else None


class SmsProvider(enum.StrEnum):
    NONE = "none"
    TWILIO = "twilio"
    ACS = "acs"


def _csv(value: object) -> object:
    """Accept ``a,b , c`` as well as a list for list-valued settings."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


def _id(value: object) -> object:
    """Lower-case an id (GUIDs from the portal, from Graph and from Teams differ only in case)."""
    return value.strip().lower() if isinstance(value, str) else value


def _ids(value: object) -> object:
    """A comma-separated list of ids, lower-cased, each once, in the order given."""
    value = _csv(value)
    if isinstance(value, list):
        return list(dict.fromkeys(_id(item) for item in value))
    return value


_GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_GUID_SHAPE = "a GUID of 8-4-4-4-12 hexadecimal digits"


def is_guid(value: str) -> bool:
    """True when *value* is a lower-case GUID in its 8-4-4-4-12 form."""
    return _GUID.fullmatch(value) is not None


LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})
# Bearer tokens (AUDIT_EXPORT_TOKEN, OPS_TOKEN) shorter than this are refused at start-up.
MIN_TOKEN_LENGTH = 32


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
    # The operator's listener (/healthz, /metrics): never the Teams port.
    ops_host: str = Field("127.0.0.1", alias="OPS_HOST")
    ops_port: int = Field(3979, alias="OPS_PORT", ge=0, le=65535)
    ops_token: str = Field("", alias="OPS_TOKEN", repr=False)

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
    # App ids or service principal object ids of the HR inbound-provisioning identities whose
    # first manager assignment for a joiner is trusted (not a manager change).
    hr_provisioning_app_ids: list[str] = Field(
        default_factory=list, alias="HR_PROVISIONING_APP_IDS"
    )
    # How often the users delta query is polled for manager changes.
    manager_sync_interval_seconds: float = Field(
        60.0, alias="MANAGER_SYNC_INTERVAL_SECONDS", gt=0, le=3600
    )
    allow_indirect_reports: bool = Field(False, alias="ALLOW_INDIRECT_REPORTS")
    allow_guests: bool = Field(False, alias="ALLOW_GUESTS")
    # Roles protected in addition to tapbot's default list (bot.domain.policy.PRIVILEGED_ROLES).
    privileged_role_ids: list[str] = Field(default_factory=list, alias="PRIVILEGED_ROLE_IDS")
    # Roles of the default list that are NOT protected any more; start-up warns about each.
    unprotected_role_ids: list[str] = Field(
        default_factory=list, alias="UNSAFE_UNPROTECTED_ROLE_IDS"
    )
    blocked_group_ids: list[str] = Field(default_factory=list, alias="BLOCKED_GROUP_IDS")
    max_lifetime_minutes: int = Field(480, alias="MAX_LIFETIME_MINUTES", ge=10, le=43200)
    require_one_time: bool = Field(False, alias="REQUIRE_ONE_TIME")
    requests_per_requester_per_hour: int = Field(10, alias="RATE_LIMIT_PER_REQUESTER_HOUR", ge=1)
    requests_per_target_per_day: int = Field(3, alias="RATE_LIMIT_PER_TARGET_DAY", ge=1)
    approval_timeout_minutes: int = Field(240, alias="APPROVAL_TIMEOUT_MINUTES", ge=1)
    # An explicit stage list for helpdesk requests; overrides APPROVAL_MODE when set.
    approval_stages: list[str] = Field(default_factory=list, alias="APPROVAL_STAGES")
    pass_redact_after_minutes: int = Field(60, alias="PASS_REDACT_AFTER_MINUTES", ge=1)
    # How often due work (pass redactions) is looked for.
    scheduler_interval_seconds: float = Field(15.0, alias="SCHEDULER_INTERVAL_SECONDS", gt=0)

    # Joiner reminders
    timezone: str = Field("UTC", alias="TIMEZONE")
    joiner_days_ahead: int = Field(7, alias="JOINER_DAYS_AHEAD", ge=1, le=60)
    joiner_margin_days: int = Field(2, alias="JOINER_MARGIN_DAYS", ge=0, le=14)
    joiner_sweep_time: time = Field(time(8, 0), alias="JOINER_SWEEP_TIME")
    joiner_auto_issue: bool = Field(False, alias="JOINER_AUTO_ISSUE")
    # JOINER_AUTO_ISSUE only for accounts Entra created at most this many days before the sweep.
    joiner_auto_max_account_age_days: int = Field(
        60, alias="JOINER_AUTO_MAX_ACCOUNT_AGE_DAYS", ge=1, le=365
    )
    # The day-one pass: its length (kept within the tenant policy) and one-time use.
    joiner_pass_lifetime_minutes: int = Field(
        480, alias="JOINER_PASS_LIFETIME_MINUTES", ge=10, le=43200
    )
    joiner_pass_one_time: bool = Field(False, alias="JOINER_PASS_ONE_TIME")
    # Sweep at start-up when today's sweep has not run (otherwise only at JOINER_SWEEP_TIME).
    joiner_sweep_at_start: bool = Field(True, alias="JOINER_SWEEP_AT_START")
    # Who counts as a joiner (empty: every enabled member): departments, companies, a group.
    joiner_scope_departments: list[str] = Field(
        default_factory=list, alias="JOINER_SCOPE_DEPARTMENTS"
    )
    joiner_scope_companies: list[str] = Field(default_factory=list, alias="JOINER_SCOPE_COMPANIES")
    joiner_scope_group_id: str = Field("", alias="JOINER_SCOPE_GROUP_ID")

    # Delivery (checked together by bot.delivery.settings.delivery_problems)
    mail_sender: str = Field("", alias="MAIL_SENDER")
    mail_cc_manager: bool = Field(True, alias="MAIL_CC_MANAGER")
    mail_to: MailTo = Field(MailTo.PERSONAL, alias="MAIL_TO")
    sms_provider: SmsProvider = Field(SmsProvider.NONE, alias="SMS_PROVIDER")
    sms_default_region: str = Field("", alias="SMS_DEFAULT_REGION")
    sms_allow_typed_number: bool = Field(False, alias="SMS_ALLOW_TYPED_NUMBER")
    twilio_account_sid: str = Field("", alias="TWILIO_ACCOUNT_SID")
    twilio_auth_token: str = Field("", alias="TWILIO_AUTH_TOKEN", repr=False)
    twilio_api_key_sid: str = Field("", alias="TWILIO_API_KEY_SID")
    twilio_api_key_secret: str = Field("", alias="TWILIO_API_KEY_SECRET", repr=False)
    twilio_from: str = Field("", alias="TWILIO_FROM")
    twilio_messaging_service_sid: str = Field("", alias="TWILIO_MESSAGING_SERVICE_SID")
    twilio_base_url: str = Field("https://api.twilio.com", alias="TWILIO_BASE_URL")
    acs_connection_string: str = Field("", alias="ACS_CONNECTION_STRING", repr=False)
    acs_endpoint: str = Field("", alias="ACS_ENDPOINT")
    acs_access_key: str = Field("", alias="ACS_ACCESS_KEY", repr=False)
    acs_from: str = Field("", alias="ACS_FROM")
    sms_timeout_seconds: float = Field(15.0, alias="SMS_TIMEOUT_SECONDS", gt=0)
    teams_install_for_target: bool = Field(True, alias="TEAMS_INSTALL_FOR_TARGET")
    # Whom a person should call about a pass they did not expect (in SMS, email and notices).
    helpdesk_contact: str = Field("your IT helpdesk", alias="HELPDESK_CONTACT", max_length=120)
    # Where to tell a person that a pass was issued for them, in order of preference; the
    # first that differs from the pass's own method and can reach them is used. Empty: never.
    notice_methods: list[DeliveryMethod] = Field(default_factory=list, alias="NOTICE_METHODS")

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
        "approval_stages",
        "notice_methods",
        "joiner_scope_departments",
        "joiner_scope_companies",
        mode="before",
    )(_csv)
    _lower_ids = field_validator(
        "app_id",
        "app_tenant_id",
        "tenant_id",
        "graph_client_id",
        "graph_managed_identity_client_id",
        "teams_app_id",
        "helpdesk_group_id",
        "joiner_scope_group_id",
        mode="before",
    )(_id)
    _split_ids = field_validator(
        "privileged_role_ids",
        "unprotected_role_ids",
        "blocked_group_ids",
        "hr_provisioning_app_ids",
        mode="before",
    )(_ids)

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

    @property
    def protected_role_ids(self) -> frozenset[str]:
        """The role ids whose holders never get a pass from tapbot: the default list, plus
        PRIVILEGED_ROLE_IDS, minus UNSAFE_UNPROTECTED_ROLE_IDS."""
        added = frozenset(PRIVILEGED_ROLES) | frozenset(self.privileged_role_ids)
        return added - frozenset(self.unprotected_role_ids)

    def id_problems(self) -> list[str]:
        """Return the problems with id-valued settings; an id that is not a GUID is described
        by its position and length, never echoed (it may be a secret pasted in the wrong
        place)."""
        problems: list[str] = []
        for name, value, what in (
            ("MicrosoftAppId", self.app_id, "the Azure Bot's Microsoft App ID"),
            ("MicrosoftAppTenantId", self.app_tenant_id, "the bot app's Entra tenant id"),
            ("GRAPH_TENANT_ID", self.tenant_id, "the Entra tenant id (not its domain name)"),
            ("GRAPH_CLIENT_ID", self.graph_client_id, "the app registration's client id"),
            (
                "GRAPH_MANAGED_IDENTITY_CLIENT_ID",
                self.graph_managed_identity_client_id,
                "the user-assigned managed identity's client id",
            ),
            ("TEAMS_APP_ID", self.teams_app_id, "the Teams app id"),
            ("HELPDESK_GROUP_ID", self.helpdesk_group_id, "the group's object id"),
            (
                "JOINER_SCOPE_GROUP_ID",
                self.joiner_scope_group_id,
                "a group's object id",
            ),
        ):
            if value and not is_guid(value):
                length = f"{len(value)} character" + ("" if len(value) == 1 else "s")
                problems.append(
                    f"{name} must be {what}: {_GUID_SHAPE} (the value given has {length})."
                )
        for name, values, what in (
            ("PRIVILEGED_ROLE_IDS", self.privileged_role_ids, "a role definition id"),
            ("UNSAFE_UNPROTECTED_ROLE_IDS", self.unprotected_role_ids, "a role definition id"),
            ("BLOCKED_GROUP_IDS", self.blocked_group_ids, "a group's object id"),
            (
                "HR_PROVISIONING_APP_IDS",
                self.hr_provisioning_app_ids,
                "an application (client) id or a service principal's object id",
            ),
        ):
            bad = [str(n) for n, value in enumerate(values, start=1) if not is_guid(value)]
            if bad:
                which = (
                    f"entry {bad[0]} of {len(values)} is not a GUID"
                    if len(bad) == 1
                    else f"entries {', '.join(bad[:-1])} and {bad[-1]} of {len(values)} are not "
                    "GUIDs"
                )
                problems.append(
                    f"{name}: {which}; each must be {what}: {_GUID_SHAPE}, separated by commas."
                )
        for role_id in self.unprotected_role_ids:
            if is_guid(role_id) and role_id not in PRIVILEGED_ROLES:
                problems.append(
                    f"UNSAFE_UNPROTECTED_ROLE_IDS: {role_id} is not in tapbot's default list of "
                    "privileged roles; only those can be unprotected."
                )
            if role_id in self.privileged_role_ids:
                problems.append(
                    f"{role_id} is in both PRIVILEGED_ROLE_IDS and UNSAFE_UNPROTECTED_ROLE_IDS."
                )
        return problems

    def cross_field_problems(self) -> list[str]:
        """Return the problems that involve several settings together, and those of
        `id_problems`."""
        problems: list[str] = self.id_problems()
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
        if self.ops_host not in LOOPBACK_HOSTS and not self.ops_token:
            # /healthz and /metrics describe the bot's dependencies and load: not for anyone
            # who can reach the address.
            problems.append(
                f"OPS_HOST={self.ops_host} needs OPS_TOKEN: beyond loopback, /healthz and "
                "/metrics answer only requests that carry it as a bearer token."
            )
        if self.bot_openid_metadata_url and not _https_or_loopback(self.bot_openid_metadata_url):
            # Whoever serves these keys can sign activities tapbot believes came from Teams.
            problems.append(
                "BOT_OPENID_METADATA_URL must be an https URL (or http on this machine, for "
                "tests); leave it unset in production."
            )
        for setting, token in (
            ("AUDIT_EXPORT_TOKEN", self.audit_export_token),
            ("OPS_TOKEN", self.ops_token),
        ):
            # Each is all that guards its endpoint (the audit export is on the port Teams
            # reaches from the internet): it must not be guessable.
            if token and len(token) < MIN_TOKEN_LENGTH:
                problems.append(
                    f"{setting} must be at least {MIN_TOKEN_LENGTH} characters (for example "
                    "the output of: python3 -c 'import secrets; print(secrets.token_urlsafe())')."
                )
        if self.ops_port and self.ops_port == self.port:
            problems.append(
                f"OPS_PORT={self.ops_port} is also PORT: /healthz and /metrics need a port of "
                "their own."
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
        for entry in self.approval_stages:
            parsed = parse_stage(entry)
            if parsed is None:
                problems.append(
                    "APPROVAL_STAGES entries are helpdesk, manager or group:<group id>, each "
                    f"optionally followed by @<minutes> (got {entry[:60]!r})."
                )
            elif parsed[2] is not None and parsed[2] < 1:
                problems.append(f"APPROVAL_STAGES: {entry[:60]!r} waits less than a minute.")
        problems += delivery_problems(self)
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


def _https_or_loopback(url: str) -> bool:
    """True for an https URL, or an http one to this machine. A URL with a user part, a
    backslash or a blank is refused: Python and the HTTP client that fetches it could read
    different hosts from it (``http://a.example\\@127.0.0.1/`` is a.example to requests)."""
    if "\\" in url or any(c.isspace() or not c.isprintable() for c in url):
        return False
    try:
        parsed = urlsplit(url)
        host = parsed.hostname
    except ValueError:  # an unbalanced IPv6 bracket, a bad port
        return False
    if "@" in parsed.netloc:
        return False
    if parsed.scheme == "https" and host:
        return True
    return parsed.scheme == "http" and host in LOOPBACK_HOSTS
